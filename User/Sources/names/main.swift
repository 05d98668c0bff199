// names: the monitors' name service and remote spawn and kill, from a domain.
//   race <name>            register the name and hold it a while: exit 0 if this domain
//                          won it, 3 if another domain held it (nameTaken)
//   hold <name> <seconds>  register the name with an endpoint and keep it that long
//   lookup <name>          until found (within 5 s): exit 0, or 4 if it never was
//   gone <name>            until no domain holds the name (within 5 s): exit 0, or 4
//   spawn <core> <program> [words…]
//                          start a program on a core: exit 0 once it started
//   spawn-kill <core>      start `threads forever` on a core and kill it from here
//   ps, list               print every domain, every name (the shell's `ps`, `names`)
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
        print("names: started \(program) on core \(id >> 32) as domain \(id >> 32).\(id & 0xFFFF_FFFF)")
        exit(0)
    } catch {
        print("names: spawn \(program) on core \(core): \(error)")
        exit(1)
    }
case "spawn-kill":
    guard let core = arguments.integer(at: 1) else { exit(2) }
    do throws(MonitorStatus) {
        let id = try Monitor.spawn("threads", arguments: "forever", on: core)
        try Monitor.kill(id)
        print("names: started and killed domain \(id & 0xFFFF_FFFF) on core \(id >> 32)")
        exit(0)
    } catch {
        print("names: spawn-kill on core \(core): \(error)")
        exit(1)
    }
case "ps", "list":
    do throws(MonitorStatus) { _ = try Monitor.ask(what == "ps" ? .printDomains : .printNames) } catch {
        print("names: \(error)")
        exit(1)
    }
    exit(0)
case "kill":
    let parts = (arguments[1] ?? "").split(separator: ".")
    guard parts.count == 2, let core = UInt64(parts[0]), let local = UInt64(parts[1]) else {
        print("usage: kill <core>.<domain>")
        exit(2)
    }
    do throws(MonitorStatus) { try Monitor.kill(core << 32 | local) } catch {
        print("names: kill \(core).\(local): \(error)")
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
