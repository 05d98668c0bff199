// Guest checks that one core, or one domain, cannot cost the others without end: a
// request to stop a core that no kernel-capability invocation granted is refused; a core
// that answers after its start-up timeout stays in INIT; a domain's capabilities in
// flight stop at its own quota and leave room for the others. (The bounds on queues and
// the stay-awake deadlines are portable policies, tested on the host in Core.)
import Arch
import Basics
import KernelMessages
import GuestChecks
import BootInfo

extension SelfTests {
    /// What every core checks on itself.
    static func localBoundaries(_ state: CoreState, _ tally: inout TestTally) {
        guard let program = state.bootImage?.program(named: Array("lmp".utf8)) else {
            return tally.check(.lmpPresent, "not in the boot image")
        }
        let hog = state.runPair(program, "hog", "hog-peer", bothWays: true)
        tally.check(.inFlightQuota, exited(0, hog.first) ?? exited(0, hog.second))
    }

    /// What core 0 checks once every core is up and tested.
    static func bootstrapBoundaries(_ state: CoreState, live: CoreSet, _ tally: inout TestTally) {
        let peers = (1..<max(state.coreCount, 1)).filter { live.contains(CoreID($0)) }
        if let peer = peers.first { tally.check(.outboxBounded, outboxBounded(state, peer: peer)) }
        if !peers.isEmpty { tally.check(.stopNeedsKernelCapability, ungrantedStopRefused(state, peers: peers)) }
        if let late = state.lateCore { tally.check(.lateCoreStaysInINIT, lateCoreStayedDown(state, late)) }
    }

    /// Core 0 sends `peer` more than its ring and outbox hold without polling in
    /// between: the outbox stops at its capacity and counts the rest as dropped, and
    /// what it holds still goes out once core 0 polls again.
    static func outboxBounded(_ state: CoreState, peer: Int) -> String? {
        let extra = 100
        let before = state.links[peer]!.outbox.dropped
        for token in 0..<(Link.slots + Link.outboxCapacity + extra) {
            state.send(.pong(token: UInt64(token)), to: CoreID(peer), notify: false)
        }
        let queued = state.links[peer]!.outbox.count
        let dropped = state.links[peer]!.outbox.dropped - before
        guard queued <= Link.outboxCapacity else { return "the outbox holds \(queued) messages, more than \(Link.outboxCapacity)" }
        guard dropped >= extra else { return "\(dropped) messages counted as dropped, expected at least \(extra)" }
        guard state.waitUntil(milliseconds: 10_000, { state.links[peer]!.outbox.isEmpty }) else {
            return "the outbox did not drain"
        }
        return state.pingRoundTrip(to: CoreID(peer), token: 0x0B0B) != nil ? nil : "core \(peer) stopped answering"
    }

    /// Core 0 asks each peer to stop with a ticket it never granted, and sends a
    /// confirmation nobody asked for: each peer must check with core 0, be told no,
    /// count both as refused (its status's `dropped`) and go on answering.
    static func ungrantedStopRefused(_ state: CoreState, peers: [Int]) -> String? {
        for peer in peers {
            guard let before = KernelCommands(state: state).collectStatus()[peer] else { return "core \(peer) did not report its status" }
            let ticket = 0x5700_0000 | UInt64(peer)
            state.send(.panicRequest(ticket: ticket), to: CoreID(peer))
            state.send(.panicAnswer(ticket: ticket ^ 1, granted: true), to: CoreID(peer))
            _ = state.waitUntil(milliseconds: 100) { false }
            guard state.pingRoundTrip(to: CoreID(peer), token: 0x5700_0000_0000 | UInt64(peer)) != nil else {
                return "core \(peer) stopped on a request no kernel-capability invocation granted"
            }
            guard let after = KernelCommands(state: state).collectStatus()[peer] else {
                return "core \(peer) did not report its status afterwards"
            }
            guard after.dropped >= before.dropped + 2 else {
                return "core \(peer) counted \(after.dropped - before.dropped) refusals, expected 2"
            }
        }
        return nil
    }

    /// The core told to answer late (`skip-core`) must never have run: well after it
    /// would have answered, its hand-off still says it is not alive.
    static func lateCoreStayedDown(_ state: CoreState, _ late: (core: Int, handoff: UnsafeMutablePointer<BootHandoff>, startedAt: UInt64)) -> String? {
        let after = late.startedAt + state.cycles(milliseconds: 2 * BootHandoff.lateMilliseconds)
        _ = state.waitUntil(milliseconds: 2 * BootHandoff.lateMilliseconds) { CPU.timestamp() > after }
        let alive = Volatile.load(UnsafePointer(UnsafeMutableRawPointer(late.handoff).advanced(by: MemoryLayout<BootHandoff>.offset(of: \BootHandoff.alive)!)
            .assumingMemoryBound(to: UInt64.self)))
        return alive == 0 ? nil : "core \(late.core) came up \(BootHandoff.lateMilliseconds) ms late: it was not put back into INIT"
    }
}
