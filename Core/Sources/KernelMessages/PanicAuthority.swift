// Who may stop another core. Kernels share nothing, so a core cannot look into another
// core's capability database to see who asked; what it can trust is its link (only the
// sending core's CPU driver writes that ring) and that CPU driver's own records. The
// authority to stop a core is the kernel capability: a CPU driver sends a
// `panicRequest` only from the kernel capability's `command` service (the shell's
// `panic <core>`), and records a single-use ticket for that invocation here
// (`PanicGrants`). The target does not obey the request itself: it answers with a
// `panicCheck` carrying the ticket, and faults only when the requester's CPU driver
// confirms (`panicConfirm`) that it holds an unexpired grant with that ticket for that
// target (`PanicChallenges`). A request that no kernel-capability invocation granted (a
// stray message, a replay, a garbled one, one for another core) is refused and counted.

/// On the requesting core: tickets granted by kernel-capability invocations.
public struct PanicGrants: Sendable {
    /// Grants outstanding at once; a new one beyond this replaces the oldest.
    public static let limit = 8

    struct Grant: Sendable {
        var target: Int
        var ticket: UInt64
        var expires: UInt64
    }

    var grants: [Grant] = []
    var counter: UInt64

    /// `seed` makes tickets differ between boots and cores (any value will do).
    public init(seed: UInt64) { counter = seed }

    /// Records that a kernel-capability invocation asked to stop `target`; the ticket
    /// (never 0) to send with the request, valid until `now + lifetime`.
    public mutating func grant(target: Int, now: UInt64, lifetime: UInt64) -> UInt64 {
        counter = counter &+ 0x9E37_79B9_7F4A_7C15
        var ticket = counter ^ (counter >> 29) ^ now
        if ticket == 0 { ticket = 1 }
        if grants.count == Self.limit { grants.removeFirst() }
        grants.append(Grant(target: target, ticket: ticket, expires: now &+ lifetime))
        return ticket
    }

    /// Whether `target` may act on `ticket`: true once, for an unexpired grant made for
    /// that target; the grant is used up.
    public mutating func confirm(ticket: UInt64, from target: Int, now: UInt64) -> Bool {
        grants.removeAll { now >= $0.expires }
        guard let index = grants.firstIndex(where: { $0.ticket == ticket && $0.target == target }) else { return false }
        grants.remove(at: index)
        return true
    }

    public var outstanding: Int { grants.count }
}

/// On the target core: requests waiting for their requester's confirmation.
public struct PanicChallenges: Sendable {
    /// One request per source core at a time (a new one replaces the old).
    var pending: [(ticket: UInt64, expires: UInt64)?]
    /// Requests and confirmations refused (no grant behind them).
    public private(set) var refused = 0

    public init(coreCount: Int) {
        pending = Array(repeating: nil, count: max(coreCount, 0))
    }

    /// A `panicRequest` from `source`: true if the target should ask `source` to
    /// confirm it (a `panicCheck`); false (counted) for a malformed one.
    public mutating func requested(ticket: UInt64, by source: Int, now: UInt64, lifetime: UInt64) -> Bool {
        guard ticket != 0, pending.indices.contains(source) else {
            refused += 1
            return false
        }
        pending[source] = (ticket, now &+ lifetime)
        return true
    }

    /// A `panicConfirm` from `source`: true only if it confirms the request `source`
    /// itself made, unexpired; that request is used up either way. False is counted.
    public mutating func confirmed(ticket: UInt64, by source: Int, now: UInt64) -> Bool {
        guard pending.indices.contains(source), let request = pending[source], request.ticket == ticket, now < request.expires else {
            refused += 1
            return false
        }
        pending[source] = nil
        return true
    }

    /// A requester that has no grant for the ticket says so (or never answers): the
    /// request is refused.
    public mutating func denied(ticket: UInt64, by source: Int) {
        if pending.indices.contains(source), pending[source]?.ticket == ticket { pending[source] = nil }
        refused += 1
    }
}
