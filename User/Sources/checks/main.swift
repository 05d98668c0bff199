// checks: the guest checks that need no kernel privilege, run as a user program. The
// kernel's self-tests (Kernel/Sources/CPUDriver/SelfTests.swift) check what only the
// CPU driver can see (its allocators, its capability database, what a stopped domain
// left behind) and then start this program on core 0 with their counts. It starts the
// test programs on any core through the monitors, awaits their ends, prints each
// declared check (`GuestChecks`) as `PASS core 0: <name>` or `FAIL core 0: <name>:
// <reason>`, then the verdict over both, `N passed, M failed`, and powers QEMU off
// through the isa-debug-exit port, which it asks its monitor for like any driver.
//
//   checks <kernel passed> <kernel failed> <knowledge digest> <core>…
//
// The cores are those that run monitors; the last one after core 0 is the peer of the
// checks between two cores (none with one core). The digest is core 0's kernel's
// knowledge base, which every monitor's replica must equal.
import GuestChecks
import SwordfishUser
import UserRuntimeC

guard let kernelPassed = arguments.integer(at: 0), let kernelFailed = arguments.integer(at: 1),
      let digest = arguments.number(at: 2) else {
    print("usage: checks <kernel passed> <kernel failed> <knowledge digest> <core>…")
    exit(2)
}
let cores = (3..<arguments.count).compactMap { arguments.integer(at: $0) }
let peer = cores.last { $0 != 0 }
var tally = TestTally(core: 0)

/// TSC cycles in a second, roughly (a bound on waiting, not a measurement).
let second: UInt64 = 2_000_000_000

/// Starts `program arguments` on `core`; the domain, or why not.
func start(_ program: String, _ arguments: String, on core: Int) -> Result<SystemDomainID, MonitorStatus> {
    do throws(MonitorStatus) { return .success(try Monitor.spawn(program, arguments: arguments, on: core)) } catch {
        return .failure(error)
    }
}

/// How a domain ended, or why that cannot be told.
enum Outcome {
    case ended(DomainEnd)
    case unknown(String)
}

/// How `domain` ended, waiting at most `seconds` (then it is killed, and that is the
/// failure).
func end(of domain: SystemDomainID, within seconds: UInt64 = 60) -> Outcome {
    let deadline = user_timestamp() &+ seconds &* second
    // Poll the replica until the domain is gone, sleeping between looks: awaitEnd alone
    // would wait forever for a program that hangs.
    while (try? Monitor.program(of: domain)) != nil {
        guard user_timestamp() < deadline else {
            try? Monitor.kill(domain)
            return .unknown("\(domain) did not end within \(seconds) s")
        }
        try? SystemCall.wait(until: user_timestamp() &+ second / 100)
    }
    do throws(MonitorStatus) { return .ended(try Monitor.awaitEnd(of: domain)) } catch {
        return .unknown("await \(domain): \(error)")
    }
}

/// Runs `program arguments` on `core` to its end: nil if it ended as `expected`, else
/// what happened.
func run(_ program: String, _ arguments: String, on core: Int = 0, expecting expected: DomainEnd = .exited(status: 0),
         within seconds: UInt64 = 60) -> String? {
    switch start(program, arguments, on: core) {
    case .failure(let error): return "\(program) \(arguments) on core \(core) did not start: \(error)"
    case .success(let domain): return ended(domain, "\(program) \(arguments) on core \(core)", expecting: expected, within: seconds)
    }
}

/// Nil if `domain` ends as `expected`, else what happened.
func ended(_ domain: SystemDomainID, _ what: String, expecting expected: DomainEnd = .exited(status: 0),
           within seconds: UInt64 = 60) -> String? {
    switch end(of: domain, within: seconds) {
    case .unknown(let reason): return "\(what): \(reason)"
    case .ended(let end): return end == expected ? nil : "\(what) \(end), expected \(expected)"
    }
}

/// `names race` on core 0 and on the peer at once: exactly one wins (exit 0), the other
/// hears nameTaken (exit 3).
func nameRace(peer: Int) -> String? {
    var domains: [SystemDomainID] = []
    for core in [0, peer] {
        switch start("names", "race raced-name", on: core) {
        case .success(let domain): domains.append(domain)
        case .failure(let error): return "names race on core \(core) did not start: \(error)"
        }
    }
    var statuses: [Int64] = []
    for domain in domains {
        switch end(of: domain) {
        case .ended(.exited(let status)): statuses.append(status)
        case .ended(.stopped): return "names race \(domain) was stopped"
        case .unknown(let reason): return reason
        }
    }
    return statuses.sorted() == [0, 3] ? nil : "exits \(statuses[0]) on core 0 and \(statuses[1]) on core \(peer), not one 0 and one 3"
}

/// A domain on core 0 holds a name for a few seconds; on the peer it is found, and after
/// the holder ends it is gone.
func nameAcrossCores(peer: Int) -> String? {
    let holder: SystemDomainID
    switch start("names", "hold held-name 3", on: 0) {
    case .success(let domain): holder = domain
    case .failure(let error): return "the holder did not start: \(error)"
    }
    if let failure = run("names", "lookup held-name", on: peer) { return "while held: \(failure)" }
    if let failure = ended(holder, "the holder") { return failure }
    if let failure = run("names", "gone held-name", on: peer) { return "after the holder ended: \(failure)" }
    return nil
}

/// A program on every core runs and its exit status comes back; on the peer, a
/// program that faults is reported stopped.
func spawnAnywhere(peer: Int) -> String? {
    for core in cores {
        if let failure = run("probe", "exit", on: core, expecting: .exited(status: 7)) { return failure }
    }
    return run("probe", "unmapped", on: peer, expecting: .stopped)
}

/// Powers QEMU off through the isa-debug-exit device (port 0xF4): QEMU's exit status is
/// then 1 for a 0 written (success), 3 for a 1.
func powerOff(success: Bool) -> Never {
    let ports = Capability(slot: 6)
    do throws(MonitorStatus) { try Monitor.ioPorts(0xF4, count: 4, into: ports) } catch {
        print("checks: no isa-debug-exit port: \(error)")
        exit(success ? 0 : 1)
    }
    try? ports.write(port: 0xF4, width: .doubleWord, value: success ? 0 : 1)
    exit(success ? 0 : 1)                                // QEMU without the device: just end
}

/// Runs `program arguments` on each of the cores in turn; nil if every run exited 0.
func onEach(_ program: String, _ arguments: String) -> String? {
    for core in cores {
        if let failure = run(program, arguments, on: core) { return failure }
    }
    return nil
}

let coreList = cores.map { String($0) }.joined(separator: " ")
let otherCores = cores.filter { $0 != 0 }.map { String($0) }.joined(separator: " ")
// Every monitor answers every other's ping over their rings, and every replica of the
// domain table (what `ps` prints) has a monitor as every core's first domain.
tally.check(.monitorsAnswer, onEach("monitor-ping", coreList))
tally.check(.monitorOnEveryCore, onEach("names", "monitors " + coreList))
tally.check(.monitorSurvivesRevoke, run("probe", "revoke-monitor") ?? run("names", "monitors 0"))
tally.check(.waitAfterAsk, run("probe", "wait-after-ask"))
tally.check(.sameCoreConnection, run("uchan", "local 10000"))
tally.check(.knowledgeReplicas, onEach("names", "skb-check \(digest)"))
// A device driver in user mode: the RTC's periodic interrupt, through the monitor; a
// driver that ends connected leaves the IRQ free for the next.
tally.check(.userDriver, run("rtc", "abandon", within: 30) ?? run("rtc", "16", within: 30))
tally.check(.memoryService, run("capshare", "memory " + coreList, within: 120))
if let peer {
    tally.check(.nameRace, nameRace(peer: peer))
    tally.check(.nameAcrossCores, nameAcrossCores(peer: peer))
    tally.check(.spawnAnywhere, spawnAnywhere(peer: peer))
    tally.check(.killAnywhere, run("names", "spawn-kill \(peer)"))
    tally.check(.domainStates, run("names", "states 0") ?? run("names", "states \(peer)"))
    tally.check(.userChannels, run("uchan", "pairs 10000 " + coreList, within: 600))
    tally.check(.boundPeerKilled, run("uchan", "orphan \(peer)"))
    tally.check(.connectionInWaitset, run("uchan", "waitset \(peer)"))
    tally.check(.peerNeverReads, run("uchan", "deaf \(peer)"))
    tally.check(.peerWritesGarbage, run("uchan", "vandal \(peer)"))
    tally.check(.frameRevokedEverywhere, run("capshare", "spread " + otherCores, within: 120))
    tally.check(.retypeRace, run("capshare", "race \(peer)"))
    tally.check(.capabilityOnConnection, run("capshare", "carry " + coreList, within: 120))
    tally.check(.domainEndsMidProtocol, run("capshare", "abandon " + otherCores, within: 120))
    tally.check(.spanningThreads, run("span", "threads " + coreList, within: 120))
    tally.check(.spanningFault, run("span", "fault \(peer)"))
    tally.check(.spanningEnd, run("span", "watch \(peer)"))
    tally.check(.parallelWorkload, run("parallel", "check " + coreList, within: 120))
    tally.check(.spanningShootdown, run("span", "unmap " + coreList) ?? run("span", "unmap-untouched " + coreList)
                ?? run("span", "protect " + coreList))
    tally.check(.spanningUnmapCode, run("span", "unmap-code " + coreList))
    tally.check(.spanningKeepsMemory, run("span", "keep \(peer)"))
    tally.check(.spanningLentMemory, run("span", "lent \(peer)"))
}
print("\(kernelPassed + tally.passed) passed, \(kernelFailed + tally.failed) failed")
powerOff(success: kernelFailed + tally.failed == 0)
