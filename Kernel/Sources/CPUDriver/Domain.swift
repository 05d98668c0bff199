// A domain: a user program running on this core in its own address space, with one
// dispatcher (Dispatcher.swift) through which the kernel gives it the core; its user
// library runs threads on top. A domain lives on one core, and everything about it lives
// in that core's memory.
import Arch
import Basics
import BootInfo
import ELF
import Memory
import PageTables
import Capabilities

final class Domain {
    enum State {
        case runnable
        case exited(status: Int64)
        /// Stopped by the kernel for what it did (the message says what).
        case stopped(String)

        var isRunnable: Bool { if case .runnable = self { return true } else { return false } }
    }

    let id: Int
    let name: String
    let addressSpace: UserAddressSpace
    /// The domain's capabilities: slot 0 its root CNode, slot 1 the RAM it was given.
    let cspace: CSpace
    /// The keeper CNode slot with the kernel's copy of that RAM capability.
    let keeperSlot: UInt32
    let context: UserContext
    var state: State = .runnable
    /// What the domain sleeps until, if it sleeps.
    var waiting: Wait? = nil
    /// Where it continues next time: at an upcall, or (nil) where it left off.
    var pendingUpcall: Upcall? = nil
    /// The last fault handed to its dispatcher, for the message if it gives up on it.
    var lastFault: (vector: UInt8, errorCode: UInt64, address: UInt64, instructionPointer: UInt64)? = nil
    /// The page shared with its dispatcher (see DispatcherFrame).
    let dispatcherFrame: PhysicalAddress
    /// Every frame the domain holds (its pages and page tables), freed when it ends.
    var frames: [PhysicalAddress]

    enum Wait {
        /// `wait` on an endpoint: until a message arrives there, or it dies.
        case endpoint(ObjectID)
        /// The wait system call: until any endpoint the domain receives on has a
        /// message, or dies.
        case anyEndpoint
    }

    init(id: Int, name: String, addressSpace: UserAddressSpace, cspace: CSpace, keeperSlot: UInt32,
         context: UserContext, dispatcherFrame: PhysicalAddress, frames: [PhysicalAddress]) {
        self.id = id
        self.name = name
        self.addressSpace = addressSpace
        self.cspace = cspace
        self.keeperSlot = keeperSlot
        self.context = context
        self.dispatcherFrame = dispatcherFrame
        self.frames = frames
    }
}

/// Where a user program's stack lives: the top of its first 512 GiB slot, 64 KiB.
enum UserLayout {
    static let stackTop: UInt64 = 0x0000_00FF_FFFF_F000
    static let stackPages = 16
}

enum SpawnError: Error {
    case noSuchProgram
    case badImage(ELFError)
    case outOfMemory
    case argumentsTooLong
    case capabilities(CapabilityError)
}

/// What a new domain gets: a root CNode of 64 slots and 64 KiB of RAM to retype.
enum DomainGrant {
    static let cnodeSlots: UInt64 = 64
    static let ramFrames = 16
}

/// A frame source that remembers what it handed out, so a domain's page tables are
/// freed with it.
struct TrackingFrames: PageTableFrameSource {
    var block: UnsafeMutablePointer<CoreBlock>
    var taken: [PhysicalAddress] = []
    mutating func allocateTableFrame() -> PhysicalAddress? {
        guard let frame = block.pointee.frames.allocate() else { return nil }
        block.pointee.frames.pointer(to: frame).initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        taken.append(frame)
        return frame
    }
    func pointer(to address: PhysicalAddress) -> UnsafeMutableRawPointer { block.pointee.frames.pointer(to: address) }
}

extension CoreState {
    /// Loads `program` from the boot image into a new address space, ready to run.
    func spawn(_ program: BootImage.Program, arguments: [UInt8]) throws(SpawnError) -> Domain {
        guard arguments.count <= 1024 else { throw .argumentsTooLong }
        let image: ELFImage
        do { image = try ELFImage(file: program.bytes, limits: ELFLimits(allowedRange: UserMode.userRange)) } catch { throw .badImage(error) }
        var frames = TrackingFrames(block: CoreBlock.current!)
        func fail() -> SpawnError {
            for frame in frames.taken { try? CoreBlock.current!.pointee.frames.free(frame) }
            return .outOfMemory
        }
        let space: UserAddressSpace
        do { space = try UserAddressSpace(frames: &frames, kernelRoot: KernelAddressSpace.root) } catch { throw fail() }
        // The program's pages, filled as the ELF load plan says.
        for page in image.loadPlan {
            guard let frame = frames.allocateTableFrame() else { throw fail() }
            let memory = UnsafeMutableRawBufferPointer(start: frames.pointer(to: frame), count: 4096)
            guard page.fill(memory, from: program.bytes) else { throw fail() }
            do {
                try space.map(frame, at: page.virtualAddress, writable: page.permissions.contains(.writable),
                              executable: page.permissions.contains(.executable), frames: &frames)
            } catch { throw fail() }
        }
        // The stack, with the argument string at its top.
        var stackFrames: [PhysicalAddress] = []
        for index in 0..<UserLayout.stackPages {
            guard let frame = frames.allocateTableFrame() else { throw fail() }
            do {
                try space.map(frame, at: UserLayout.stackTop - UInt64(UserLayout.stackPages - index) * 4096,
                              writable: true, executable: false, frames: &frames)
            } catch { throw fail() }
            stackFrames.append(frame)
        }
        // The dispatcher frame (zeroed: no upcalls until the library registers them).
        guard let dispatcherFrame = frames.allocateTableFrame() else { throw fail() }
        do {
            try space.map(dispatcherFrame, at: DispatcherFrame.userAddress, writable: true, executable: false, frames: &frames)
        } catch { throw fail() }
        let top = frames.pointer(to: stackFrames[stackFrames.count - 1])
        let argumentsAddress = UserLayout.stackTop - 4096
        for (i, byte) in arguments.enumerated() { top.storeBytes(of: byte, toByteOffset: i, as: UInt8.self) }
        // Its capabilities: a root CNode in a frame of its own, and a RAM capability.
        guard let cnodeFrame = frames.allocateTableFrame(),
              let ram = CoreBlock.current!.pointee.frames.allocate(count: DomainGrant.ramFrames, alignment: DomainGrant.ramFrames) else { throw fail() }
        for index in 0..<DomainGrant.ramFrames { frames.taken.append(ram + UInt64(index) * 4096) }
        guard var keeper, let keeperSlot = keeper.free.popLast() else { throw fail() }
        let cspace: CSpace
        do {
            cspace = try capabilities.createCSpace(at: cnodeFrame, slotCount: DomainGrant.cnodeSlots)
        } catch {
            _ = fail()
            throw .capabilities(error)
        }
        do {
            try capabilities.createRoot(.physicalRAM, base: ram.rawValue, size: UInt64(DomainGrant.ramFrames) * 4096, at: .root(1), in: cspace)
            try capabilities.copy(.root(1), in: cspace, to: .root(keeperSlot), in: keeper.cspace)
        } catch {
            _ = try? capabilities.revoke(.root(1), in: cspace)
            _ = try? capabilities.delete(.root(1), in: cspace)
            _ = try? capabilities.delete(.root(0), in: cspace)
            _ = fail()
            throw .capabilities(error)
        }
        self.keeper = keeper
        let context = UserContext(entry: image.entry, stack: argumentsAddress - 16)
        context.registers.pointee.rdi = argumentsAddress
        context.registers.pointee.rsi = UInt64(arguments.count)
        context.registers.pointee.rdx = DispatcherFrame.userAddress
        nextDomainID += 1
        let domain = Domain(id: nextDomainID, name: String(decoding: program.name, as: UTF8.self), addressSpace: space,
                            cspace: cspace, keeperSlot: keeperSlot, context: context, dispatcherFrame: dispatcherFrame,
                            frames: frames.taken)
        domains.append(domain)
        return domain
    }

    /// Frees everything a finished domain held.
    func reap(_ domain: Domain) {
        UserMode.useKernelAddressSpace(KernelAddressSpace.root)
        forgetEndpoints(of: domain)
        // Revoking the kernel's copy of the domain's RAM removes every capability made
        // from it, in any CSpace (another domain's, or a message in flight), whatever the
        // domain did to its own slots; deleting the root CNode's own capability then
        // destroys the CSpace. Only then are the frames free.
        if var keeper {
            _ = try? capabilities.revoke(.root(domain.keeperSlot), in: keeper.cspace)
            _ = try? capabilities.delete(.root(domain.keeperSlot), in: keeper.cspace)
            keeper.free.append(domain.keeperSlot)
            self.keeper = keeper
        }
        _ = try? capabilities.delete(.root(0), in: domain.cspace)
        for frame in domain.frames { try? CoreBlock.current!.pointee.frames.free(frame) }
        domain.frames.removeAll()
        domain.context.release()
        domains.removeAll { $0 === domain }
    }

    /// Runs this core's domains (and handles links meanwhile) until `done` holds or
    /// `milliseconds` pass: how the kernel's tests and benchmarks wait for programs.
    func runDomains(milliseconds: UInt64, until done: () -> Bool) {
        _ = waitUntil(milliseconds: milliseconds) {
            _ = runNextDomain()
            return done()
        }
    }

    /// Runs the next runnable domain until it traps back; true if one ran.
    func runNextDomain() -> Bool {
        guard !domains.isEmpty else { return false }
        for offset in 0..<domains.count {
            let domain = domains[(nextToRun + offset) % domains.count]
            guard domain.state.isRunnable else { continue }
            if let waiting = domain.waiting {
                guard wakes(domain, from: waiting) else { continue }
                domain.waiting = nil
            }
            nextToRun = (nextToRun + offset + 1) % max(domains.count, 1)
            guard enterUpcall(domain) else {
                finishIfDone(domain)
                return true
            }
            // System calls that leave the domain runnable go straight back to it: the
            // event loop gets control again at the next interrupt (at least every tick)
            // or when the domain yields, ends or faults.
            var exit = UserMode.run(domain.context, in: domain.addressSpace.root)
            while case .systemCall = exit {
                let number = domain.context.systemCallNumber
                handleSystemCall(from: domain)
                guard number != SystemCallNumber.yield, domain.state.isRunnable, domain.waiting == nil else { break }
                exit = UserMode.run(domain.context, in: domain.addressSpace.root)
            }
            switch exit {
            case .systemCall:
                break                                   // handled above, exactly once
            case .interrupt(let vector):
                switch vector {
                case LocalAPIC.timerVector: CoreState.handleTrap(.timer)
                case LocalAPIC.notifyVector: CoreState.handleTrap(.notify)
                case LocalAPIC.spuriousVector: CoreState.handleTrap(.spurious)
                default: CoreState.handleTrap(.other(vector: vector))
                }
                preempted(domain)
            case .exception(let vector, let errorCode, let faultAddress):
                if !deliverFault(to: domain, vector: vector, errorCode: errorCode, address: faultAddress) {
                    stop(domain, exception: vector, errorCode: errorCode, faultAddress: faultAddress,
                         disabled: domain.frameWord(DispatcherFrame.faultEntry) != 0)
                }
            }
            finishIfDone(domain)
            return true
        }
        return false
    }

    /// Whether a sleeping domain has something to wake for. An endpoint that died
    /// while the domain slept wakes it too (receive then says why).
    func wakes(_ domain: Domain, from waiting: Domain.Wait) -> Bool {
        switch waiting {
        case .endpoint(let endpoint):
            return !capabilities.isAlive(endpoint)
        case .anyEndpoint:
            return endpointQueues.contains { $0.receiver == domain.id && (!$0.messages.isEmpty || !capabilities.isAlive($0.endpoint)) }
        }
    }

    /// A user fault the domain's dispatcher does not handle stops the domain, never the
    /// core. `disabled`: its dispatcher had a fault upcall but was disabled.
    func stop(_ domain: Domain, exception vector: UInt8, errorCode: UInt64, faultAddress: UInt64,
              instructionPointer: UInt64? = nil, disabled: Bool = false) {
        let rip = instructionPointer ?? domain.context.instructionPointer
        let exception = Exception(vector: vector, errorCode: errorCode, instructionPointer: rip,
                                  stackPointer: domain.context.stackPointer, framePointer: 0, faultAddress: faultAddress)
        var reason = "\(exception.name)"
        if vector == 14 {
            let access = errorCode & 2 != 0 ? "write to" : errorCode & 16 != 0 ? "execute at" : "read from"
            let what = errorCode & 1 != 0 ? (faultAddress < UserMode.userRange.lowerBound ? "kernel memory" : "a protected page") : "an unmapped address"
            reason += ": \(access) \(what) \(hex(faultAddress))"
        }
        reason += ", rip \(hex(rip))"
        if disabled { reason += " (its dispatcher was disabled)" }
        domain.state = .stopped(reason)
    }

    func finishIfDone(_ domain: Domain) {
        switch domain.state {
        case .runnable: return
        case .exited(let status):
            finishedDomains.append((domain.name, domain.state))
            if status != 0 || !testMode { print("domain \(domain.name) (\(domain.id)) on core \(id.rawValue) exited with status \(status)") }
        case .stopped(let reason):
            finishedDomains.append((domain.name, domain.state))
            print("domain \(domain.name) (\(domain.id)) on core \(id.rawValue) stopped: \(reason)")
        }
        reap(domain)
    }
}

func hex(_ value: UInt64) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    var v = value
    repeat { text.append(digits[Int(v & 0xF)]); v >>= 4 } while v != 0
    return "0x" + String(decoding: text.reversed(), as: UTF8.self)
}
