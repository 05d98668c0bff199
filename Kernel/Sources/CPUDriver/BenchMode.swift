// `bench` on the kernel command line: measure what Swordfish can do today and print
// one line per operation for the host tool, which sets them beside the same operations
// on Linux booted under the same QEMU line (`swordfish bench`). Rows that need parts
// not built yet say so instead of being left out.
//
//   BENCH name=<row> unit=cycles median=<n> p99=<n> samples=<n>
//   BENCH name=<row> unsupported reason=<words>
//   BENCH done
import Arch
import Basics
import KernelMessages
import Channel
import BootInfo

enum BenchMode {
    static func run(on state: CoreState, quick: Bool) -> Never {
        let rounds = quick ? 200 : 5000
        let peer = CoreID(1)
        if state.coreCount > 1 && !state.failedCores[1] {
            let result = state.benchChannel(to: peer, rounds: rounds)
            if result.ok {
                report("cacheline-floor", result.floor, samples: rounds)
                report("cross-core-roundtrip", result.channel, samples: rounds - 1)
            } else {
                unsupported("cacheline-floor", "core 1 stopped answering")
                unsupported("cross-core-roundtrip", "core 1 stopped answering")
            }
            if let wake = wakeRoundTrips(state, peer: peer, rounds: quick ? 50 : 500) {
                report("ipi-roundtrip", wake, samples: quick ? 50 : 500)
            }
            if let multicast = multicastRoundTrips(state, rounds: quick ? 20 : 200) {
                report("multicast-roundtrip", multicast, samples: quick ? 20 : 200)
            }
        } else {
            for row: StaticString in ["cacheline-floor", "cross-core-roundtrip", "ipi-roundtrip", "multicast-roundtrip"] {
                unsupported(row, "one core")
            }
        }
        runUserBenchmarks(state, quick: quick)
        userChannelRoundTrip(state, rounds: quick ? 200 : 5000, sleeping: false)
        userChannelRoundTrip(state, rounds: quick ? 100 : 1000, sleeping: true)
        remoteSpawn(state, rounds: quick ? 20 : 200)
        capabilityRows(state, rounds: quick ? 20 : 200)
        shootdownRows(state, rounds: quick ? 20 : 200)
        parallelMultiply(state, rounds: quick ? 3 : 20)
        loopback(state, quick: quick)
        print("BENCH done")
        Machine.exit(success: true)
    }

    /// The user-mode rows come from the `ubench` program, which prints its own lines.
    static func runUserBenchmarks(_ state: CoreState, quick: Bool) {
        guard let program = state.bootImage?.program(named: Array("ubench".utf8)),
              let domain = try? state.spawn(program, arguments: quick ? Array("quick".utf8) : []) else {
            unsupported("null-syscall", "no boot image with ubench")
            unsupported("null-invocation", "no boot image with ubench")
            unsupported("map-unmap-page", "no boot image with ubench")
            return
        }
        state.runDomains(milliseconds: 60_000) { !state.domains.contains { $0 === domain } }
        // Two domains of the lmp program ping-pong over endpoints; ping prints the line.
        guard let lmp = state.bootImage?.program(named: Array("lmp".utf8)),
              case .exited(0)? = state.runPair(lmp, "pong", quick ? "ping 200" : "ping 2000", bothWays: true).second else {
            unsupported("same-core-roundtrip", "the lmp ping-pong did not complete")
            return
        }
    }

    /// Two user domains, the server on core 1 and the client here, over the connection
    /// the monitors bind them with (a page of rings): `uchan bench` starts the server
    /// through the monitors, is the client and prints the line. `sleeping`: both sleep
    /// for every message (cross-core-user-wake-roundtrip), else both poll
    /// (cross-core-user-roundtrip).
    static func userChannelRoundTrip(_ state: CoreState, rounds: Int, sleeping: Bool) {
        let row: StaticString = sleeping ? "cross-core-user-wake-roundtrip" : "cross-core-user-roundtrip"
        guard state.coreCount > 1, !state.failedCores[1] else { return unsupported(row, "one core") }
        guard case .exited(0)? = SelfTests.runHere(state, "uchan", "\(sleeping ? "wake-bench" : "bench") \(rounds) 1",
                                                   milliseconds: 120_000) else {
            return unsupported(row, "the uchan pair did not complete")
        }
    }

    /// `loopback bench`: lwIP in a domain here and one on core 1, Ethernet frames over a
    /// channel between them; TCP and UDP through both stacks. The program prints the
    /// lines, in MB/s and packets/s from the counter rate it is given.
    static func loopback(_ state: CoreState, quick: Bool) {
        guard state.coreCount > 1, !state.failedCores[1] else {
            unsupported("tcp-loopback-stream", "one core")
            return unsupported("udp-loopback-packets", "one core")
        }
        guard case .exited(0)? = SelfTests.runHere(state, "loopback", "bench 1 \(state.tscHz)\(quick ? " quick" : "")",
                                                   milliseconds: 300_000) else {
            unsupported("tcp-loopback-stream", "loopback bench did not complete")
            return unsupported("udp-loopback-packets", "loopback bench did not complete")
        }
    }

    /// `names spawn-bench`: a domain here starts a program on core 1 through the
    /// monitors and awaits its end; it prints the line.
    static func remoteSpawn(_ state: CoreState, rounds: Int) {
        guard state.coreCount > 1, !state.failedCores[1] else { return unsupported("spawn-remote", "one core") }
        guard case .exited(0)? = SelfTests.runHere(state, "names", "spawn-bench 1 \(rounds)", milliseconds: 120_000) else {
            return unsupported("spawn-remote", "names spawn-bench did not complete")
        }
    }

    /// `span unmap-bench` and `span protect-bench`: a domain spanning every core unmaps
    /// (write-protects) a page its threads on the other cores read, with the monitors'
    /// shootdown; the program prints the lines.
    static func shootdownRows(_ state: CoreState, rounds: Int) {
        let cores = (0..<state.coreCount).filter { !state.failedCores[$0] }
        let list = cores.map { String($0) }.joined(separator: " ")
        for (row, mode): (StaticString, String) in [("unmap-shared-page", "unmap-bench"), ("mprotect-shared-page", "protect-bench")] {
            guard cores.count > 1 else {
                unsupported(row, "one core")
                continue
            }
            if case .exited(0)? = SelfTests.runHere(state, "span", "\(mode) \(rounds) " + list, milliseconds: 120_000) {} else {
                unsupported(row, "span did not complete")
            }
        }
    }

    /// `parallel bench`: the blocked matrix multiply over a thread on every core of a
    /// spanning domain (on one core, one thread); it prints the line.
    static func parallelMultiply(_ state: CoreState, rounds: Int) {
        let list = (0..<state.coreCount).filter { !state.failedCores[$0] }.map { String($0) }.joined(separator: " ")
        guard case .exited(0)? = SelfTests.runHere(state, "parallel", "bench \(rounds) " + list, milliseconds: 300_000) else {
            return unsupported("parallel-matmul", "parallel bench did not complete")
        }
    }

    /// `capshare bench` and `capshare revoke-bench`: a frame capability to core 1 and
    /// back through the monitors, and a revoke of RAM whose frames every other core
    /// holds; the program prints the lines.
    static func capabilityRows(_ state: CoreState, rounds: Int) {
        guard state.coreCount > 1, !state.failedCores[1] else {
            unsupported("cross-core-cap-transfer", "one core")
            return unsupported("revoke-remote-copies", "one core")
        }
        if case .exited(0)? = SelfTests.runHere(state, "capshare", "bench \(rounds) 1", milliseconds: 120_000) {} else {
            unsupported("cross-core-cap-transfer", "capshare bench did not complete")
        }
        let others = (1..<state.coreCount).filter { !state.failedCores[$0] }.map { String($0) }.joined(separator: " ")
        if case .exited(0)? = SelfTests.runHere(state, "capshare", "revoke-bench \(rounds) " + others, milliseconds: 120_000) {} else {
            unsupported("revoke-remote-copies", "capshare revoke-bench did not complete")
        }
    }

    /// A message to a halted core, which the notify IPI wakes, and its answer.
    static func wakeRoundTrips(_ state: CoreState, peer: CoreID, rounds: Int) -> SampleSummary? {
        var samples: [UInt64] = []
        for round in 0..<rounds {
            // Give the peer time to go back to sleep first.
            _ = state.waitUntil(milliseconds: 2) { false }
            let start = CPU.timestamp()
            state.send(.ping(token: 0x1F1_0000 | UInt64(round), wake: false), to: peer, notify: true)
            guard state.waitUntil(milliseconds: 1000, { state.pongs[peer.rawValue] == 0x1F1_0000 | UInt64(round) }) else { return nil }
            samples.append(CPU.timestamp() - start)
        }
        return SampleSummary(&samples)
    }

    static func multicastRoundTrips(_ state: CoreState, rounds: Int) -> SampleSummary? {
        var samples: [UInt64] = []
        for round in 0..<rounds {
            guard let result = state.multicastOnce(id: 0xB000_0000 + UInt64(round)) else { return nil }
            samples.append(result.cycles)
        }
        return SampleSummary(&samples)
    }

    static func report(_ name: StaticString, _ summary: SampleSummary, samples: Int) {
        print("BENCH name=\(name) unit=cycles median=\(summary.median) p99=\(summary.p99) samples=\(samples)")
    }

    static func unsupported(_ name: StaticString, _ reason: StaticString) {
        print("BENCH name=\(name) unsupported reason=\(reason)")
    }
}
