// Who has asked this core to poll without halting, and until when. A core measuring
// round trips asks its peer to stay awake so that the figures are the channel's, not
// the time to wake a halted core. Each request is the requester's own and ends at a
// deadline on this core's clock, so a requester that dies before it says "rest again"
// costs its peer at most one deadline of spinning, never forever, and one requester's
// "rest" never cancels another's request.

public struct StayAwakeRequests: Sendable {
    /// The longest a request may ask for, in milliseconds (longer ones do not decode).
    public static let longestMilliseconds: UInt32 = 60_000

    /// Each core's deadline (this core's time stamp counter), nil when it asks nothing.
    private var deadlines: [UInt64?]

    public init(coreCount: Int) {
        deadlines = Array(repeating: nil, count: max(coreCount, 0))
    }

    /// `core` asks this core to stay awake until `deadline`, or (nil) no longer.
    public mutating func request(from core: Int, until deadline: UInt64?) {
        guard deadlines.indices.contains(core) else { return }
        deadlines[core] = deadline
    }

    /// Whether any request is still in force at `now`; requests past their deadline
    /// are forgotten.
    public mutating func isAwake(now: UInt64) -> Bool {
        var awake = false
        for core in deadlines.indices {
            guard let deadline = deadlines[core] else { continue }
            if now < deadline { awake = true } else { deadlines[core] = nil }
        }
        return awake
    }

    /// The cores whose requests are in force (for reports and tests).
    public var requesters: [Int] { deadlines.indices.filter { deadlines[$0] != nil } }
}
