// A domain: a user program running on this core in its own address space, built from
// page-table and frame capabilities in its own CSpace (AddressSpaces.swift), with one
// dispatcher (Dispatcher.swift) through which the kernel gives it the core; its user
// library runs threads on top. A domain lives on one core, and everything about it lives
// in that core's memory.
import ABI
import Arch
import Basics
import BootInfo
import ELF
import Memory
import PageTables
import Capabilities
import CapabilityProtocols

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
    /// The PML4 object: while it lives, `addressSpace.root` is a PML4 with the kernel's
    /// slot; once it dies (revoked or deleted by someone) the domain cannot run again.
    /// Nil for a dispatcher of another core's domain (SpannedDomains.swift), whose
    /// tables that core's kernel holds until this one stopped running them.
    let rootTable: ObjectID?
    /// The domain's capabilities: slot 0 its root CNode, slot 1 the RAM it was given,
    /// the last slot its address space (`AddressSpaceLayout`).
    let cspace: CSpace
    /// The kernel's CSpace with the domain's copies of its program's shared read-only
    /// pages (ProgramCache.swift): mapped in its address space, named by none of its
    /// capabilities.
    let sharedPages: CSpace?
    /// The keeper CNode slot with the kernel's copy of the RAM block the domain's
    /// address space and RAM were made from.
    let keeperSlot: KernelSlots.Slot
    let context: UserContext
    var state: State = .runnable
    /// What the domain sleeps until, if it sleeps.
    var waiting: Wait? = nil
    /// A message arrived on one of its endpoints since it last slept with the wait
    /// system call (which returns at once if so: no wake-up is lost between a poll
    /// and the wait, and a message it cannot take never keeps it awake).
    var messageArrived = false
    /// A notification came for it (addressed to it, or to its core's notification
    /// receiver when that is this domain, the monitor) since it last slept: the same
    /// edge, for notifications.
    var notified = false
    /// The badge of the last message it received (the receive invocation's value).
    var receivedBadge: UInt64 = 0
    /// How many times the scheduler gave it the core.
    var timesScheduled = 0
    /// Where it continues next time: at an upcall, or (nil) where it left off.
    var pendingUpcall: Upcall? = nil
    /// The last fault handed to its dispatcher, for the message if it gives up on it.
    var lastFault: (vector: UInt8, errorCode: UInt64, address: UInt64, instructionPointer: UInt64)? = nil
    /// The page shared with its dispatcher (see DispatcherFrame), the frame object that
    /// maps it (nil as for `rootTable`), and where the domain sees it.
    let dispatcherFrame: PhysicalAddress
    let dispatcherFrameObject: ObjectID?
    let dispatcherAddress: UInt64
    /// The domain has (or asked for) dispatchers on other cores, which run in its page
    /// tables: at its end its memory stays held until its monitor says every one of
    /// them stopped (`releaseSpanned`).
    var spannedElsewhere = false
    /// The cores its monitor asked to run a dispatcher of it (`spanPlace`): with this
    /// core, the participants of its shootdowns.
    var spanCores = CoreMask.none
    /// `CoreCapabilities.objectsDestroyed` when `enter` last found these three alive.
    var livenessCheckedAt: UInt64 = .max
    /// The dispatcher object (its capability's object): the kernel-only page that holds
    /// `context`, the registers the kernel resumes from.
    let dispatcher: ObjectID
    /// Every frame the domain holds (its root CNode and its RAM block), freed when it ends.
    var frames: [PhysicalAddress]
    /// Its RAM block (part of `frames`), which may be kept for the next spawn.
    let block: PhysicalRange

    enum Wait {
        /// `wait` on an endpoint: until a message arrives there, or it dies.
        case endpoint(ObjectID)
        /// The wait system call: until any endpoint the domain receives on has a
        /// message, or dies, or a notification comes, or the time stamp counter passes
        /// `deadline` (if not nil).
        case anyEndpoint(deadline: UInt64?)
        /// `wait` on a notify capability: until a notification comes.
        case notification
        /// The receive half of a call: until a message arrives there (which the kernel
        /// hands over in the caller's registers as it comes), or it dies.
        case call(ObjectID)
    }

    init(id: Int, name: String, addressSpace: UserAddressSpace, rootTable: ObjectID?, cspace: CSpace, sharedPages: CSpace?,
         keeperSlot: KernelSlots.Slot, context: UserContext, dispatcher: ObjectID, dispatcherFrame: PhysicalAddress,
         frameObject: ObjectID?, dispatcherAddress: UInt64 = DispatcherFrame.userAddress, frames: [PhysicalAddress],
         block: PhysicalRange) {
        self.id = id
        self.name = name
        self.addressSpace = addressSpace
        self.rootTable = rootTable
        self.cspace = cspace
        self.sharedPages = sharedPages
        self.keeperSlot = keeperSlot
        self.context = context
        self.dispatcher = dispatcher
        self.dispatcherFrame = dispatcherFrame
        self.dispatcherFrameObject = frameObject
        self.dispatcherAddress = dispatcherAddress
        self.frames = frames
        self.block = block
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

/// What a new domain gets: a root CNode of 64 slots, 64 KiB of RAM to retype and 256 KiB
/// of RAM for its heap, which its user library maps as the heap grows (besides its
/// address space).
enum DomainGrant {
    static let cnodeSlots = UInt64(InitialSlot.rootSlots)
    static let ramFrames = DomainRAM.pages
    static let heapFrames = HeapRAM.pages
}

/// The core's memory as page-table code reads it: tables are RAM, which the kernel
/// identity-maps. Reading never needs a new table.
struct CoreMemory: PageTableFrameSource {
    mutating func allocateTableFrame() -> PhysicalAddress? { nil }
    func pointer(to address: PhysicalAddress) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(address.rawValue))!
    }
}

extension CoreState {
    /// Loads `program` from the boot image into a new domain, ready to run. Its address
    /// space is made the way any domain could make one: a RAM block is retyped into a
    /// PML4, the tables below it and one frame per page, and each is mapped by a map
    /// invocation (AddressSpaces.swift).
    func spawn(_ program: BootImage.Program, arguments: [UInt8]) throws(SpawnError) -> Domain {
        guard arguments.count <= 1024 else { throw .argumentsTooLong }
        // The last domain's block may become this one's spare (takeSpareBlock).
        releaseEnded()
        let image: ELFImage
        do { image = try ELFImage(file: program.bytes, limits: ELFLimits(allowedRange: UserMode.userRange)) } catch { throw .badImage(error) }
        let plan = image.loadPlan
        let memory = CoreBlock.current!
        // The read-only pages come from the program cache, shared with every other domain
        // running the program (ProgramCache.swift); the others are made for this domain.
        let shared = evictingIfShort(keeping: program.name) { sharedPages(of: program, plan: plan) }
        let own = plan.filter { shared == nil || $0.permissions.contains(.writable) }
        let stackBottom = UserLayout.stackTop - UInt64(UserLayout.stackPages) * 4096
        var pages: [UInt64] = own.map { $0.virtualAddress }
        for index in 0..<UserLayout.stackPages { pages.append(stackBottom + UInt64(index) * 4096) }
        pages.append(DispatcherFrame.userAddress)

        // The RAM block: the heap's RAM first and the domain's own RAM after it (each
        // aligned to its size), then the address-space CNode, then the PML4, the
        // dispatcher, and one page per table and per page made (the tables map the
        // shared pages too). The heap's RAM is neither cleared nor mapped here: the
        // domain's user library retypes and maps its pages as the heap needs them
        // (Runtime.swift), so a program that allocates little makes few pages.
        let made = 2 + AddressSpaceBuilder.tablesNeeded(for: pages + (shared?.pages.map { $0.address } ?? [])) + pages.count
        let cnodeSlots = powerOfTwo(atLeast: max(16, UInt64(AddressSpaceLayout.firstMade) + UInt64(made)))
        let cnodeBytes = cnodeSlots * CapabilityType.cnodeSlotBytes
        let grantBytes = UInt64(DomainGrant.ramFrames) * 4096
        let heapBytes = UInt64(DomainGrant.heapFrames) * 4096
        let used = heapBytes + max(grantBytes, cnodeBytes) + cnodeBytes + UInt64(made) * 4096
        let blockFrames = Int(powerOfTwo(atLeast: used) / 4096)
        // The shared pages' copies go in a CSpace of the kernel's (see ProgramCache.swift).
        let sharedFrames = shared.map { ProgramCache.cnodeFrames(for: $0.pages.count) } ?? 0
        var frames: [PhysicalAddress] = []
        for (index, count) in [1, blockFrames, sharedFrames].enumerated() where count > 0 {
            let spare = index == 1 ? takeSpareBlock(frames: count) : nil
            guard let first = spare ?? evictingIfShort(keeping: program.name, { memory.pointee.frames.allocate(count: count, alignment: count) }) else {
                for frame in frames { try? memory.pointee.frames.free(frame) }
                throw .outOfMemory
            }
            for index in 0..<count { frames.append(first + UInt64(index) * 4096) }
        }
        let rootFrame = frames[0], block = frames[1]
        // One keeper slot per domain; the keeper grows with the domains (KernelCNodes), so
        // only memory limits how many a core runs.
        guard case .success(let keeperSlot) = keeper.take(for: KernelCNodes.keeperOwner, quota: .max, &capabilities) else {
            for frame in frames { try? memory.pointee.frames.free(frame) }
            throw .outOfMemory
        }
        let cspace: CSpace
        var sharedSpace: CSpace? = nil
        do {
            cspace = try capabilities.createCSpace(at: rootFrame, slotCount: DomainGrant.cnodeSlots)
        } catch {
            release(cspace: nil, sharedPages: nil, keeperSlot: keeperSlot, frames: frames)
            throw .capabilities(error)
        }
        let layout = AddressSpaceLayout.self
        var builder = AddressSpaceBuilder(cspace: cspace)
        var filled = true
        var frameSlot: UInt32 = 0
        do throws(CapabilityError) {
            let setUp = CapabilityAddress.root(layout.setUpSlot)
            try capabilities.createRoot(.physicalRAM, base: block.rawValue, size: UInt64(blockFrames) * 4096, at: setUp, in: cspace)
            try capabilities.copy(setUp, in: cspace, to: .root(keeperSlot.index), in: keeper.cspace(of: keeperSlot))
            _ = try capabilities.retype(setUp, to: .physicalRAM, size: heapBytes, count: 1, into: .root(InitialSlot.heapRAM), in: cspace)
            _ = try capabilities.retype(setUp, to: .physicalRAM, size: grantBytes, count: 1, into: .root(InitialSlot.ram), in: cspace)
            _ = try capabilities.retype(setUp, to: .cnode, size: cnodeSlots, count: 1, into: .root(layout.cnodeSlot), in: cspace)
            try capabilities.copy(setUp, to: layout.leaf(layout.ram), in: cspace)
            try capabilities.delete(setUp, in: cspace)
            _ = try capabilities.retype(layout.leaf(layout.ram), to: .pml4, size: 0, count: 1, into: layout.leaf(layout.pml4), in: cspace)
            _ = try capabilities.retype(layout.leaf(layout.ram), to: .dispatcher, size: 0, count: 1,
                                        into: layout.leaf(layout.dispatcher), in: cspace)
            applyMemoryEffects()
            // The program's pages, filled as the ELF load plan says; then the stack,
            // with the argument string at the start of its top page.
            let ownPages: [(address: UInt64, rights: CapabilityRights)] = own.map { page in
                var rights: CapabilityRights = .read
                if page.permissions.contains(.writable) { rights.insert(.write) }
                if page.permissions.contains(.executable) { rights.insert(.execute) }
                return (address: page.virtualAddress, rights: rights)
            }
            filled = try builder.mapPages(ownPages, in: self) { index, memory in own[index].fill(memory, from: program.bytes) } != nil
            if let shared {
                let space = try capabilities.createCSpace(at: frames[1 + blockFrames], slotCount: ProgramCache.slots(for: shared.pages.count))
                sharedSpace = space
                for (index, page) in shared.pages.enumerated() {
                    let slot = CapabilityAddress.root(UInt32(index + 1))
                    try capabilities.mint(slot, in: shared.cspace, to: slot, in: space, rights: page.rights)
                    try builder.mapShared(slot, in: space, at: page.address, rights: page.rights, in: self)
                }
            }
            if filled {
                let stack: [(address: UInt64, rights: CapabilityRights)] = (0..<UserLayout.stackPages).map {
                    (address: stackBottom + UInt64($0) * 4096, rights: [.read, .write])
                }
                _ = try builder.mapPages(stack, in: self) { index, memory in
                    if index == UserLayout.stackPages - 1 {
                        for (i, byte) in arguments.enumerated() { memory[i] = byte }
                    }
                    return true
                }
            }
            // The dispatcher frame (zeroed: no upcalls until the library registers them).
            frameSlot = try builder.mapPages([(address: DispatcherFrame.userAddress, rights: [.read, .write])], in: self) { _, _ in true }!
        } catch {
            // The block may still sit in the set-up slot, with everything made from it.
            _ = try? capabilities.revoke(.root(layout.setUpSlot), in: cspace)
            _ = try? capabilities.delete(.root(layout.setUpSlot), in: cspace)
            release(cspace: cspace, sharedPages: sharedSpace, keeperSlot: keeperSlot, frames: frames)
            throw .capabilities(error)
        }
        // Everything is made: the domain gives up its copy of the block (see AddressSpaceLayout).
        guard filled, (try? capabilities.delete(layout.leaf(layout.ram), in: cspace)) != nil,
              let (root, rootTable) = try? capabilities.lookup(layout.leaf(layout.pml4), in: cspace),
              let (dispatcherCapability, dispatcher) = try? capabilities.lookup(layout.leaf(layout.dispatcher), in: cspace,
                                                                                ofType: [.dispatcher]),
              let (frameCapability, frameObject) = try? capabilities.lookup(layout.leaf(frameSlot), in: cspace, ofType: [.frame]) else {
            release(cspace: cspace, sharedPages: sharedSpace, keeperSlot: keeperSlot, frames: frames)
            throw .outOfMemory
        }
        let argumentsAddress = UserLayout.stackTop - 4096
        let context = UserContext(at: UnsafeMutableRawPointer(bitPattern: UInt(dispatcherCapability.base))!,
                                  entry: image.entry, stack: argumentsAddress - 16)
        context.registers.pointee.rdi = argumentsAddress
        context.registers.pointee.rsi = UInt64(arguments.count)
        nextDomainID += 1
        let domain = Domain(id: nextDomainID, name: String(decoding: program.name, as: UTF8.self),
                            addressSpace: UserAddressSpace(root: PhysicalAddress(root.base)), rootTable: rootTable,
                            cspace: cspace, sharedPages: sharedSpace, keeperSlot: keeperSlot, context: context, dispatcher: dispatcher,
                            dispatcherFrame: PhysicalAddress(frameCapability.base), frameObject: frameObject, frames: frames,
                            block: PhysicalRange(start: block, end: block + UInt64(blockFrames) * 4096))
        domain.dispatcherWords.storeBytes(of: SystemDomainID(core: id.rawValue, local: UInt32(domain.id)).rawValue,
                                          toByteOffset: DispatcherFrame.identity, as: UInt64.self)
        domain.setFrameWord(DispatcherFrame.tracing, Tracing.isOn ? 1 : 0)
        domain.setFrameWord(DispatcherFrame.selfAddress, DispatcherFrame.userAddress)
        for (index, byte) in program.name.prefix(DispatcherFrame.programNameBytes - 1).enumerated() {
            domain.dispatcherWords.storeBytes(of: byte, toByteOffset: DispatcherFrame.programName + index, as: UInt8.self)
        }
        // Every domain after the monitor can ask it for services: a copy of its
        // endpoint, badged with the domain's id so that the monitor knows who asks.
        if let monitor = domains.first(where: { $0.id == monitorDomain }),
           (try? capabilities.identify(.root(InitialSlot.serviceEndpoint), in: monitor.cspace))?.type == .endpoint {
            _ = try? capabilities.mint(.root(InitialSlot.serviceEndpoint), in: monitor.cspace, to: .root(InitialSlot.monitor),
                                       in: domain.cspace, rights: [.write, .grant], badge: UInt64(domain.id))
        }
        domains.append(domain)
        recordDomainEvent(domain, .started)
        return domain
    }

    /// Takes back what a domain (or a spawn that failed half-way) holds: revoking the
    /// kernel's copy of its RAM block removes every capability made from it, in any
    /// CSpace (another domain's, or a message in flight), whatever the domain did to its
    /// own slots, and with them every mapping; deleting the root CNode's own capability
    /// then destroys the CSpace, and deleting the shared-pages CNode's its copies of the
    /// program's shared pages. Only once the page tables are cleared are the frames free;
    /// those of `spare` (a RAM block) are kept for the next spawn instead.
    func release(cspace: CSpace?, sharedPages: CSpace?, keeperSlot: KernelSlots.Slot, frames: [PhysicalAddress],
                 spare: PhysicalRange? = nil) {
        _ = try? capabilities.revoke(.root(keeperSlot.index), in: keeper.cspace(of: keeperSlot))
        _ = try? capabilities.delete(.root(keeperSlot.index), in: keeper.cspace(of: keeperSlot))
        keeper.give(keeperSlot, from: KernelCNodes.keeperOwner)
        // Copies of the root CNode's capability (the domain may have made some, or sent
        // one away) would keep it, and what it holds, alive: revoke them first.
        if let cspace {
            _ = try? capabilities.revoke(.root(0), in: cspace)
            _ = try? capabilities.delete(.root(0), in: cspace)
        }
        if let sharedPages { _ = try? capabilities.delete(.root(0), in: sharedPages) }
        // Before any of it is free again, no core may reach it through a spanned
        // domain's tables (Shootdowns.swift).
        shootDownDroppedTranslations()
        if let spare {
            freeSpareBlock()
            spareBlock = spare
        }
        for frame in frames where !(spare?.contains(frame) ?? false) { try? CoreBlock.current!.pointee.frames.free(frame) }
    }

    /// The spare block (the last ended domain's) if it has `count` frames, now taken;
    /// otherwise nil, and the spare is freed. Why keep it: the next domain then lives
    /// in memory that was just written, not in frames the frame allocator's next fit
    /// reaches for the first time, and under QEMU the first write to each 2 MiB of guest
    /// memory the host has not yet backed stalls for 13–34 M cycles (docs/benchmarks.md).
    /// A domain's block holds only its own data, tables and capabilities (its code
    /// comes from the program cache), so the new domain writes over no code.
    func takeSpareBlock(frames count: Int) -> PhysicalAddress? {
        guard let spare = spareBlock, spare.size == UInt64(count) * 4096 else {
            freeSpareBlock()
            return nil
        }
        spareBlock = nil
        return spare.start
    }

    /// Gives the spare block back to the frame allocator; true if there was one.
    @discardableResult
    func freeSpareBlock() -> Bool {
        guard let spare = spareBlock else { return false }
        spareBlock = nil
        try? CoreBlock.current!.pointee.frames.free(spare.start, count: Int(spare.size / 4096))
        return true
    }

    /// Frees everything a finished domain held, now.
    func reap(_ domain: Domain) {
        retire(domain)
        releaseEnded()
    }

    /// Takes a finished domain off the core: it never runs again, its interrupts and
    /// the messages waiting for it are gone, and a send to its endpoints finds no
    /// receiver. What it holds (its RAM block and with it every capability, table and
    /// mapping made from it) `releaseEnded` gives back later: tearing down a domain's
    /// capabilities one by one takes longer than the rest of a short program's life,
    /// and its end should reach the monitor, and from there whoever awaits it, first.
    func retire(_ domain: Domain) {
        forgetInterrupts(of: domain)
        forgetEndpoints(of: domain)
        domains.removeAll { $0 === domain }
        if notificationReceiver == domain.id { notificationReceiver = nil }
        ended.append(domain)
    }

    /// Gives back what the domains retired since the last call held; true if there were
    /// any. Runs when the core has nothing else to run, before a spawn (which may take
    /// the spare block), when memory is short, and before the core reports its memory.
    @discardableResult
    func releaseEnded() -> Bool {
        // A spanned domain's memory waits for its monitor (SpannedDomains.swift). Not
        // again while a release waits for a shootdown (whose polling answers a status
        // request with a release).
        guard !releasingEnded, ended.contains(where: { !$0.spannedElsewhere }) else { return false }
        releasingEnded = true
        defer { releasingEnded = false }
        UserMode.useKernelAddressSpace(kernelRoot)
        for domain in ended where !domain.spannedElsewhere {
            release(cspace: domain.cspace, sharedPages: domain.sharedPages, keeperSlot: domain.keeperSlot, frames: domain.frames,
                    spare: domain.block)
            domain.frames.removeAll()
        }
        ended.removeAll { !$0.spannedElsewhere }
        return true
    }

    /// Runs this core's domains (and handles links meanwhile) until `done` holds or
    /// `milliseconds` pass: how the kernel's tests and benchmarks wait for programs.
    func runDomains(milliseconds: UInt64, until done: () -> Bool) {
        _ = waitUntil(milliseconds: milliseconds) {
            _ = runNextDomain()
            guard done() else { return false }
            // What the caller checks next (memory, the spare block) is as after a reap.
            releaseEnded()
            return true
        }
    }

    /// Runs the next runnable domain until it traps back; true if one ran.
    func runNextDomain() -> Bool {
        guard !domains.isEmpty else { return false }
        for offset in 0..<domains.count {
            var domain = domains[(nextToRun + offset) % domains.count]
            guard domain.state.isRunnable else { continue }
            if let waiting = domain.waiting {
                guard wakes(domain, from: waiting) else { continue }
                // The edge that woke a wait system call is used up; a wait on one
                // endpoint leaves other endpoints' edges for the next wait call.
                switch waiting {
                case .anyEndpoint(_): domain.messageArrived = false; domain.notified = false
                case .notification: domain.notified = false
                case .endpoint, .call: break
                }
                domain.waiting = nil
            }
            nextToRun = (nextToRun + offset + 1) % max(domains.count, 1)
            domain.timesScheduled += 1
            // System calls that leave the domain runnable go straight back to it: the
            // event loop gets control again at the next interrupt (at least every tick)
            // or when the domain yields, ends or faults.
            var traced = UInt32(truncatingIfNeeded: domain.id)
            Tracing.record(.domainEntered, domain: traced)
            var exit = enter(domain)
            var leaving = TraceLeaveReason.systemCall
            while case .systemCall? = exit {
                let number = domain.context.systemCallNumber
                Tracing.record(.systemCallEntry, domain: traced, a: number,
                               b: number == SystemCallNumber.invoke.rawValue ? domain.context.argument(1) : 0)
                handleSystemCall(from: domain)
                Tracing.record(.systemCallExit, domain: traced, a: number, b: domain.context.systemCallNumber)
                guard number != SystemCallNumber.yield.rawValue, domain.state.isRunnable, domain.waiting == nil else {
                    leaving = number == SystemCallNumber.yield.rawValue ? .yield : domain.waiting != nil ? .wait : .exit
                    // A call that put its caller to sleep and woke the domain it sent to
                    // gives that domain the core now (SameCoreMessages.swift).
                    guard let next = takeDirectSwitch() else { break }
                    Tracing.record(.domainLeft, domain: traced, a: leaving.rawValue)
                    domain = next
                    traced = UInt32(truncatingIfNeeded: domain.id)
                    domain.timesScheduled += 1
                    Tracing.record(.domainEntered, domain: traced)
                    exit = enter(domain)
                    continue
                }
                exit = enter(domain)
            }
            switch exit {
            case nil, .systemCall:
                break                                   // handled above, exactly once
            case .interrupt(let vector):
                leaving = .interrupt
                switch vector {
                case LocalAPIC.timerVector: CoreState.handleTrap(.timer)
                case LocalAPIC.notifyVector: CoreState.handleTrap(.notify)
                case LocalAPIC.userNotifyVector: CoreState.handleTrap(.userNotify)
                case LocalAPIC.spuriousVector: CoreState.handleTrap(.spurious)
                default: CoreState.handleTrap(.other(vector: vector))
                }
                preempted(domain)
            case .exception(let vector, let errorCode, let faultAddress):
                leaving = .fault
                handleException(of: domain, vector: vector, errorCode: errorCode, address: faultAddress)
            }
            Tracing.record(.domainLeft, domain: traced, a: leaving.rawValue)
            finishIfDone(domain)
            return true
        }
        // Nothing could run: time to give back what ended domains held, then let in
        // what is pending (the kernel runs with interrupts off, and no entry to user
        // mode will take it), such as a notification that wakes the monitor. With a
        // domain to run, its entry takes it, as a preemption. What came in may have
        // woken a domain: then this counts as work, or the caller would halt past it
        // until the next tick.
        if releaseEnded() { return true }
        CPU.takePendingInterrupts()
        return domains.contains { domain in
            domain.state.isRunnable && (domain.waiting.map { wakes(domain, from: $0) } ?? true)
        }
    }

    /// Runs the domain's user code until it traps back (at its pending upcall, if any),
    /// once every pending change to page tables is made. Nil, and the domain stopped, if
    /// its PML4, dispatcher or dispatcher frame is gone, since that memory may already be
    /// something else; so everything the kernel does with them between one return from
    /// user mode and the next entry acts on live objects.
    func enter(_ domain: Domain) -> UserExit? {
        applyMemoryEffects()
        // Only a destroyed object can be one of these, so the checks run only when some
        // object was destroyed since the last ones.
        if domain.livenessCheckedAt != capabilities.objectsDestroyed {
            let lost = !(domain.rootTable.map { isAlive($0) } ?? true) ? "its address space (the PML4)"
                : !isAlive(domain.dispatcher) ? "its dispatcher"
                : !(domain.dispatcherFrameObject.map { isAlive($0) } ?? true) ? "its dispatcher frame" : nil
            if let lost {
                UserMode.useKernelAddressSpace(kernelRoot)
                domain.state = .stopped("\(lost) was deleted")
                return nil
            }
            domain.livenessCheckedAt = capabilities.objectsDestroyed
        }
        // A domain can arrange to be resumed at a non-canonical address (a system call
        // from the last bytes of the user half, say); `iretq` would fault in the kernel.
        guard UserMode.canEnter(at: domain.context.instructionPointer, stack: domain.context.stackPointer) else {
            domain.state = .stopped("would resume at rip \(hexadecimal(domain.context.instructionPointer)), rsp \(hexadecimal(domain.context.stackPointer)): outside user memory")
            return nil
        }
        guard enterUpcall(domain) else { return nil }
        if dispatcherBase != domain.dispatcherAddress {
            UserMode.setDispatcherBase(domain.dispatcherAddress)
            dispatcherBase = domain.dispatcherAddress
        }
        return UserMode.run(domain.context, in: domain.addressSpace.root)
    }

    /// Whether a sleeping domain has something to wake for. An endpoint that died
    /// while the domain slept wakes it too (receive then says why).
    func wakes(_ domain: Domain, from waiting: Domain.Wait) -> Bool {
        switch waiting {
        case .endpoint(let endpoint), .call(let endpoint):
            return !isAlive(endpoint)
        case .anyEndpoint(let deadline):
            // A message or notification came, the deadline passed, an endpoint died, or
            // there is nothing left to wait for.
            if let deadline { if CPU.timestamp() >= deadline { return true } }
            return domain.messageArrived || domain.notified
                || (deadline == nil && !endpointQueues.contains { $0.receiver == domain.id } && notificationReceiver != domain.id)
                || endpointQueues.contains { $0.receiver == domain.id && !isAlive($0.endpoint) }
        case .notification:
            return domain.notified
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
            reason += ": \(access) \(what) \(hexadecimal(faultAddress))"
        }
        reason += ", rip \(hexadecimal(rip))"
        if disabled { reason += " (its dispatcher was disabled)" }
        domain.state = .stopped(reason)
    }

    /// Stops a domain from outside (a kill its monitor asked for) between its time slices: it
    /// ends now, reported and reaped like a domain the kernel stopped for a fault.
    func stop(_ domain: Domain, because reason: String) {
        domain.state = .stopped(reason)
        finishIfDone(domain)
    }

    func finishIfDone(_ domain: Domain) {
        switch domain.state {
        case .runnable: return
        case .exited(let status):
            recordDomainEvent(domain, .exited, status: status)
            finishedDomains.appendDroppingOldest((domain.name, domain.state))
            if status != 0 || !testMode { print("domain \(domain.name) (\(domain.id)) on core \(id.rawValue) exited with status \(status)") }
        case .stopped(let reason):
            recordDomainEvent(domain, .stopped)
            finishedDomains.appendDroppingOldest((domain.name, domain.state))
            print("domain \(domain.name) (\(domain.id)) on core \(id.rawValue) stopped: \(reason)")
        }
        retire(domain)
    }
}

/// The smallest power of two at least `value` (which is far below 2⁶³ here).
func powerOfTwo(atLeast value: UInt64) -> UInt64 {
    var power: UInt64 = 1
    while power < value { power <<= 1 }
    return power
}
