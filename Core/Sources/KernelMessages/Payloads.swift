// The structured payloads of kernel messages.
import Channel

/// What `cores` and `mem` show about a core, as it reports itself.
public struct CoreStatus: Equatable, Sendable {
    public var apicID: UInt32
    public var ticks: UInt64
    public var totalFrames: UInt64
    public var freeFrames: UInt64
    public var heapBytes: UInt64
    /// User domains on the core (init among them).
    public var domains: UInt64
    /// Messages and work the core dropped at a bound (full outboxes, full deferred
    /// work, forgotten records) and stop requests it refused.
    public var dropped: UInt64

    public init(apicID: UInt32, ticks: UInt64, totalFrames: UInt64, freeFrames: UInt64, heapBytes: UInt64, domains: UInt64,
                dropped: UInt64 = 0) {
        self.apicID = apicID; self.ticks = ticks; self.totalFrames = totalFrames
        self.freeFrames = freeFrames; self.heapBytes = heapBytes; self.domains = domains; self.dropped = dropped
    }
}

/// A core's answer to `runTests`.
public struct TestReport: Equatable, Sendable {
    public var passed: Int
    public var failed: Int
    /// Where this core's block and share are, for core 0's isolation check.
    public var blockAddress: UInt64
    public var shareStart: UInt64
    public var shareEnd: UInt64

    public init(passed: Int, failed: Int, blockAddress: UInt64, shareStart: UInt64, shareEnd: UInt64) {
        self.passed = passed; self.failed = failed; self.blockAddress = blockAddress
        self.shareStart = shareStart; self.shareEnd = shareEnd
    }
}

/// A channel measurement against the cache-line floor.
public struct BenchResult: Equatable, Sendable {
    public var channel: SampleSummary
    public var floor: SampleSummary
    public var ok: Bool

    public init(channel: SampleSummary, floor: SampleSummary, ok: Bool) {
        self.channel = channel; self.floor = floor; self.ok = ok
    }
}

