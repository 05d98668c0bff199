// Every check the guest's self-tests run, declared once. The kernel (for what needs its
// privilege) and the `checks` user program (for what runs through the monitors; core 0,
// after the kernel's) print each result as `PASS core N: <name>` or `FAIL core N:
// <name>: <reason>` using these names, and the
// host tool (`swordfish test`) works out from the same declaration which checks each
// core of a test boot must report and how often. A kernel that runs fewer checks than
// declared (a test skipped by an early return, a program missing from the boot image)
// therefore fails the run even if its own summary line says all is well.

/// One check of the guest's self-tests.
public enum GuestCheck: CaseIterable, Sendable {
    // Each core, on itself.
    case perCoreState, frameAllocator, everyFrame, heapRandom, timerTicks, ipiRoundTrip, channelStreams
    case monitorDomain, programRuns, programCache, heapOnDemand, spareBlock, kernelRead, kernelWrite, unmappedAddress, noncanonicalAddress
    case privilegedInstruction, unknownSystemCall, badPointers, badTraceEvents, exitStatus, resumeNoncanonical
    case blockNotHeld, cnodeCopy, directionFlag, systemCallRegisters, isolation
    case wrongType, rightsShrink, retypeOverlap, badSlots
    case mapDouble, mapOccupied, mapRefusals, mapWriteUnmap, mapRevoked
    case messageSignalled
    case randomInvocations, invariantsAfterFuzzing
    case messageArrives, endpointFull, revokedEndpoint, receiverRevokes, roundTrips, receiveBuffers
    case callMeetsSplit, callRefusals, callEndpointDies
    case roundRobin, preemption, join, mutex, condition, heapStress, threadFault, demandPaging
    case firstThreadFault, badDispatcherCalls, badUpcallEntry, loseDispatcher, loseDispatcherFrame
    case losePML4, waitsetTwoEndpoints, waitsetSleeps, waitsetEndpointDies
    case noCapabilitiesLeft, everyFrameReturned
    case knowledgeService, shellServices, sharedObjectServices
    case inFlightQuota
    // Core 0, over all cores.
    case sharesDisjoint, sharesOnTheirNodes, multicast, monitorsAnswer, monitorOnEveryCore, knowledgeReplicas, monitorSurvivesRevoke
    case waitAfterAsk, userDriver
    case nameRace, nameAcrossCores, spawnAnywhere, killAnywhere, domainStates, userChannels, boundPeerKilled
    case peerNeverReads, peerWritesGarbage, sameCoreConnection, connectionInWaitset
    case memoryService, frameRevokedEverywhere, retypeRace, capabilityOnConnection, domainEndsMidProtocol
    case spanningThreads, spanningFault, spanningEnd, spanningShootdown, spanningUnmapCode, spanningKeepsMemory, spanningLentMemory, parallelWorkload
    case skippedCoreReported, lateCoreStaysInINIT
    case stopNeedsKernelCapability, outboxBounded
    // Reported only when something is missing; never expected.
    case bootImagePresent, lmpPresent, threadsPresent, everyCoreStarted, everyCoreReports, checksRunner

    /// Which cores run the check, and how often.
    public enum Scope: Sendable, Equatable {
        /// Every core that started, once (`randomInvocations` once per fuzz seed).
        case everyCore
        /// Core 0, once.
        case bootstrap
        /// Core 0, once, when at least one other core started.
        case bootstrapWithPeer
        /// Core 0, once for the core it was told not to start.
        case skippedCore
        /// Printed only as a failure, in place of the checks it stands for.
        case onlyOnFailure
    }

    public var scope: Scope {
        switch self {
        case .sharesDisjoint, .sharesOnTheirNodes, .multicast, .monitorsAnswer, .monitorOnEveryCore, .knowledgeReplicas, .monitorSurvivesRevoke, .waitAfterAsk, .sameCoreConnection, .userDriver,
             .memoryService:
            return .bootstrap
        case .nameRace, .nameAcrossCores, .spawnAnywhere, .killAnywhere, .domainStates, .userChannels, .boundPeerKilled,
             .peerNeverReads, .peerWritesGarbage, .connectionInWaitset, .stopNeedsKernelCapability, .outboxBounded,
             .frameRevokedEverywhere, .retypeRace, .capabilityOnConnection, .domainEndsMidProtocol,
             .spanningThreads, .spanningFault, .spanningEnd, .spanningShootdown, .spanningUnmapCode, .spanningKeepsMemory, .spanningLentMemory, .parallelWorkload:
            return .bootstrapWithPeer
        case .skippedCoreReported, .lateCoreStaysInINIT: return .skippedCore
        case .bootImagePresent, .lmpPresent, .threadsPresent, .everyCoreStarted, .everyCoreReports, .checksRunner: return .onlyOnFailure
        default: return .everyCore
        }
    }

    /// The invocation fuzzer's `capfuzz <seed> <count>` arguments on `core`: several
    /// seeds on core 0, one (shorter) on every other core.
    public static func fuzzRuns(onCore core: Int) -> [StaticString] {
        core == 0 ? ["1 100000", "2 100000", "3 100000"] : ["4 20000"]
    }

    /// How many times `core` reports this check in a boot of `cores` cores of which
    /// `skippedCore` (if any) was told not to start.
    public func expectedRuns(onCore core: Int, cores: Int, skippedCore: Int?) -> Int {
        guard core < cores, core != skippedCore else { return 0 }
        let peers = (1..<max(cores, 1)).contains { $0 != skippedCore }
        switch scope {
        case .everyCore: return self == .randomInvocations ? Self.fuzzRuns(onCore: core).count : 1
        case .bootstrap: return core == 0 ? 1 : 0
        case .bootstrapWithPeer: return core == 0 && peers ? 1 : 0
        case .skippedCore: return core == 0 && skippedCore != nil ? 1 : 0
        case .onlyOnFailure: return 0
        }
    }

    /// The line the kernel prints after `PASS core N: ` or `FAIL core N: `.
    public var name: StaticString {
        switch self {
        case .perCoreState: return "per-core state is this core's"
        case .frameAllocator: return "frame allocator: allocate, write, free"
        case .everyFrame: return "frame allocator: every free frame of the share is usable"
        case .heapRandom: return "heap: random allocations against a model"
        case .timerTicks: return "timer: ticks arrive"
        case .ipiRoundTrip: return "ipi: round trip to every other core"
        case .channelStreams: return "channels: stream to and from every other core"
        case .monitorDomain: return "monitor: this core runs its monitor, asleep, with its initial capabilities"
        case .monitorsAnswer: return "monitor: a domain reaches every live core's monitor through its own, over the monitors' rings"
        case .shellServices: return "shell: the kernel's command, program-name and console-line services refuse bad lines and buffers"
        case .sharedObjectServices: return "capabilities: the kernel's services for capabilities across cores refuse bad slots, types, places, buffers and sizes, changing nothing"
        case .knowledgeService: return "knowledge: the kernel's knowledge service refuses bad buffers and short lengths; only core 0 has a base"
        case .knowledgeReplicas: return "knowledge: every live core's monitor holds a replica equal to core 0's kernel's knowledge base"
        case .programRuns: return "user mode: a program runs and exits"
        case .programCache: return "user mode: two domains of a program map its read-only pages from one copy they cannot write or take away, given back once neither runs"
        case .heapOnDemand: return "user mode: a spawn makes none of the heap's pages; the program's library makes them from its heap RAM as it allocates"
        case .spareBlock: return "user mode: a domain spawned after one ended gets the ended domain's RAM block"
        case .kernelRead: return "user mode: reading kernel memory stops the domain"
        case .kernelWrite: return "user mode: writing kernel memory stops the domain"
        case .unmappedAddress: return "user mode: an unmapped address stops the domain"
        case .noncanonicalAddress: return "user mode: a non-canonical address stops the domain"
        case .privilegedInstruction: return "user mode: a privileged instruction stops the domain"
        case .unknownSystemCall: return "user mode: an unknown system call gets an error"
        case .badTraceEvents: return "user mode: a trace event of a kind or channel a domain may not record gets notRecordable"
        case .badPointers: return "user mode: bad pointers and lengths get errors"
        case .exitStatus: return "user mode: exit status arrives"
        case .resumeNoncanonical: return "user mode: a return to a non-canonical address stops the domain"
        case .blockNotHeld: return "user mode: a domain holds no copy of its address space's RAM block"
        case .cnodeCopy: return "user mode: a copy of its root CNode does not outlive the domain"
        case .directionFlag: return "user mode: the direction flag survives preemption and does not leak into the kernel"
        case .systemCallRegisters: return "user mode: a system call returns the vector registers zeroed, MXCSR and the x87 control word kept"
        case .isolation: return "user mode: a domain cannot see another domain's memory"
        case .wrongType: return "capabilities: a wrong type is refused"
        case .rightsShrink: return "capabilities: rights only shrink"
        case .retypeOverlap: return "capabilities: retypes never overlap"
        case .badSlots: return "capabilities: bad slots and operations are refused"
        case .mapDouble: return "mapping: a copy mapped twice is refused"
        case .mapOccupied: return "mapping: an occupied entry is refused"
        case .mapRefusals: return "mapping: wrong types, reserved entries, rights and sizes are refused"
        case .mapWriteUnmap: return "mapping: map, write, unmap, map again"
        case .mapRevoked: return "mapping: a page whose frame was revoked faults"
        case .messageSignalled: return "interrupts: a message-signalled interrupt connects on this core without an I/O APIC, arrives at its endpoint, refuses bad inputs and disconnects"
        case .randomInvocations: return "capabilities: random invocations get documented statuses and leave the kernel up"
        case .invariantsAfterFuzzing: return "capabilities: invariants hold after fuzzing"
        case .messageArrives: return "same-core messages: words and a capability arrive"
        case .endpointFull: return "same-core messages: a full endpoint refuses the sender"
        case .revokedEndpoint: return "same-core messages: a revoked endpoint cannot be sent to"
        case .receiverRevokes: return "same-core messages: the receiver revokes and ends"
        case .roundTrips: return "same-core messages: a round trip each way, 100 times, one call per message"
        case .callMeetsSplit: return "same-core messages: a call answers and is answered by send, wait and receive, 100 times each way"
        case .callRefusals: return "same-core messages: a call with bad slots, rights or addresses, or to an unclaimed, receiverless or full endpoint, sends nothing; a capability waiting stays for receive"
        case .callEndpointDies: return "same-core messages: a call asleep for its answer ends with slotEmpty when its endpoint is destroyed"
        case .receiveBuffers: return "same-core messages: a read-only, kernel, unmapped or misaligned buffer is refused and nothing changes"
        case .roundRobin: return "dispatchers: two that never yield share the core round-robin"
        case .preemption: return "dispatchers: threads that never yield are preempted, FPU state intact"
        case .join: return "dispatchers: join returns each thread's value"
        case .mutex: return "dispatchers: a mutex keeps a counter exact"
        case .condition: return "dispatchers: condition variables carry a bounded buffer"
        case .heapStress: return "dispatchers: threads allocate and check arrays across preemptions"
        case .threadFault: return "dispatchers: a faulting thread ends alone"
        case .demandPaging: return "dispatchers: a page-fault upcall maps pages on demand"
        case .firstThreadFault: return "dispatchers: a fault in the first thread stops the domain"
        case .badDispatcherCalls: return "dispatchers: bad resume, wait and fault calls are refused"
        case .badUpcallEntry: return "dispatchers: an upcall entry outside user memory stops the domain"
        case .loseDispatcher: return "dispatchers: deleting its dispatcher stops the domain"
        case .loseDispatcherFrame: return "dispatchers: deleting its dispatcher frame stops the domain"
        case .losePML4: return "user mode: deleting its PML4 stops the domain"
        case .waitsetTwoEndpoints: return "dispatchers: a waitset delivers from two endpoints"
        case .waitsetSleeps: return "dispatchers: a waitset sleeps until another domain's messages arrive"
        case .waitsetEndpointDies: return "dispatchers: a waitset wakes when its endpoint dies"
        case .noCapabilitiesLeft: return "capabilities: ended domains leave no capabilities"
        case .everyFrameReturned: return "user mode: ended domains give back every frame"
        case .sharesDisjoint: return "isolation: cores' blocks and shares are disjoint"
        case .sharesOnTheirNodes: return "memory: every core's share lies on its own NUMA node (checked where the SRAT gives nodes: the numa2 configuration)"
        case .multicast: return "multicast: every core receives once, acknowledgements aggregate"
        case .userDriver: return "devices: a user driver gets the RTC's ports and IRQ from the monitor, receives its interrupts, and is refused others; an ended driver's IRQ is free again"
        case .skippedCoreReported: return "a core that never answers is reported and left out"
        case .lateCoreStaysInINIT: return "a core that answers after its start-up timeout is put back into INIT and never runs"
        case .stopNeedsKernelCapability: return "stopping a core: a request no kernel-capability invocation granted is refused, and the core goes on"
        case .outboxBounded: return "links: an outbox to a core that does not keep up stops at its capacity and counts what it dropped"
        case .inFlightQuota: return "same-core messages: a domain's capabilities in flight stop at its own quota (tooManyInFlight), not the core's"
        case .nameRace: return "names: two domains on different cores register one name at once, exactly one wins"
        case .nameAcrossCores: return "names: a name registered on one core is found on another, and goes when its domain ends"
        case .spawnAnywhere: return "monitors: a domain starts a program on every core and hears how it ended (an exit status, or stopped for a fault)"
        case .killAnywhere: return "monitors: a domain kills a domain on another core"
        case .domainStates: return "monitors: a spinning domain reads as running and a sleeping one as sleeping, on this core and another"
        case .boundPeerKilled: return "channels: a domain killed while bound leaves its peer with an error, not a hang"
        case .userChannels: return "channels: every ordered pair of cores binds by name and exchanges 10,000 messages in order, each way"
        case .waitAfterAsk: return "monitors: after its ask is answered, a domain's wait for anything sleeps until its deadline"
        case .monitorSurvivesRevoke: return "monitors: a domain that revokes its copy of the monitor's endpoint takes it from nobody else"
        case .monitorOnEveryCore: return "monitors: every core's replica of the domain table (what ps lists) has a monitor on every core"
        case .connectionInWaitset: return "channels: a thread waits on a waitset for a connection from another core, sleeping between messages"
        case .peerNeverReads: return "channels: a peer that never reads gives its sender an error, not a hang"
        case .peerWritesGarbage: return "channels: a peer that writes garbage into the channel's page gives an error, nothing worse"
        case .sameCoreConnection: return "channels: two domains on one core connect by name and exchange 10,000 messages in order"
        case .memoryService: return "capabilities: a domain on each core allocates until outOfMemory (its core's pieces, then others' lent, nearest first) and frees it all; same count each run, free figures return"
        case .frameRevokedEverywhere: return "capabilities: a frame sent to every other core and mapped there, revoked from its origin (a domain's own revoke refused): every mapping is gone"
        case .retypeRace: return "capabilities: RAM retyped on two cores at once: exactly one succeeds (a domain's own retype of shared RAM refused)"
        case .capabilityOnConnection: return "capabilities: a frame sent on a connection to a domain on every core (by the kernel or the monitors) arrives where the receiver named; one the monitors do not carry is refused"
        case .spanningThreads: return "spanning: a domain with a thread on every core: each runs on its core, sees what the first wrote, counts under one mutex, waits on one condition, and is joined"
        case .spanningFault: return "spanning: a thread that faults on another core ends alone, and its joiner learns where; the next thread there runs"
        case .spanningShootdown: return "spanning: a page used on every other core is unmapped (or write-protected); after that returns each user faults at its next use, none uses it stale"
        case .spanningUnmapCode: return "spanning: unmapping the page its siblings run code from faults them, not the kernel"
        case .spanningKeepsMemory: return "spanning: a domain on several cores may not delete, revoke or retype (what it unmapped stays its own)"
        case .spanningLentMemory: return "spanning: a frame another domain lent is revoked and reused; the reader on another core faults, never sees the new bytes"
        case .parallelWorkload: return "spanning: a blocked matrix multiply split over a thread on every core gives the result of one thread alone"
        case .spanningEnd: return "spanning: when a domain ends, its dispatcher spinning on another core is stopped by the monitors"
        case .domainEndsMidProtocol: return "capabilities: a domain that ends while its send and revoke are under way leaves nothing locked: the revoke takes every remote mapping, its memory returns, every piece retypes again"
        case .bootImagePresent: return "user mode: boot image present"
        case .lmpPresent: return "same-core messages: lmp program present"
        case .threadsPresent: return "dispatchers: threads program present"
        case .everyCoreStarted: return "every core started"
        case .everyCoreReports: return "every core reports its tests"
        case .checksRunner: return "the checks program runs the user-level checks and powers off with the verdict"
        }
    }
}

/// Counts and prints the checks one side of a test boot runs, in the form the host tool
/// reads: `PASS core N: <name>` or `FAIL core N: <name>: <reason>`. The kernel's
/// self-tests and the `checks` program both report through it.
public struct TestTally: Sendable {
    public var passed = 0
    public var failed = 0
    public let core: Int

    public init(core: Int) { self.core = core }

    /// Reports `check`: passed if `failure` is nil, else failed for that reason.
    public mutating func check(_ check: GuestCheck, _ failure: String?) {
        if let failure {
            failed += 1
            print("FAIL core \(core): \(check.name): \(failure)")
        } else {
            passed += 1
            print("PASS core \(core): \(check.name)")
        }
    }
}
