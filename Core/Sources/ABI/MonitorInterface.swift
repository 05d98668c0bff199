// What a domain asks its core's monitor, and what comes back: same-core messages of
// three words on the monitor's service endpoint (`InitialSlot.monitor`), each request
// carrying the endpoint the answer goes to. Declared once here for the user library
// (which sends requests) and the monitor (which answers them).
//
//     word 0: the request's kind | its id << 8 (the id comes back in the answer)
//     words 1, 2: its arguments
//
// An answer: word 0 the status | the id << 8, words 1 and 2 its values.

/// A request to the monitor.
public enum MonitorRequest: Equatable, Sendable {
    /// Is core `core`'s monitor there? Its own monitor asks it over their ring.
    case ping(core: Int)

    enum Kind: UInt64 { case ping = 1 }

    /// The three words of request `id`.
    public func words(id: UInt32) -> (UInt64, UInt64, UInt64) {
        switch self {
        case .ping(let core): return (Kind.ping.rawValue | UInt64(id) << 8, UInt64(truncatingIfNeeded: core), 0)
        }
    }

    /// The request in `words`, and its id; nil if it is not one (the monitor answers
    /// `unknownRequest`).
    public static func decode(_ words: [UInt64]) -> (request: MonitorRequest, id: UInt32)? {
        guard words.count == MessageLayout.words, let kind = Kind(rawValue: words[0] & 0xFF) else { return nil }
        let id = UInt32(truncatingIfNeeded: words[0] >> 8)
        switch kind {
        case .ping:
            guard words[1] <= UInt64(Int.max) else { return nil }
            return (.ping(core: Int(words[1])), id)
        }
    }
}

/// How the monitor answered.
public enum MonitorStatus: UInt64, Sendable, Error, CustomStringConvertible {
    case success = 0
    /// The request's words make no request.
    case unknownRequest
    /// It names a core the machine does not have, or whose monitor has no ring.
    case noSuchCore
    /// Another monitor did not answer within the monitor's bound.
    case timedOut
    /// The monitor has too many requests in flight; ask again later.
    case busy
    /// This domain holds no endpoint of a monitor (the monitor itself, or a core
    /// without one): said by the user library, never by a monitor.
    case noMonitor

    public var description: String {
        switch self {
        case .success: return "success"
        case .unknownRequest: return "unknownRequest"
        case .noSuchCore: return "noSuchCore"
        case .timedOut: return "timedOut"
        case .busy: return "busy"
        case .noMonitor: return "noMonitor"
        }
    }
}

/// An answer from the monitor.
public struct MonitorAnswer: Equatable, Sendable {
    public var status: MonitorStatus
    public var id: UInt32
    public var values: (UInt64, UInt64)

    public init(status: MonitorStatus, id: UInt32, values: (UInt64, UInt64) = (0, 0)) {
        self.status = status
        self.id = id
        self.values = values
    }

    public var words: (UInt64, UInt64, UInt64) { (status.rawValue | UInt64(id) << 8, values.0, values.1) }

    /// The answer in `words`; nil if it is not one.
    public init?(words: [UInt64]) {
        guard words.count == MessageLayout.words, let status = MonitorStatus(rawValue: words[0] & 0xFF) else { return nil }
        self.init(status: status, id: UInt32(truncatingIfNeeded: words[0] >> 8), values: (words[1], words[2]))
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.status == b.status && a.id == b.id && a.values.0 == b.values.0 && a.values.1 == b.values.1
    }
}
