// All of one core's CPU-driver state in one type (seL4's `statedata.h` habit). Each
// core creates its own instance on its own heap and reaches it through its per-core
// block; no core ever holds a reference to another core's CoreState. What a core needs
// to know about the others (their APIC IDs, the channel area) it copied from the boot
// hand-off into here.
import Arch
import Basics
import KernelMessages
import Channel
import KnowledgeBase
import ShootdownProtocol
import Memory
import BootInfo
import Capabilities

final class CoreState {
    let id: CoreID
    let apicID: APICID
    let coreCount: Int
    /// APIC ID of every core, by CoreID (copied from the hand-off; immutable).
    let apicIDs: [APICID]
    let apic: LocalAPIC
    let tscHz: UInt64
    let bootTimestamp: UInt64
    /// This core's share of physical memory (for `mem` and the isolation checks).
    let share: [PhysicalRange]
    let testMode: Bool
    /// Messages each core sends every other core in the channel stress test.
    let streamMessages: Int

    /// Timer interrupts taken on this core.
    var ticks: UInt64 = 0
    /// The links to every other core (nil for this core and for cores that did not start).
    var links: [Link?]
    /// Cores known not to have started (set on core 0 during boot).
    var failedCores: [Bool]
    /// Cores that said they stopped for good (KernelMessage.stopping, from their panic).
    var stoppedCores: [Bool]
    /// The core the command line said not to start (tests of the start-up timeout).
    var skippedCore: Int? = nil
    /// On core 0: that core, its hand-off record and when it was started (it answers
    /// too late, and must stay in INIT).
    var lateCore: (core: Int, handoff: UnsafeMutablePointer<BootHandoff>, startedAt: UInt64)? = nil

    /// Replies that a waiting request on this core is looking for, by source core.
    var pongs: [UInt64]
    var statusReplies: [CoreStatus?]
    var testReplies: [TestReport?]
    /// Each core's answer to `trace on|off`: where its buffer lies and whether it records.
    var traceReplies: [(address: UInt64, bytes: UInt64, on: Bool)?]

    /// Work that a message asked for and that takes long or waits for other cores:
    /// the event loop does it outside message handling, in arrival order. Bounded: a
    /// request past the capacity is dropped and counted (`cores` shows the drops).
    var deferred = BoundedQueue<DeferredWork>(capacity: CoreState.deferredCapacity)
    /// Messages from other cores that did not decode.
    var malformedMessages = 0
    /// The cores measuring round trips to this one, each until its own deadline: poll
    /// without halting while any request is in force (StayAwake.swift).
    var stayAwake: StayAwakeRequests
    /// Stopping cores (PanicAuthority.swift): the grants this core's kernel-capability
    /// invocations made, and the requests from other cores awaiting confirmation.
    var panicGrants: PanicGrants
    var panicChallenges: PanicChallenges
    /// Base of the channel area (rings, then floor lines).
    var channelArea: UInt64 = 0
    /// On core 0: each core's place in the machine as it reported it, and the
    /// knowledge base built from them and the latency matrix.
    var places: [CoreFacts?]
    var knowledge: KnowledgeBase? = nil
    /// Core 0 only: the memory plan it made at boot, and the NUMA layout it followed
    /// (for the check that every share lies on its core's node).
    var memoryPlan: (plan: MemoryPlan, numa: MemoryPlan.NUMALayout?)? = nil
    /// Device memory for drivers (`deviceWindowBelow4GiB` of the memory map), which
    /// core 0's monitor hands out; every core learns it at boot (the hand-off), so its
    /// kernel adopts device frames only there, never in RAM.
    var deviceWindow: PhysicalRange? = nil
    /// This core's children in the current multicast tree, and the multicast in flight.
    var multicastChildren: [CoreID] = []
    var multicast = MulticastState()
    /// This core's side of the TLB shootdown protocol (Shootdowns.swift), once its
    /// monitor gave it the knowledge base, and the shootdowns it waits for.
    var shootdowns: ShootdownMonitor? = nil
    var shootdownWaits = ShootdownWaits()
    var droppedTranslations = DroppedTranslations()
    /// `releaseEnded` is under way (it must not run inside itself).
    var releasingEnded = false
    /// The kernel's own page tables (what CR3 held when this core's state was made,
    /// before any domain ran): where the core goes when no domain's tables will do.
    let kernelRoot = KernelAddressSpace.root
    /// Every capability on this core, in every domain's CSpace (the per-core mapping
    /// database).
    var capabilities = CoreCapabilities()
    /// Same-core messages: every endpoint someone receives on, and the kernel's CNode
    /// for capabilities in waiting messages.
    var endpointQueues: [EndpointQueue] = []
    var transit = KernelCNodes()
    /// The domain a call just woke while its caller went to sleep: the scheduler gives
    /// it the core at once, without a pass through the event loop (SameCoreMessages.swift).
    var directSwitch: Domain? = nil
    /// Device interrupts (DeviceInterrupts.swift): the machine's wiring (bootstrap core
    /// only) and the IRQs connected to domains' endpoints.
    var interruptRouting: InterruptRouting? = nil
    var interruptConnections: [InterruptConnection] = []
    /// Holds a copy of every domain's RAM capability (see KernelCNodes).
    var keeper = KernelCNodes()
    /// The read-only pages of the programs started here, shared by their domains.
    var programCache = ProgramCache()
    /// The RAM block of the domain that ended last, kept for the next spawn that needs
    /// one of its size (Domain.swift).
    var spareBlock: PhysicalRange? = nil
    /// Domains that ended and are off the core, whose memory and capabilities
    /// `releaseEnded` has yet to give back (Domain.swift).
    var ended: [Domain] = []
    /// The domains on this core, the next one to run, and how recent ones ended.
    var domains: [Domain] = []
    var nextToRun = 0
    /// What the FS base holds (UserMode.setDispatcherBase): the frame address of the
    /// dispatcher entered last.
    var dispatcherBase: UInt64 = 0
    var nextDomainID = 0
    /// The id of this core's monitor (MonitorDomain.swift), once started.
    var monitorDomain: Int? = nil
    /// The domain that waits for notifications from other cores' monitors (the
    /// monitor), once it has waited on its notify capability.
    var notificationReceiver: Int? = nil
    /// Domains' starts and ends, for the monitor (KernelServices.swift).
    var domainEvents = DomainEvents()
    /// How the most recent domains ended (the oldest forgotten, counted, past the capacity).
    var finishedDomains = BoundedQueue<(name: String, state: Domain.State)>(capacity: 16)
    /// The programs of the boot image (read-only, shared by all cores since boot).
    var bootImage: BootImage? = nil
    /// Answers to `benchChannel` requests, by the core that measured.
    var benchReplies: [BenchResult?]
    /// On core 0: the latency matrix as rows arrive (round-trip cycles, 0 = unknown).
    var latencyRows: [[UInt64]]
    /// Channel stress test: the next sequence expected from each core, and errors seen.
    var streamReceived: [UInt64]
    var streamErrors = 0
    /// Bytes of console output dropped because core 0 did not take them in time.
    var droppedConsoleBytes = 0
    var consoleLine: [UInt8] = []
    /// On core 0: whether the serial console is at the start of a line.
    var consoleAtLineStart = true
    /// On core 0: partial lines being reassembled from each other core.
    var remoteLines: [[UInt8]]
    /// On core 0: what the console shows again after another core's line (the shell's
    /// prompt and the line being edited, which it sets with `echo`).
    var consoleLineShown: [UInt8] = []
    /// On core 0: a line of this core's own output (the kernel's or a domain's) broke
    /// into the shell's shown line, which is drawn again when that line ends.
    var consoleLineInterrupted = false

    init(id: CoreID, apicID: APICID, apicIDs: [APICID], apic: LocalAPIC, tscHz: UInt64,
         share: [PhysicalRange], testMode: Bool, streamMessages: Int) {
        self.id = id
        self.apicID = apicID
        self.coreCount = apicIDs.count
        self.apicIDs = apicIDs
        self.apic = apic
        self.tscHz = tscHz
        self.bootTimestamp = CPU.timestamp()
        self.share = share
        self.testMode = testMode
        self.streamMessages = streamMessages
        links = Array(repeating: nil, count: apicIDs.count)
        failedCores = Array(repeating: false, count: apicIDs.count)
        stoppedCores = Array(repeating: false, count: apicIDs.count)
        pongs = Array(repeating: 0, count: apicIDs.count)
        statusReplies = Array(repeating: nil, count: apicIDs.count)
        testReplies = Array(repeating: nil, count: apicIDs.count)
        traceReplies = Array(repeating: nil, count: apicIDs.count)
        remoteLines = Array(repeating: [], count: apicIDs.count)
        latencyRows = Array(repeating: Array(repeating: 0, count: apicIDs.count), count: apicIDs.count)
        streamReceived = Array(repeating: 0, count: apicIDs.count)
        benchReplies = Array(repeating: nil, count: apicIDs.count)
        places = Array(repeating: nil, count: apicIDs.count)
        stayAwake = StayAwakeRequests(coreCount: apicIDs.count)
        panicGrants = PanicGrants(seed: CPU.timestamp() ^ UInt64(id.rawValue) << 48)
        panicChallenges = PanicChallenges(coreCount: apicIDs.count)
    }

    /// Deferred work that may wait at once: a core asks for at most a few things at a
    /// time (tests, a monitor start, a measurement), so this is far above
    /// what correct peers need.
    static let deferredCapacity = 64

    /// Messages and work this core refused or forgot because a bound was reached: link
    /// outboxes full, deferred work full, finished-domain records pushed out, and panic
    /// requests no kernel-capability invocation granted.
    var dropped: (outbox: Int, deferred: Int, finished: Int, panics: Int) {
        (links.reduce(0) { $0 + ($1?.outbox.dropped ?? 0) }, deferred.dropped, finishedDomains.dropped, panicChallenges.refused)
    }

    var droppedTotal: Int {
        let counts = dropped
        return counts.outbox + counts.deferred + counts.finished + counts.panics
    }

    /// The running core's state; nil only during early boot.
    @inline(__always) static var current: CoreState? {
        guard let raw = CoreBlock.current?.pointee.state else { return nil }
        return Unmanaged<CoreState>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Makes `self` the running core's state (once per core).
    func attach() {
        CoreBlock.current!.pointee.state = Unmanaged.passRetained(self).toOpaque()
        // The kernel's first CNodes, made now so that using them later costs no memory
        // the tests would see as taken.
        transit.grow(&capabilities)
        keeper.grow(&capabilities)
    }

    func cycles(milliseconds: UInt64) -> UInt64 { tscHz / 1000 * milliseconds }
}

enum DeferredWork {
    case runTests(CoreSet)
    case startMonitor(CoreSet)
    case measureLatencies(CoreSet)
    case benchChannel(peer: CoreID, rounds: Int, requester: CoreID)
    case floorEcho(peer: CoreID, rounds: Int)
}


