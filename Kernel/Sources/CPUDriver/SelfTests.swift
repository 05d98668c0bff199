// The kernel's self-tests, run when the kernel command line says `test`: what only a
// CPU driver can see. Core 0 runs its own checks, asks every other core to run the same
// checks on itself, and then checks what only a view of all cores can show (that their
// blocks and shares are disjoint, the multicast tree). Each check is declared in
// `GuestChecks` (which the host tool reads too) and prints `PASS core N: name` or `FAIL
// core N: name: reason`. Then core 0 starts the `checks` user program with its counts:
// the checks that need no kernel privilege run there, through the monitors, and it
// prints `N passed, M failed` over both and powers QEMU off with the verdict. The host
// tool treats a missing core, a panic, a timeout or a declared check that never
// reported as failures too.
import Arch
import Basics
import ShellCommands
import BootInfo
import KernelMessages
import KnowledgeBase
import Memory
import Channel
import Capabilities
import GuestChecks

enum SelfTests {
    /// The checks every core runs on itself.
    static func runLocal(on state: CoreState, live: CoreSet) -> TestReport {
        var tally = TestTally(core: state.id.rawValue)
        tally.check(.perCoreState, perCoreState(state))
        tally.check(.frameAllocator, frameAllocator())
        tally.check(.everyFrame, everyFrame(state))
        tally.check(.heapRandom, heapRandom(seed: UInt64(state.id.rawValue) + 1))
        tally.check(.timerTicks, timer(state))
        tally.check(.ipiRoundTrip, pingEveryCore(state, live: live))
        tally.check(.channelStreams, channelStress(state, live: live))
        userMode(state, live: live, &tally)
        tally.check(.knowledgeService, knowledgeService(state))
        tally.check(.sharedObjectServices, sharedObjectServices(state))
        tally.check(.shellServices, shellServices(state))
        localBoundaries(state, &tally)
        let block = CoreBlock.current!
        return TestReport(passed: tally.passed, failed: tally.failed,
                          blockAddress: UInt64(UInt(bitPattern: block)),
                          shareStart: state.share.first?.start.rawValue ?? 0,
                          shareEnd: state.share.last?.end.rawValue ?? 0)
    }

    static func perCoreState(_ state: CoreState) -> String? {
        guard let block = CoreBlock.current else { return "no per-core block" }
        let address = UInt64(UInt(bitPattern: block))
        guard state.share.contains(where: { $0.contains(PhysicalAddress(address)) }) else {
            return "block at \(address) is outside this core's share"
        }
        guard block.pointee.coreNumber == state.id.rawValue else { return "block names core \(block.pointee.coreNumber)" }
        guard state.apic.id == state.apicID else { return "APIC reports id \(state.apic.id.rawValue), expected \(state.apicID.rawValue)" }
        return nil
    }

    static func frameAllocator() -> String? {
        let block = CoreBlock.current!
        let before = block.pointee.frames.freeFrames
        guard let run = block.pointee.frames.allocate(count: 16, alignment: 16) else { return "could not allocate 16 aligned frames" }
        guard run.isAligned(to: 16 * FrameAllocator.frameSize) else { return "run not aligned" }
        let words = block.pointee.frames.pointer(to: run).assumingMemoryBound(to: UInt64.self)
        let count = 16 * Int(FrameAllocator.frameSize) / 8
        for i in 0..<count { words[i] = UInt64(i) &* 0x9E37_79B9_7F4A_7C15 }
        for i in 0..<count where words[i] != UInt64(i) &* 0x9E37_79B9_7F4A_7C15 { return "pattern lost at word \(i)" }
        do { try block.pointee.frames.free(run, count: 16) } catch { return "free failed" }
        do {
            try block.pointee.frames.free(run, count: 1)
            return "double free was accepted"
        } catch {}
        guard block.pointee.frames.freeFrames == before else { return "free count \(block.pointee.frames.freeFrames), expected \(before)" }
        return block.pointee.frames.checkConsistency() ? nil : "bitmap and counts disagree"
    }

    /// Takes every free frame one by one, writes its own address into it, checks them
    /// all and gives them back. The frames are chained through their first word, so
    /// the test itself needs no memory. This touches all of the core's share, including
    /// any part above 4 GiB.
    static func everyFrame(_ state: CoreState) -> String? {
        let block = CoreBlock.current!
        let before = block.pointee.frames.freeFrames
        var head: UInt64 = 0
        var taken = 0
        while let frame = block.pointee.frames.allocate() {
            guard state.share.contains(where: { $0.contains(frame) }) else { return "frame \(frame.rawValue) outside the share" }
            let words = block.pointee.frames.pointer(to: frame).assumingMemoryBound(to: UInt64.self)
            words[0] = head
            words[1] = frame.rawValue ^ 0xA5A5_A5A5_A5A5_A5A5
            head = frame.rawValue
            taken += 1
        }
        var failure: String? = taken == before ? nil : "took \(taken) frames, \(before) were free"
        while head != 0 {
            let frame = PhysicalAddress(head)
            let words = block.pointee.frames.pointer(to: frame).assumingMemoryBound(to: UInt64.self)
            if words[1] != head ^ 0xA5A5_A5A5_A5A5_A5A5 && failure == nil { failure = "frame \(head) lost its contents" }
            head = words[0]
            do { try block.pointee.frames.free(frame) } catch { return "could not free frame \(frame.rawValue)" }
        }
        return failure
    }

    static func heapRandom(seed: UInt64) -> String? {
        let block = CoreBlock.current!
        var random = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> UInt64 { random ^= random << 13; random ^= random >> 7; random ^= random << 17; return random }
        var live: [(pointer: UnsafeMutableRawPointer, size: Int, fill: UInt8)] = []
        live.reserveCapacity(256)                   // the model's own storage, before counting
        let before = block.pointee.heap.bytesInUse
        for _ in 0..<2000 {
            if live.count < 200 && (live.isEmpty || next() % 3 != 0) {
                let size = Int(next() % 3000) + 1
                let alignment = 1 << Int(next() % 7)
                guard let pointer = block.pointee.heap.allocate(byteCount: size, alignment: alignment, frames: &block.pointee.frames) else {
                    return "allocation of \(size) bytes failed"
                }
                guard UInt(bitPattern: pointer) % UInt(alignment) == 0 else { return "misaligned block" }
                let fill = UInt8(truncatingIfNeeded: next())
                pointer.initializeMemory(as: UInt8.self, repeating: fill, count: size)
                live.append((pointer, size, fill))
            } else {
                let victim = live.remove(at: Int(next() % UInt64(live.count)))
                let bytes = victim.pointer.assumingMemoryBound(to: UInt8.self)
                for i in 0..<victim.size where bytes[i] != victim.fill { return "block of \(victim.size) bytes was overwritten" }
                do { try block.pointee.heap.free(victim.pointer, frames: &block.pointee.frames) } catch { return "free refused a live block" }
            }
        }
        for victim in live {
            do { try block.pointee.heap.free(victim.pointer, frames: &block.pointee.frames) } catch { return "free refused a live block" }
        }
        live.removeAll(keepingCapacity: true)
        return block.pointee.heap.bytesInUse == before ? nil : "heap holds \(block.pointee.heap.bytesInUse - before) bytes more than before"
    }

    static func timer(_ state: CoreState) -> String? {
        let start = state.ticks
        let start2 = CPU.timestamp()
        // Halting lets the tick in; the timeout is generous because it is not a
        // performance check, only "the timer interrupt is delivered at all".
        while state.ticks < start + 3 {
            if CPU.timestamp() - start2 > state.cycles(milliseconds: 5000) { return "fewer than 3 ticks in 5 s" }
            if !state.poll() { CPU.waitForInterrupt() }
        }
        return nil
    }

    static func pingEveryCore(_ state: CoreState, live: CoreSet) -> String? {
        for core in 0..<state.coreCount where core != state.id.rawValue && live.contains(CoreID(core)) {
            let token = UInt64(state.id.rawValue) << 32 | UInt64(core) << 8 | 0x77
            // A correctness check, not a timing one: the peer may be busy in its own
            // long tests, so the wait is generous.
            if state.pingRoundTrip(to: CoreID(core), token: token, timeout: 60_000) == nil { return "core \(core) did not answer within 60 s" }
        }
        return nil
    }

    /// User programs from the boot image, run on this core: one that behaves, and probes
    /// that misbehave on purpose. Each misbehaviour must stop only that domain, with the
    /// right reason; the core (which goes on to the next check) survives them all.
    static func userMode(_ state: CoreState, live: CoreSet, _ tally: inout TestTally) {
        guard let image = state.bootImage else {
            tally.check(.bootImagePresent, "no boot image (QEMU was not given one)")
            return
        }
        func outcome(_ name: StaticString, _ arguments: StaticString) -> Domain.State? {
            runHere(state, "\(name)", "\(arguments)", milliseconds: 30_000)
        }
        func stopped(_ vector: StaticString, _ state: Domain.State?) -> String? {
            guard let state else { return "did not run or did not finish" }
            if case .stopped(let reason) = state, reason.utf8.starts(with: vector.withUTF8Buffer { Array($0) }) { return nil }
            return "ended as \(describe(state)), expected a stop for \(vector)"
        }
        // Frames not held by the heap (which may grow meanwhile for other reasons), nor
        // by programs no domain runs any more (the program cache gives those back), nor
        // kept as the spare block for the next spawn.
        func available() -> Int {
            state.evictUnusedPrograms()
            state.freeSpareBlock()
            return CoreBlock.current!.pointee.frames.freeFrames + CoreBlock.current!.pointee.heap.pagesHeld
        }
        let frames = available()
        let objects = state.capabilities.liveObjectCount
        // The domains that run throughout (the monitor, on core 0 the shell) may make
        // objects meanwhile: their heaps grow as they need pages (Runtime.swift).
        let lasting = state.domains
        let lastingObjects = objectsHeld(by: lasting, state)
        tally.check(.monitorDomain, monitorDomain(state))
        tally.check(.programRuns, exited(0, outcome("hello", "")))
        tally.check(.programCache, programCache(state))
        tally.check(.heapOnDemand, heapOnDemand(state))
        tally.check(.spareBlock, spareBlock(state))
        tally.check(.kernelRead, stopped("page fault", outcome("probe", "kernel-read")))
        tally.check(.kernelWrite, stopped("page fault", outcome("probe", "kernel-write")))
        tally.check(.unmappedAddress, stopped("page fault", outcome("probe", "unmapped")))
        tally.check(.noncanonicalAddress, stopped("general protection", outcome("probe", "noncanonical")))
        tally.check(.privilegedInstruction, stopped("general protection", outcome("probe", "privileged")))
        tally.check(.unknownSystemCall, exited(0, outcome("probe", "bad-syscall")))
        tally.check(.badPointers, exited(0, outcome("probe", "bad-pointer")))
        tally.check(.badTraceEvents, exited(0, outcome("probe", "bad-trace")))
        tally.check(.exitStatus, exited(7, outcome("probe", "exit")))
        tally.check(.resumeNoncanonical,
                    stopped("would resume at rip 0x800000000000", outcome("probe", "resume-noncanonical")))
        tally.check(.blockNotHeld, exited(0, outcome("probe", "block-not-held")))
        tally.check(.cnodeCopy, exited(0, outcome("probe", "cnode-copy")))
        tally.check(.directionFlag, exited(0, outcome("probe", "direction-flag")))
        tally.check(.systemCallRegisters, exited(0, outcome("probe", "syscall-registers")))
        // Two domains at once, the same addresses, different frames.
        if let probe = image.program(named: Array("probe".utf8)),
           let a = try? state.spawn(probe, arguments: Array("isolation a".utf8)),
           let b = try? state.spawn(probe, arguments: Array("isolation b".utf8)) {
            state.runDomains(milliseconds: 30_000) { !state.domains.contains { $0 === a || $0 === b } }
            tally.check(.isolation, exited(0, a.state) ?? exited(0, b.state))
        } else {
            tally.check(.isolation, "could not start the two probes")
        }
        tally.check(.wrongType, exited(0, outcome("probe", "cap-wrong-type")))
        tally.check(.rightsShrink, exited(0, outcome("probe", "cap-rights")))
        tally.check(.retypeOverlap, exited(0, outcome("probe", "cap-overlap")))
        tally.check(.badSlots, exited(0, outcome("probe", "cap-bad-slot")))
        tally.check(.mapDouble, exited(0, outcome("probe", "map-double")))
        tally.check(.mapOccupied, exited(0, outcome("probe", "map-occupied")))
        tally.check(.mapRefusals, exited(0, outcome("probe", "map-refusals")))
        tally.check(.mapWriteUnmap, exited(0, outcome("probe", "map-write-unmap")))
        tally.check(.mapRevoked, stopped("page fault", outcome("probe", "map-revoked")))
        tally.check(.messageSignalled, messageSignalled(state))
        // The invocation fuzzer: several seeds on core 0, one on every other core.
        for seed in GuestCheck.fuzzRuns(onCore: state.id.rawValue) {
            tally.check(.randomInvocations, exited(0, outcome("capfuzz", seed)))
        }
        let violations = state.capabilities.checkInvariants()
        tally.check(.invariantsAfterFuzzing,
                    violations.isEmpty ? nil : "\(violations.count) violations, first \(violations[0].kind.name)")
        sameCoreMessages(state, &tally, outcome: outcome)
        // Threads on the dispatcher: preemption by run upcalls, faults by fault upcalls,
        // the synchronisation primitives, waitsets.
        tally.check(.roundRobin, roundRobin(state, image))
        tally.check(.preemption, exited(0, outcome("threads", "preempt")))
        tally.check(.join, exited(0, outcome("threads", "join")))
        tally.check(.mutex, exited(0, outcome("threads", "mutex")))
        tally.check(.condition, exited(0, outcome("threads", "condition")))
        tally.check(.heapStress, exited(0, outcome("threads", "heap-stress")))
        tally.check(.threadFault, exited(0, outcome("threads", "fault")))
        tally.check(.demandPaging, exited(0, outcome("threads", "demand-paging")))
        tally.check(.firstThreadFault, stopped("page fault", outcome("threads", "main-fault")))
        tally.check(.badDispatcherCalls, exited(0, outcome("threads", "bad-calls")))
        tally.check(.badUpcallEntry,
                    stopped("dispatcher: upcall entry", outcome("threads", "bad-frame")))
        tally.check(.loseDispatcher,
                    stopped("its dispatcher was deleted", outcome("threads", "lose-dispatcher")))
        tally.check(.loseDispatcherFrame,
                    stopped("its dispatcher frame was deleted", outcome("threads", "lose-dispatcher-frame")))
        tally.check(.losePML4,
                    stopped("its address space (the PML4) was deleted", outcome("threads", "lose-pml4")))
        tally.check(.waitsetTwoEndpoints, exited(0, outcome("threads", "waitset")))
        if let threads = image.program(named: Array("threads".utf8)) {
            let pair = state.runPair(threads, "waitset-server", "waitset-client", bothWays: false)
            tally.check(.waitsetSleeps, exited(0, pair.first) ?? exited(0, pair.second))
            let orphan = state.runPair(threads, "orphan-server", "orphan-client", bothWays: false)
            tally.check(.waitsetEndpointDies, exited(0, orphan.first) ?? exited(0, orphan.second))
        } else {
            tally.check(.threadsPresent, "not in the boot image")
        }
        // Everything the tests made is gone: what is left are the kernel's own CNodes and the monitor's.
        state.evictUnusedPrograms()
        let remaining = state.capabilities.liveObjectCount - objects
            - (objectsHeld(by: lasting.filter { domain in state.domains.contains { $0 === domain } }, state) - lastingObjects)
        tally.check(.noCapabilitiesLeft,
                    remaining == 0 ? nil : "\(remaining) objects remain")
        let after = available()
        tally.check(.everyFrameReturned, after == frames ? nil : "\(frames - after) frames not returned")
    }

    /// Two domains that never yield, on one core: by the time the first has been
    /// preempted three times and ends, the scheduler must have handed the core to the
    /// second (any interrupt preempts, and on a busy machine the other monitors'
    /// notifications do too, so the count of the second's preemptions is no measure).
    static func roundRobin(_ state: CoreState, _ image: BootImage) -> String? {
        guard let program = image.program(named: Array("threads".utf8)),
              let a = try? state.spawn(program, arguments: Array("spin".utf8)),
              let b = try? state.spawn(program, arguments: Array("spin".utf8)) else { return "could not start two spinners" }
        var othersTurns: Int? = nil
        state.runDomains(milliseconds: 60_000) {
            let aAlive = state.domains.contains { $0 === a }, bAlive = state.domains.contains { $0 === b }
            if othersTurns == nil && aAlive != bAlive {
                othersTurns = (aAlive ? a : b).timesScheduled
            }
            return !aAlive && !bAlive
        }
        guard case .exited(0) = a.state, case .exited(0) = b.state else { return "the spinners did not both end well" }
        guard let turns = othersTurns else { return "they ended together" }
        return turns >= 1 ? nil : "the second had not run when the first ended"
    }

    /// The monitor is alive and asleep, and holds what MonitorDomain.swift gave it (it checked
    /// that itself too, and would have exited otherwise).
    static func monitorDomain(_ state: CoreState) -> String? {
        guard let id = state.monitorDomain, let domain = state.domains.first(where: { $0.id == id }) else {
            return "no monitor: \(state.finishedDomains.queued.first { $0.name.utf8.elementsEqual("monitor".utf8) }.map { describe($0.state) } ?? "never started")"
        }
        // Other monitors' broadcasts may have woken it just now: with nothing more to do,
        // it must go back to sleep.
        state.runDomains(milliseconds: 2_000) { domain.waiting != nil }
        guard domain.state.isRunnable, domain.waiting != nil else { return "the monitor does not go to sleep" }
        var expected: [(UInt32, CapabilityType)] = [(0, .cnode), (1, .physicalRAM), (InitialSlot.dispatcher, .dispatcher),
                                                    (InitialSlot.notify, .notify), (InitialSlot.kernel, .kernel)]
        if state.id == .bootstrap { expected += [(InitialSlot.ioPorts, .ioPortRange), (InitialSlot.interrupts, .irq)] }
        for (slot, type) in expected {
            let found = (try? state.capabilities.identify(.root(slot), in: domain.cspace))?.type ?? .null
            if found != type { return "slot \(slot) holds \(found), not \(type)" }
        }
        if state.id.rawValue < MonitorRingLayout.maximumCores {
            let pool = (try? state.capabilities.identify(.root(InitialSlot.bindingPool), in: domain.cspace))?.type ?? .null
            if pool != .frame { return "binding pool slot holds \(pool), not a frame" }
        }
        for peer in 0..<min(state.coreCount, MonitorRingLayout.maximumCores) where peer != state.id.rawValue {
            for slot in [MonitorRingLayout.sendSlot(to: peer), MonitorRingLayout.receiveSlot(from: peer)] {
                let found = (try? state.capabilities.identify(.root(slot), in: domain.cspace))?.type ?? .null
                if found != .frame { return "ring slot \(slot) holds \(found), not a frame" }
            }
        }
        return nil
    }

    /// The live cores whose monitors have rings, in order.
    static func monitorCores(_ state: CoreState, live: CoreSet) -> [Int] {
        (0..<min(state.coreCount, MonitorRingLayout.maximumCores)).filter { live.contains(CoreID($0)) }
    }

    /// The kernel's `knowledge` service, as this core's monitor would call it, with what
    /// it must refuse: on core 0 a length too short (the answer says how much is
    /// needed), an unmapped buffer, a kernel address, one that runs off the top of the
    /// address space; elsewhere, anything (no base there).
    /// The shell's kernel services, called as the monitor (which holds the kernel
    /// capability on every core), with what they must refuse: a command line longer than
    /// the shell takes, a line or buffer outside the caller's memory, a buffer too short
    /// for the program names (the answer says how much is needed), a console line too
    /// long or outside its memory, and a line that is no kernel command; a boot file's
    /// name and a knowledge base the monitor hands in, outside its memory or too long.
    static func shellServices(_ state: CoreState) -> String? {
        guard let id = state.monitorDomain, let monitor = state.domains.first(where: { $0.id == id }) else { return "no monitor" }
        let names = (state.bootImage?.programs ?? []).reduce(0) { $0 + $1.name.count + 1 }
        let cases: [(invocation: Invocation, expected: InvocationStatus, value: UInt64, what: String)] = [
            (.command(line: 0x1000, length: UInt64(ShellCommand.lineLimit) + 1), .countTooLarge, 0, "a line past the limit"),
            (.command(line: 0x1000, length: 5), .badBuffer, 0, "a line in unmapped memory"),
            (.command(line: 0xFFFF_8000_0000_0000, length: 5), .badBuffer, 0, "a line in kernel memory"),
            (.programNames(buffer: 0x1000, length: 1), names > 1 ? .bufferTooSmall : .badBuffer, names > 1 ? UInt64(names) : 0,
             "a buffer too short for the names"),
            (.programNames(buffer: 0xFFFF_8000_0000_0000, length: 1 << 16), .badBuffer, 0, "names into kernel memory"),
            (.echo(bytes: 0x1000, length: 0, line: 0x1000, lineLength: UInt64(InvocationWords.consoleLineLimit) + 1),
             .countTooLarge, 0, "a console line past the limit"),
            (.echo(bytes: 0xFFFF_8000_0000_0000, length: 8, line: 0x1000, lineLength: 0), .badBuffer, 0, "an echo in kernel memory"),
            (.bootFile(name: 0x1000, length: 5, page: 0, frame: .root(0)), .badBuffer, 0, "a boot file's name in unmapped memory"),
            (.bootFile(name: 0x1000, length: 0, page: 0, frame: .root(0)), .badBuffer, 0, "a boot file's name of no bytes"),
            (.bootFile(name: 0xFFFF_8000_0000_0000, length: 49, page: 0, frame: .root(0)), .badBuffer, 0, "a boot file's name too long"),
            (.adoptKnowledge(buffer: 0x1000, length: 64), .badBuffer, 0, "a knowledge base in unmapped memory"),
            (.adoptKnowledge(buffer: 0x1000, length: 1 << 40), .badBuffer, 0, "a knowledge base too large"),
        ]
        for test in cases {
            let (status, value) = state.performKernelService(test.invocation, for: monitor)
            guard status == test.expected, value == test.value else {
                return "\(test.what) answered \(status) (\(value)), not \(test.expected) (\(test.value))"
            }
        }
        if KernelCommands(state: state).execute(.run(program: Array("hello".utf8), arguments: [])) {
            return "the kernel ran a program for the shell"
        }
        return nil
    }

    static func knowledgeService(_ state: CoreState) -> String? {
        guard let id = state.monitorDomain, let monitor = state.domains.first(where: { $0.id == id }) else { return "no monitor" }
        func ask(_ buffer: UInt64, _ length: UInt64) -> (InvocationStatus, UInt64) {
            state.performKernelService(.knowledge(buffer: buffer, length: length), for: monitor)
        }
        guard let base = state.knowledge else {
            let (status, _) = ask(0x1000, 1 << 20)
            return state.id == .bootstrap ? "core 0 has no knowledge base" : status == .noKnowledge ? nil : "answered \(status)"
        }
        guard state.id == .bootstrap else { return "core \(state.id.rawValue) has a knowledge base" }
        let size = UInt64(base.encoded().count)
        let cases: [(buffer: UInt64, length: UInt64, expected: InvocationStatus, what: String)] = [
            (0x1000, size - 1, .bufferTooSmall, "a length one short"),
            (0x1000, size, .badBuffer, "an unmapped buffer"),
            (0xFFFF_8000_0000_0000, size, .badBuffer, "a kernel address"),
            (UInt64.max - 7, size, .badBuffer, "a buffer past the top of the address space"),
        ]
        for test in cases {
            let (status, value) = ask(test.buffer, test.length)
            guard status == test.expected else { return "\(test.what) answered \(status), not \(test.expected)" }
            if status == .bufferTooSmall && value != size { return "too short: said \(value) bytes are needed, not \(size)" }
        }
        return nil
    }

    /// Two domains on this core talk over an endpoint: words and a capability arrive, a
    /// full endpoint refuses, and a revoked endpoint cannot be sent to.
    static func sameCoreMessages(_ state: CoreState, _ tally: inout TestTally,
                                 outcome: (StaticString, StaticString) -> Domain.State?) {
        guard let image = state.bootImage, let program = image.program(named: Array("lmp".utf8)) else {
            tally.check(.lmpPresent, "not in the boot image")
            return
        }
        let talk = state.runPair(program, "server", "client", bothWays: false)
        tally.check(.messageArrives, exited(0, talk.first))
        tally.check(.endpointFull, exited(0, talk.second))
        let buffers = state.runPair(program, "buffer-server", "client", bothWays: false)
        tally.check(.receiveBuffers, exited(0, buffers.first) ?? exited(0, buffers.second))
        let revoked = state.runPair(program, "revoker", "late-client", bothWays: false)
        tally.check(.revokedEndpoint, exited(0, revoked.second))
        tally.check(.receiverRevokes, exited(0, revoked.first))
        let pingPong = state.runPair(program, "pong", "ping 100", bothWays: true)
        tally.check(.roundTrips, exited(0, pingPong.second) ?? exited(0, pingPong.first))
        let splitPong = state.runPair(program, "pong split", "ping 100", bothWays: true)
        let splitPing = state.runPair(program, "pong", "ping 100 split", bothWays: true)
        tally.check(.callMeetsSplit, exited(0, splitPong.second) ?? exited(0, splitPong.first)
                        ?? exited(0, splitPing.second) ?? exited(0, splitPing.first))
        tally.check(.callRefusals, exited(0, runHere(state, "lmp", "call-refusals")))
        let killed = state.runPair(program, "call-sleeper", "endpoint-killer", bothWays: true)
        tally.check(.callEndpointDies, exited(0, killed.first) ?? exited(0, killed.second))
    }

    /// A message-signalled interrupt on this core, whichever core it is (no I/O APIC
    /// takes part): `probe msi` gets an interrupt capability for every IRQ (a copy of
    /// the monitor's on core 0, which holds them; a root of its own elsewhere), connects
    /// IRQ 200, which has no ISA line or I/O APIC input, and waits for it. The kernel
    /// stands in for the device: once the connection exists it sends its own core the
    /// vector, once, as the device's message would.
    static func messageSignalled(_ state: CoreState) -> String? {
        guard let image = state.bootImage?.program(named: Array("probe".utf8)) else { return "probe: not in the boot image" }
        let domain: Domain
        do { domain = try state.spawn(image, arguments: Array("msi".utf8)) } catch { return "probe msi did not start" }
        let slot = CapabilityAddress.root(InitialSlot.interrupts)
        if let monitor = state.domains.first(where: { $0.id == state.monitorDomain }),
           (try? state.capabilities.identify(slot, in: monitor.cspace))?.type == .irq {
            guard (try? state.capabilities.copy(slot, in: monitor.cspace, to: slot, in: domain.cspace)) != nil else {
                return "could not copy the monitor's interrupt capability"
            }
        } else {
            guard (try? state.capabilities.createRoot(.irq, base: 0, size: CoreState.interruptCount, at: slot, in: domain.cspace)) != nil else {
                return "could not make an interrupt capability"
            }
        }
        var sent = false
        state.runDomains(milliseconds: 30_000) {
            if !sent, let connection = state.interruptConnections.first(where: { $0.domain == domain.id && $0.irq == 200 }) {
                state.apic.sendInterrupt(connection.vector, to: state.apicID)
                sent = true
            }
            return !state.domains.contains { $0 === domain }
        }
        guard sent else { return "probe msi never connected IRQ 200" + (exited(0, domain.state).map { ": \($0)" } ?? "") }
        return exited(0, domain.state)
    }

    /// Runs `program` with `arguments` on this core to its end, for at most
    /// `milliseconds`; nil if it could not start. Other cores' requests are served
    /// meanwhile.
    static func runHere(_ state: CoreState, _ program: String, _ arguments: String = "",
                        milliseconds: UInt64 = 60_000) -> Domain.State? {
        guard let image = state.bootImage?.program(named: Array(program.utf8)) else {
            print("\(program): not in the boot image")
            return nil
        }
        let domain: Domain
        do { domain = try state.spawn(image, arguments: Array(arguments.utf8)) } catch {
            print("\(program) \(arguments): did not start (\(error))")
            return nil
        }
        state.runDomains(milliseconds: milliseconds) { !state.domains.contains { $0 === domain } }
        return domain.state
    }

    /// Nil if the domain exited with `expected`, else what happened instead.
    static func exited(_ expected: Int64, _ state: Domain.State?) -> String? {
        guard let state else { return "did not run or did not finish" }
        if case .exited(let status) = state, status == expected { return nil }
        return "ended as \(describe(state)), expected exit \(expected)"
    }

    /// Every core sends `streamMessages` numbered messages to every other core while
    /// receiving theirs; receivers check the numbering per sender (no loss, no
    /// duplication, no reordering). Messages go straight into the ring when it has
    /// room, never into the outbox, so memory stays bounded.
    static func channelStress(_ state: CoreState, live: CoreSet) -> String? {
        let count = UInt64(state.streamMessages)
        let peers = (0..<state.coreCount).filter { $0 != state.id.rawValue && live.contains(CoreID($0)) }
        var sent = Array(repeating: UInt64(0), count: state.coreCount)
        let start = CPU.timestamp()
        while true {
            for peer in peers where sent[peer] < count {
                var batch = 0
                while sent[peer] < count, state.links[peer]!.trySend(KernelMessage.stream(sequence: sent[peer]).encode()) {
                    sent[peer] += 1
                    batch += 1
                }
                if batch > 0 { state.apic.sendInterrupt(LocalAPIC.notifyVector, to: state.apicIDs[peer]) }
            }
            state.poll()
            if peers.allSatisfy({ sent[$0] == count && state.streamReceived[$0] == count }) { break }
            if CPU.timestamp() - start > state.cycles(milliseconds: 300_000) {
                let missing = peers.filter { state.streamReceived[$0] != count }
                return "timed out; incomplete streams from cores \(missing)"
            }
        }
        return state.streamErrors == 0 ? nil : "\(state.streamErrors) messages out of sequence"
    }

    /// Core 0: run everything, print the verdict, power off.
    static func runAll(on state: CoreState) -> Never {
        var live = CoreSet()
        for core in 0..<state.coreCount where !state.failedCores[core] { live.insert(CoreID(core)) }
        for core in 1..<max(state.coreCount, 1) where live.contains(CoreID(core)) {
            state.send(.runTests(live), to: CoreID(core))
        }
        let own = runLocal(on: state, live: live)
        var passed = own.passed
        var failed = own.failed
        let others = (1..<max(state.coreCount, 1)).filter { live.contains(CoreID($0)) }
        _ = state.waitUntil(milliseconds: 300_000, halting: true) { others.allSatisfy { state.testReplies[$0] != nil } }
        var tally = TestTally(core: state.id.rawValue)
        var reports: [TestReport] = [own]
        for core in 1..<max(state.coreCount, 1) {
            if core == state.skippedCore {
                tally.check(.skippedCoreReported,
                            live.contains(CoreID(core)) ? "core \(core) was told not to start but is up" : nil)
            } else if !live.contains(CoreID(core)) {
                tally.check(.everyCoreStarted, "core \(core) (apic \(state.apicIDs[core].rawValue)) did not start")
            } else if let report = state.testReplies[core] {
                passed += report.passed
                failed += report.failed
                reports.append(report)
            } else {
                tally.check(.everyCoreReports, "core \(core) did not report within 300 s")
            }
        }
        tally.check(.sharesDisjoint, disjoint(reports))
        tally.check(.sharesOnTheirNodes, sharesOnTheirNodes(state))
        tally.check(.multicast, multicast(state, live: live))
        bootstrapBoundaries(state, live: live, &tally)
        passed += tally.passed
        failed += tally.failed
        // What needs no kernel privilege runs as a user program, through the monitors; it
        // prints the verdict over both and powers off. Only if it cannot do that does
        // the kernel.
        let digest = state.knowledge.map { KnowledgeEncoding.digest($0.encoded()) } ?? 0
        let cores = monitorCores(state, live: live).map { String($0) }.joined(separator: " ")
        let runner = runHere(state, "checks", "\(passed) \(failed) \(digest) \(cores)", milliseconds: 1_200_000)
        var last = TestTally(core: state.id.rawValue)
        last.check(.checksRunner, runner.map { "it ended as \(describe($0)) without powering off" } ?? "it did not start or did not finish")
        print("\(passed + last.passed) passed, \(failed + last.failed) failed")
        Machine.exit(success: false)
    }

    /// Every core's share lies on its own NUMA node, where the SRAT gives nodes with
    /// memory (nothing to check otherwise).
    static func sharesOnTheirNodes(_ state: CoreState) -> String? {
        guard let (plan, numa) = state.memoryPlan else { return "no memory plan recorded" }
        guard let numa, !numa.memory.isEmpty else { return nil }
        guard plan.isNodeAware else { return "the SRAT gives NUMA nodes but the shares were not cut per node" }
        for (core, share) in plan.shares.enumerated() {
            for range in share {
                let nodes = [numa.node(of: range.start), numa.node(of: PhysicalAddress(range.end.rawValue - 1))]
                // Memory on no node goes to core 0's node.
                if nodes.contains(where: { ($0 ?? numa.coreNodes[0]) != numa.coreNodes[core] }) {
                    return "core \(core)'s share has \(range) off its node \(numa.coreNodes[core].map { String($0) } ?? "?")"
                }
            }
        }
        return nil
    }

    /// Ten multicasts down the NUMA-aware tree; each must come back acknowledged by
    /// every other live core exactly once.
    static func multicast(_ state: CoreState, live: CoreSet) -> String? {
        guard let kb = state.knowledge else { return "no knowledge base" }
        let tree = kb.multicastTree(from: .bootstrap, kind: .numaAware)
        let reached = tree.coresReached.map { $0.rawValue }.sorted()
        let expected = (0..<state.coreCount).filter { live.contains(CoreID($0)) }
        guard reached == expected else { return "tree does not reach every live core once" }
        let others = (1..<max(state.coreCount, 1)).filter { live.contains(CoreID($0)) }.count
        for round in 0..<10 {
            guard let result = state.multicastOnce(id: 0xA000 + UInt64(round)) else { return "round \(round) timed out" }
            if result.reached != others { return "round \(round) reached \(result.reached) cores, expected \(others)" }
            if result.duplicates != 0 { return "round \(round): \(result.duplicates) duplicate deliveries" }
        }
        return nil
    }

    static func disjoint(_ reports: [TestReport]) -> String? {
        for (i, a) in reports.enumerated() {
            guard a.blockAddress >= a.shareStart, a.blockAddress < a.shareEnd else { return "a block lies outside its share" }
            for b in reports[(i + 1)...] {
                if a.blockAddress == b.blockAddress { return "two cores share a block" }
                if a.shareStart < b.shareEnd && b.shareStart < a.shareEnd { return "two cores' shares overlap" }
            }
        }
        return nil
    }
}

func describe(_ state: Domain.State) -> String {
    switch state {
    case .runnable: return "still running"
    case .exited(let status): return "exit \(status)"
    case .stopped(let reason): return "stopped (\(reason))"
    }
}

/// How many distinct objects the capabilities in `domains`' CSpaces name (an object by
/// its type, base and size: copies count once).
func objectsHeld(by domains: [Domain], _ state: CoreState) -> Int {
    var seen: [(type: CapabilityType, base: UInt64, size: UInt64)] = []
    for domain in domains {
        try? state.capabilities.forEachCapability(in: domain.cspace) { _, capability in
            guard !seen.contains(where: { $0.type == capability.type && $0.base == capability.base && $0.size == capability.size })
            else { return }
            seen.append((capability.type, capability.base, capability.size))
        }
    }
    return seen.count
}
