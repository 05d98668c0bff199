// names: the monitors' name service and remote spawn and kill, from a domain.
//   race <name>            register the name and hold it a while: exit 0 if this domain
//                          won it, 3 if another domain held it (nameTaken)
//   hold <name> <seconds>  register the name with an endpoint and keep it that long
//   lookup <name>          until found (within 5 s): exit 0, or 4 if it never was
//   gone <name>            until no domain holds the name (within 5 s): exit 0, or 4
//   spawn <core> <program> [words…]
//                          start a program on a core: exit 0 once it started
//   spawn-kill <core>      start `threads forever` on a core and kill it from here
//   spawn-wait <core> <program> [words…]
//                          start a program on a core and wait for its end: exit with
//                          its status (1 if it was stopped)
//   spawn-bench <core> <rounds>
//                          start `names nothing` on a core and await its end, `rounds`
//                          times: the BENCH line spawn-remote
//   monitors <core>…       every one of these cores runs a monitor as its first domain,
//                          as this core's replica of the domain table (what `ps` lists)
//                          says: exit 0, or 5 naming the first core without one
//   refusals               a spawn on core 99, of a program not in the boot image or
//                          with arguments too long, a kill and an await of a domain
//                          that does not run, a lookup of a name nobody holds: each
//                          must be refused with its own status (exit 0), else exit 6
//   states <core>          start `names spin` and `names sleep` on a core: the monitors
//                          must report the first running and the second sleeping (within
//                          5 s), and a domain that does not run as noSuchDomain (exit 0),
//                          else exit 7; both are killed
//   spin, sleep            use the core forever, or sleep forever
//   nothing                exit 0 at once
//   ps, list               print every domain, every name (the shell's `ps`, `names`)
//   counters               print what this core's monitor counted and dropped
//   kill <core>.<domain>   stop a domain on any core (the shell's `kill`)
//   skb                    print this core's monitor's replica of the knowledge base
//   skb-check <digest>     exit 0 if this core's monitor's replica has that digest
//                          (within 5 s), 1 if it differs, 4 if none arrived
import SwordfishUser
import UserRuntimeC

/// Spins (yielding) for `seconds` of TSC time at the rate the kernel calibrated
/// roughly: a wait, not a measurement.
func pause(seconds: UInt64) {
    let start = user_timestamp()
    while user_timestamp() &- start < seconds &* 2_000_000_000 { yield() }
}

/// Asks `body` until it gives an answer other than `retry`, for up to five seconds.
func within5s(_ body: () -> Bool) -> Bool {
    let start = user_timestamp()
    while user_timestamp() &- start < 10_000_000_000 {
        if body() { return true }
        yield()
    }
    return false
}

let what = arguments.first ?? ""
switch what {
case "race":
    guard let name = arguments[1] else { exit(2) }
    do throws(MonitorStatus) {
        try Monitor.register(name)
    } catch {
        print("names: \(name): \(error)")
        exit(error == .nameTaken ? 3 : 1)
    }
    print("names: \(name) is this domain's")
    pause(seconds: 2)                                    // the other racer asks meanwhile
    exit(0)
case "hold":
    guard let name = arguments[1], let seconds = arguments.number(at: 2) else { exit(2) }
    let endpoint = Capability(slot: 2)
    do throws(MonitorStatus) {
        do throws(InvocationStatus) { try Capability.ram.retype(to: .endpoint, into: endpoint) } catch { exit(1) }
        try Monitor.register(name, endpoint: endpoint)
    } catch {
        print("names: \(name): \(error)")
        exit(1)
    }
    print("names: holding \(name)")
    pause(seconds: seconds)
    exit(0)
case "lookup", "gone":
    guard let name = arguments[1] else { exit(2) }
    let wanted = what == "lookup"
    let settled = within5s {
        do throws(MonitorStatus) {
            _ = try Monitor.lookup(name)
            return wanted
        } catch {
            return !wanted && error == .noSuchName
        }
    }
    print("names: \(name) \(settled == wanted ? "is held" : "is not held")")
    exit(settled ? 0 : 4)
case "spawn":
    guard let core = arguments.integer(at: 1), let program = arguments[2] else { exit(2) }
    do throws(MonitorStatus) {
        let id = try Monitor.spawn(program, arguments: arguments.rest(from: 3), on: core)
        print("names: started \(program) on core \(id.core) as domain \(id)")
        exit(0)
    } catch {
        print("names: spawn \(program) on core \(core): \(error)")
        exit(1)
    }
case "spawn-wait":
    guard let core = arguments.integer(at: 1), let program = arguments[2] else { exit(2) }
    do throws(MonitorStatus) {
        let id = try Monitor.spawn(program, arguments: arguments.rest(from: 3), on: core)
        let end = try Monitor.awaitEnd(of: id)
        print("names: \(program) (\(id)) ended: \(end)")
        guard case .exited(let status) = end else { exit(1) }
        exit(Int(status))
    } catch {
        print("names: spawn-wait \(program) on core \(core): \(error)")
        exit(1)
    }
case "spawn-bench":
    guard let core = arguments.integer(at: 1), let rounds = arguments.integer(at: 2), rounds > 0 else { exit(2) }
    var samples: [UInt64] = [], spawns: [UInt64] = []
    for round in 0..<(rounds + rounds / 10 + 1) {
        let start = user_timestamp()
        do throws(MonitorStatus) {
            let id = try Monitor.spawn("names", arguments: "nothing", on: core)
            if round > rounds / 10 { spawns.append(user_timestamp() &- start) }
            let end = try Monitor.awaitEnd(of: id)
            guard end == .exited(status: 0) else {
                print("BENCH name=spawn-remote unsupported reason=the program ended \(end)")
                exit(1)
            }
        } catch {
            print("BENCH name=spawn-remote unsupported reason=\(error)")
            exit(1)
        }
        if round > rounds / 10 { samples.append(user_timestamp() &- start) }
    }
    samples.sort()
    spawns.sort()
    print("names: until the spawn's answer, median \(spawns[spawns.count / 2]) cycles; to the end, \(samples[samples.count / 2])")
    print("BENCH name=spawn-remote unit=cycles median=\(samples[samples.count / 2]) p99=\(samples[samples.count * 99 / 100]) samples=\(samples.count)")
    exit(0)
case "nothing":
    exit(0)
case "spin":
    while true {}
case "sleep":
    // With nothing to receive, only a deadline gives the wait something to wait for.
    while true { try? SystemCall.wait(until: user_timestamp() &+ 1 << 40) }
case "states":
    guard let core = arguments.integer(at: 1) else { exit(2) }
    var started: [SystemDomainID] = []
    func finish(_ status: Int, _ message: String) -> Never {
        for domain in started { try? Monitor.kill(domain) }
        print("names: states on core \(core): \(message)")
        exit(status)
    }
    do throws(MonitorStatus) {
        started.append(try Monitor.spawn("names", arguments: "spin", on: core))
        started.append(try Monitor.spawn("names", arguments: "sleep", on: core))
    } catch {
        finish(7, "spawn: \(error)")
    }
    let expected: [DomainRunState] = [.running, .sleeping]
    var last: [DomainRunState?] = [nil, nil]
    let settled = within5s {
        for (index, domain) in started.enumerated() { last[index] = try? Monitor.state(of: domain) }
        return last[0] == expected[0] && last[1] == expected[1]
    }
    guard settled else {
        finish(7, "spinner \(last[0].map { $0.description } ?? "unknown"), sleeper \(last[1].map { $0.description } ?? "unknown")")
    }
    let nobody = SystemDomainID(core: core, local: 999_999)
    do throws(MonitorStatus) {
        let state = try Monitor.state(of: nobody)
        finish(7, "\(nobody) reported as \(state)")
    } catch {
        guard error == .noSuchDomain else { finish(7, "\(nobody): \(error), not noSuchDomain") }
    }
    finish(0, "the spinner runs and the sleeper sleeps")
case "refusals":
    let nobody = SystemDomainID(core: 0, local: 999_999)
    let cases: [(what: String, expected: MonitorStatus, ask: () throws(MonitorStatus) -> Void)] = [
        ("spawn on core 99", .noSuchCore, { () throws(MonitorStatus) in _ = try Monitor.spawn("hello", on: 99) }),
        ("spawn no-such-program", .noSuchProgram, { () throws(MonitorStatus) in _ = try Monitor.spawn("no-such-program", on: 0) }),
        ("spawn with 300 bytes of arguments", .argumentsTooLong, { () throws(MonitorStatus) in
            _ = try Monitor.spawn("hello", arguments: String(repeating: "a", count: 300), on: 0)
        }),
        ("kill \(nobody)", .noSuchDomain, { () throws(MonitorStatus) in try Monitor.kill(nobody) }),
        ("await \(nobody)", .noSuchDomain, { () throws(MonitorStatus) in _ = try Monitor.awaitEnd(of: nobody) }),
        ("lookup nobody-has-this", .noSuchName, { () throws(MonitorStatus) in _ = try Monitor.lookup("nobody-has-this") }),
    ]
    for (what, expected, ask) in cases {
        do throws(MonitorStatus) {
            try ask()
            print("names: \(what) was not refused")
            exit(6)
        } catch {
            guard error == expected else {
                print("names: \(what) was refused with \(error), not \(expected)")
                exit(6)
            }
        }
    }
    print("names: every bad request was refused with its status")
    exit(0)
case "monitors":
    for core in (1..<arguments.count).compactMap({ arguments.integer(at: $0) }) {
        let first = SystemDomainID(core: core, local: 1)
        let program: String
        do throws(MonitorStatus) { program = try Monitor.program(of: first) } catch {
            print("names: core \(core): no domain \(first): \(error)")
            exit(5)
        }
        guard program == "monitor" else {
            print("names: core \(core): domain \(first) runs \(program), not monitor")
            exit(5)
        }
    }
    print("names: a monitor runs on every core asked about")
    exit(0)
case "spawn-kill":
    guard let core = arguments.integer(at: 1) else { exit(2) }
    do throws(MonitorStatus) {
        let id = try Monitor.spawn("threads", arguments: "forever", on: core)
        try Monitor.kill(id)
        print("names: started and killed domain \(id.local) on core \(id.core)")
        exit(0)
    } catch {
        print("names: spawn-kill on core \(core): \(error)")
        exit(1)
    }
case "ps", "list", "counters":
    do throws(MonitorStatus) { _ = try Monitor.ask(what == "ps" ? .printDomains : what == "list" ? .printNames : .printCounters) } catch {
        print("names: \(error)")
        exit(1)
    }
    exit(0)
case "kill":
    guard let domain = arguments.domain(at: 1) else {
        print("usage: kill <core>.<domain>")
        exit(2)
    }
    do throws(MonitorStatus) { try Monitor.kill(domain) } catch {
        print("names: kill \(domain): \(error)")
        exit(1)
    }
    exit(0)
case "skb":
    do throws(MonitorStatus) { _ = try Monitor.ask(.printKnowledge) } catch {
        print("names: \(error)")
        exit(1)
    }
    exit(0)
case "skb-check":
    guard let expected = arguments.number(at: 1) else { exit(2) }
    var replica: (digest: UInt64, generation: UInt64)? = nil
    _ = within5s {
        replica = try? Monitor.knowledgeDigest()
        return replica != nil
    }
    guard let replica else {
        print("names: this core's monitor has no replica of the knowledge base")
        exit(4)
    }
    guard replica.digest == expected else {
        print("names: replica digest \(replica.digest) (generation \(replica.generation)), core 0's kernel has \(expected)")
        exit(1)
    }
    print("names: the knowledge base replica (generation \(replica.generation)) is core 0's")
    exit(0)
default:
    print("usage: names race <name> | hold <name> <seconds> | lookup <name> | gone <name> | spawn <core> <program> [words…] | spawn-kill <core> | ps | list | kill <core>.<domain> | skb | skb-check <digest>")
    exit(2)
}
