// All of one core's CPU-driver state in one type (seL4's `statedata.h` habit). Each
// core creates its own instance on its own heap and reaches it through its per-core
// block; no core ever holds a reference to another core's CoreState. What a core needs
// to know about the others (their APIC IDs, the channel area) it copied from the boot
// hand-off into here.
import Arch
import Basics
import Channel

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

    /// Timer interrupts taken on this core.
    var ticks: UInt64 = 0
    /// The links to every other core (nil for this core and for cores that did not start).
    var links: [Link?]
    /// Cores known not to have started (set on core 0 during boot).
    var failedCores: [Bool]

    /// Replies that a waiting request on this core is looking for, by source core.
    var pongs: [UInt64]
    var statusReplies: [CoreStatus?]
    var testReplies: [TestReport?]

    /// Set by a `runTests` request: the cores known to be up; the event loop runs the
    /// tests outside message handling.
    var pendingTestRun: CoreSet? = nil
    /// Messages from other cores that did not decode.
    var malformedMessages = 0
    /// Bytes of console output dropped because core 0 did not take them in time.
    var droppedConsoleBytes = 0
    var consoleLine: [UInt8] = []
    /// On core 0: partial lines being reassembled from each other core.
    var remoteLines: [[UInt8]]
    var shell: Shell? = nil

    init(id: CoreID, apicID: APICID, apicIDs: [APICID], apic: LocalAPIC, tscHz: UInt64,
         share: [PhysicalRange], testMode: Bool) {
        self.id = id
        self.apicID = apicID
        self.coreCount = apicIDs.count
        self.apicIDs = apicIDs
        self.apic = apic
        self.tscHz = tscHz
        self.bootTimestamp = CPU.timestamp()
        self.share = share
        self.testMode = testMode
        links = Array(repeating: nil, count: apicIDs.count)
        failedCores = Array(repeating: false, count: apicIDs.count)
        pongs = Array(repeating: 0, count: apicIDs.count)
        statusReplies = Array(repeating: nil, count: apicIDs.count)
        testReplies = Array(repeating: nil, count: apicIDs.count)
        remoteLines = Array(repeating: [], count: apicIDs.count)
    }

    /// The running core's state; nil only during early boot.
    @inline(__always) static var current: CoreState? {
        guard let raw = CoreBlock.current?.pointee.state else { return nil }
        return Unmanaged<CoreState>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Makes `self` the running core's state (once per core).
    func attach() {
        CoreBlock.current!.pointee.state = Unmanaged.passRetained(self).toOpaque()
    }

    func cycles(milliseconds: UInt64) -> UInt64 { tscHz / 1000 * milliseconds }
}

/// What `cores` and `mem` show about a core, as it reports itself.
struct CoreStatus {
    var apicID: UInt32
    var ticks: UInt64
    var totalFrames: UInt64
    var freeFrames: UInt64
    var heapBytes: UInt64
}

/// A core's answer to `runTests`.
struct TestReport {
    var passed: Int
    var failed: Int
    /// Where this core's block and share are, for core 0's isolation check.
    var blockAddress: UInt64
    var shareStart: UInt64
    var shareEnd: UInt64
}

/// A set of cores, small enough to travel in one message (up to 448 cores).
struct CoreSet: Equatable {
    static let capacity = 7 * 64
    var words: [UInt64] = Array(repeating: 0, count: 7)

    func contains(_ core: CoreID) -> Bool {
        core.rawValue < Self.capacity && words[core.rawValue / 64] & (1 << UInt64(core.rawValue % 64)) != 0
    }
    mutating func insert(_ core: CoreID) {
        guard core.rawValue < Self.capacity else { return }
        words[core.rawValue / 64] |= 1 << UInt64(core.rawValue % 64)
    }
}
