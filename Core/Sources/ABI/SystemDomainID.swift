// A domain's system-wide id: the core that runs it and its number there (its CPU
// driver's local id). One word wherever it travels (monitor replies, messages between
// monitors, the dispatcher frame), so every side reads it the same way.

public struct SystemDomainID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The local number in bits 0–31, the core in bits 32–47.
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(core: Int, local: UInt32) {
        rawValue = UInt64(local) | UInt64(UInt16(truncatingIfNeeded: core)) << 32
    }

    public var core: Int { Int(rawValue >> 32 & 0xFFFF) }
    public var local: UInt32 { UInt32(truncatingIfNeeded: rawValue) }

    /// `core.local`, as `ps` prints it and `kill` takes it.
    public var description: String { "\(core).\(local)" }
}

/// Whether a domain is using its core or waiting for something, as its CPU driver
/// knows it at the moment it is asked (`ps`'s state column). Only the core that runs a
/// domain knows this, so a monitor asks its kernel (the `domainState` service) and the
/// other monitors ask that monitor.
public enum DomainRunState: UInt64, CaseIterable, Sendable, CustomStringConvertible {
    /// Has the core, or will have it at its next turn.
    case running = 1
    /// Sleeps until a message, a notification or a deadline.
    case sleeping = 2

    public var description: String {
        switch self {
        case .running: return "run"
        case .sleeping: return "sleep"
        }
    }
}
