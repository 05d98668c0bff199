// uchan: two domains talk by name, whichever cores they are on (`Connection`: rings
// across cores, endpoints on one core; the program does not care which).
//   serve <name> <count> [sleep | waitset]
//                                 register the name, take one connection, answer
//                                 `count` messages with the same number plus one
//                                 (`sleep`: sleep for every message, never poll;
//                                 `waitset`: a second thread waits on a waitset)
//   talk <name> <count> [bench | wake-bench]
//                                 connect to the name, send 1…count and check every
//                                 answer comes back in order; `bench` polls and prints
//                                 the median round trip as the BENCH line
//                                 cross-core-user-roundtrip, `wake-bench` sleeps for
//                                 every answer (cross-core-user-wake-roundtrip)
//   bench <count> <core>, wake-bench <count> <core>
//                                 start `serve … [sleep]` on that core and `talk … bench`
//                                 (or `wake-bench`) to it from here
//   pairs <count> <core>…         every ordered pair of these cores binds by name and
//                                 exchanges `count` messages each way (a server on one,
//                                 a client on the other), a round of pairs at a time;
//                                 exit 0 if every client and server exited 0
//   local <count>                 the same between two domains on this core
//   waitset <core>                a `serve … waitset` server on that core: 10,000
//                                 messages and answers, in order
//   orphan <core>                 start a server on that core, connect, trade one
//                                 message, kill the server: the next receive must fail
//                                 with peerEnded, not hang
//   deaf <core>                   a server there that never reads (`ignore`): sending
//                                 must fail with peerNotReading once the ring is full
//   vandal <core>                 a server there that writes garbage over the channel's
//                                 page (`scribble`): receiving must fail with corrupt
import SwordfishUser
import UserRuntimeC

func fail(_ text: String) -> Never {
    print("uchan: \(text)")
    exit(1)
}

/// Connects to `name`, waiting up to 20 s for its server to register it.
func connect(to name: String) -> Connection {
    do throws(MonitorStatus) { return try Connection.connect(to: name, waitingUpTo: 50_000_000_000) } catch {
        fail("connect to \(name): \(error)")
    }
}

/// Starts `program arguments` on `core`.
func start(_ arguments: String, on core: Int) -> SystemDomainID {
    do throws(MonitorStatus) { return try Monitor.spawn("uchan", arguments: arguments, on: core) } catch {
        fail("spawn uchan \(arguments) on core \(core): \(error)")
    }
}

/// Waits for `id` (the `role` of a test) to end; it must exit 0.
func awaitSuccess(of id: SystemDomainID, _ role: String) {
    let end: DomainEnd
    do throws(MonitorStatus) { end = try Monitor.awaitEnd(of: id) } catch { fail("await the \(role): \(error)") }
    guard end == .exited(status: 0) else { fail("the \(role) ended \(end)") }
}

/// Sleeps for good: a misbehaving server that must stay alive while its peer is tested.
func sleepForever() -> Never {
    while true { try? SystemCall.wait(until: user_timestamp() &+ 10_000_000_000) }
}

/// Starts a misbehaving `role` server on `core`, connects to it and sends one message.
func misbehavingServer(_ role: String, on core: Int) -> (Connection, SystemDomainID) {
    let name = "\(role)-\(core)"
    let server = start("\(role) \(name)", on: core)
    let connection = connect(to: name)
    do throws(Connection.Failure) { try connection.send([1]) } catch { fail("the first message to \(role): \(error)") }
    return (connection, server)
}

func serve(_ name: String, count: Int, polls: Int) {
    let connection: Connection
    do throws(MonitorStatus) { connection = try Listener(name: name).accept() } catch { fail("serve \(name): \(error)") }
    do throws(Connection.Failure) {
        for _ in 0..<count {
            let words = try connection.receive(polls: polls)
            try connection.send([words[0] + 1])
        }
    } catch {
        fail("serve \(name): \(error)")
    }
}

/// The same from a second thread that waits on a waitset serving the connection.
func serveFromWaitset(_ name: String, count: Int) {
    let connection: Connection
    do throws(MonitorStatus) { connection = try Listener(name: name).accept() } catch { fail("serve \(name): \(error)") }
    let waitset = Waitset()
    waitset.add(connection: connection) { message in
        if let failure = message.failure { fail("serve \(name) from a waitset: \(failure)") }
        do throws(Connection.Failure) { try connection.send([message.words[0] + 1]) } catch { fail("serve \(name): \(error)") }
    }
    let server = Thread.spawn {
        for _ in 0..<count { waitset.dispatch() }
        return count
    }
    guard server.join() == .returned(count) else { fail("serve \(name) from a waitset: the thread did not finish") }
}

/// Connects to `name`, sends 1…count and checks that each comes back plus one. `mode`
/// "bench" polls and "wake-bench" sleeps for every answer, and either prints the round
/// trip's BENCH line.
func talk(to name: String, count: Int, mode: String?) {
    let connection = connect(to: name)
    var samples: [UInt64] = []
    do throws(Connection.Failure) {
        for number in 1...count {
            let sent = user_timestamp()
            try connection.send([UInt64(number)])
            var answer: [UInt64]
            if mode == "bench" {
                repeat { answer = try connection.tryReceive() ?? [] } while answer.isEmpty
            } else {
                answer = try connection.receive(polls: mode == "wake-bench" ? 1 : Connection.polls)
            }
            if mode != nil { samples.append(user_timestamp() &- sent) }
            guard answer[0] == UInt64(number) + 1 else { fail("message \(number) came back as \(answer[0])") }
        }
    } catch {
        fail("talk to \(name): \(error)")
    }
    print("uchan: \(count) messages to \(name) on core \(connection.peer.core) and back, in order")
    if !samples.isEmpty {
        Benchmark.report(mode == "bench" ? "cross-core-user-roundtrip" : "cross-core-user-wake-roundtrip", cycles: samples)
    }
}

let what = arguments.first ?? ""
switch what {
case "serve":
    guard let name = arguments[1], let count = arguments.integer(at: 2), count > 0 else { exit(2) }
    if arguments[3] == "waitset" {
        serveFromWaitset(name, count: count)
    } else {
        serve(name, count: count, polls: arguments[3] == "sleep" ? 1 : Connection.polls)
    }
    print("uchan: answered \(count) messages")
    exit(0)
case "talk":
    guard let name = arguments[1], let count = arguments.integer(at: 2), count > 0 else { exit(2) }
    talk(to: name, count: count, mode: arguments[3])
    exit(0)
case "bench", "wake-bench":
    guard let count = arguments.integer(at: 1), count > 0, let core = arguments.integer(at: 2) else { exit(2) }
    let server = start("serve \(what) \(count)\(what == "wake-bench" ? " sleep" : "")", on: core)
    talk(to: what, count: count, mode: what)
    awaitSuccess(of: server, "server")
    exit(0)
case "pairs", "local":
    guard let count = arguments.integer(at: 1) else { exit(2) }
    if what == "local" {
        let here = Program.identity.core
        let server = start("serve local \(count)", on: here), client = start("talk local \(count)", on: here)
        awaitSuccess(of: server, "server on this core")
        awaitSuccess(of: client, "client on this core")
        exit(0)
    }
    let cores = (2..<arguments.count).compactMap { arguments.integer(at: $0) }
    guard cores.count >= 2 else { fail("pairs needs two cores or more") }
    // Round r pairs every core with the one r places after it: each core is a client
    // once and a server once a round, and every ordered pair comes up exactly once.
    for round in 1..<cores.count {
        var started: [(role: String, id: SystemDomainID)] = []
        for (index, client) in cores.enumerated() {
            let server = cores[(index + round) % cores.count]
            let name = "p\(client)-\(server)"
            started.append(("server \(name) on core \(server)", start("serve \(name) \(count)", on: server)))
            started.append(("client \(name) on core \(client)", start("talk \(name) \(count)", on: client)))
        }
        for (role, id) in started { awaitSuccess(of: id, role) }
    }
    print("uchan: \(cores.count * (cores.count - 1)) ordered pairs of cores exchanged \(count) messages each way")
    exit(0)
case "waitset":
    guard let core = arguments.integer(at: 1) else { exit(2) }
    let name = "waitset-\(core)"
    let server = start("serve \(name) 10000 waitset", on: core)
    talk(to: name, count: 10_000, mode: nil)
    awaitSuccess(of: server, "waitset server")
    print("uchan: a server thread on a waitset answered 10000 messages in order")
    exit(0)
case "orphan":
    guard let core = arguments.integer(at: 1) else { exit(2) }
    let name = "orphan-\(core)"
    let server = start("serve \(name) 1000000", on: core)
    let connection = connect(to: name)
    do throws(Connection.Failure) {
        try connection.send([1])
        _ = try connection.receive()
    } catch {
        fail("the first answer: \(error)")
    }
    do throws(MonitorStatus) { try Monitor.kill(server) } catch { fail("kill: \(error)") }
    do throws(Connection.Failure) {
        while true {
            try connection.send([2])
            guard try connection.receive()[0] == 3 else { fail("a wrong answer after the kill") }
        }
    } catch {
        guard error == .peerEnded else { fail("after the kill: \(error)") }
    }
    print("uchan: the killed server's connection says peerEnded")
    exit(0)
case "deaf", "vandal":
    // A server that never reads must give peerNotReading once the ring is full; one
    // that scribbles over the page, corrupt.
    guard let core = arguments.integer(at: 1) else { exit(2) }
    let deaf = what == "deaf"
    let expected: Connection.Failure = deaf ? .peerNotReading : .corrupt
    let (connection, server) = misbehavingServer(deaf ? "ignore" : "scribble", on: core)
    do throws(Connection.Failure) {
        if deaf {
            for number in 2...1_000 { try connection.send([UInt64(number)]) }
        } else {
            _ = try connection.receive()
        }
        fail("\(what): no error from a misbehaving server")
    } catch {
        guard error == expected else { fail("\(what): \(error), not \(expected)") }
    }
    try? Monitor.kill(server)
    print(deaf ? "uchan: a server that never reads gives peerNotReading" : "uchan: a server that scribbles over the channel gives corrupt")
    exit(0)
case "ignore", "scribble":
    guard let name = arguments[1] else { exit(2) }
    do throws(MonitorStatus) { _ = try Listener(name: name).accept() } catch { fail("\(what) \(name): \(error)") }
    if what == "scribble" {
        // On purpose, over everything the client reads: its ring's slots and
        // acknowledgement line, and both doorbells. The library maps a domain's first
        // channel page at the start of its channel window (2 TiB).
        let page = UnsafeMutablePointer<UInt64>(bitPattern: UInt(4 << 39))!
        for index in 0..<512 { page[index] = 0xDEAD_BEEF_0BAD_F00D &* UInt64(index + 1) }
    }
    sleepForever()
default:
    print("usage: uchan serve|talk|pairs|orphan|deaf|vandal …")
    exit(2)
}
