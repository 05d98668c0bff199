// Measuring the machine from inside: round trips over the links (for the knowledge
// base's latency matrix) and the channel against a bare cache-line ping-pong (the
// shell's `bench channel`). While a core measures, its peers are asked to stay awake
// and poll, so the numbers are the channel's, not the time to wake a halted core. Each
// request carries a deadline the peer keeps on its own clock, so a measuring core that
// stops before it withdraws the request leaves its peer spinning no longer than that.
import Arch
import Basics
import KernelMessages
import Channel


extension CoreState {
    static let latencyRounds = 8
    /// How long a peer stays awake for one row of the latency matrix: its rounds'
    /// timeouts (1 s each) and then some.
    static let latencyAwakeMilliseconds: UInt32 = 10_000

    /// Median round trip to each core in `cores` over the links. Each peer is asked to
    /// stay awake while it is measured; the first round (which may wake it) is dropped.
    func measureRoundTrips(to cores: CoreSet) -> [(CoreID, UInt64)] {
        var result: [(CoreID, UInt64)] = []
        for core in 0..<coreCount where core != id.rawValue && cores.contains(CoreID(core)) {
            send(.stayAwake(milliseconds: Self.latencyAwakeMilliseconds), to: CoreID(core))
            var samples: [UInt64] = []
            for round in 0...Self.latencyRounds {
                let token = UInt64(id.rawValue) << 40 | UInt64(core) << 20 | UInt64(round + 1)
                guard let cycles = pingRoundTrip(to: CoreID(core), token: token, notify: false) else { break }
                if round > 0 { samples.append(cycles) }
            }
            send(.stayAwake(milliseconds: 0), to: CoreID(core), notify: false)
            if !samples.isEmpty { result.append((CoreID(core), SampleSummary(&samples).median)) }
        }
        return result
    }

    /// On core 0: every core measures its row of the matrix, one core at a time, so
    /// only the measuring core and its current peer are busy (under emulation, idle
    /// cores that spin would steal the host CPUs and distort the numbers). Rows arrive
    /// as `latency` messages into `latencyRows`.
    func gatherLatencyMatrix(live: CoreSet) {
        for (peer, cycles) in measureRoundTrips(to: live) { latencyRows[0][peer.rawValue] = cycles }
        for core in (1..<max(coreCount, 1)) where live.contains(CoreID(core)) {
            send(.measureLatencies(live), to: CoreID(core))
            _ = waitUntil(milliseconds: 5000, halting: true) {
                (0..<coreCount).allSatisfy { $0 == core || !live.contains(CoreID($0)) || latencyRows[core][$0] != 0 }
            }
        }
    }

    /// Channel round trips and cache-line ping-pongs to `peer`, `rounds` each.
    func benchChannel(to peer: CoreID, rounds: Int) -> BenchResult {
        send(.stayAwake(milliseconds: StayAwakeRequests.longestMilliseconds), to: peer)
        var channel: [UInt64] = []
        for round in 0..<rounds {
            let token = 0xBE00_0000_0000 | UInt64(round + 1)
            guard let cycles = pingRoundTrip(to: peer, token: token, notify: round == 0) else { break }
            if round > 0 { channel.append(cycles) }          // the first one woke the peer
        }
        send(.floorEcho(peer: id, rounds: rounds), to: peer, notify: false)
        let mine = Link.floorLine(from: id, to: peer, count: coreCount, area: channelArea)
        let theirs = Link.floorLine(from: peer, to: id, count: coreCount, area: channelArea)
        var floor = CacheLinePingPong.initiate(mine: mine, theirs: theirs, rounds: rounds, clock: CPU.timestamp) ?? []
        send(.stayAwake(milliseconds: 0), to: peer)
        let ok = channel.count == rounds - 1 && floor.count == rounds
        return BenchResult(channel: SampleSummary(&channel), floor: SampleSummary(&floor), ok: ok)
    }

    /// The responder's side of the floor measurement (runs outside message handling).
    func echoFloor(for peer: CoreID, rounds: Int) {
        let mine = Link.floorLine(from: id, to: peer, count: coreCount, area: channelArea)
        let theirs = Link.floorLine(from: peer, to: id, count: coreCount, area: channelArea)
        _ = CacheLinePingPong.respond(mine: mine, theirs: theirs, rounds: rounds)
    }
}
