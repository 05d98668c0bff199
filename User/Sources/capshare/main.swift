// Capabilities across cores, as a domain uses them through its monitor (the guest
// checks of docs/capabilities.md). Exit status 0 means every step answered as it should;
// anything else is printed first.
//
//   capshare spread <core>…   RAM from the memory service, retyped into frames; the
//                             first goes to a `holder` on each core, which maps it and
//                             marks it; then it is revoked from here: a local revoke is
//                             refused (it is shared), the monitors' revoke returns, and
//                             every holder's next touch faults (they must end stopped)
//   capshare holder <index>   receives a frame, maps it, checks the magic word, marks
//                             word 1 + index, then touches it until that faults (exit 4
//                             if it is still mapped after 30 s)
//   capshare race <core>      sends RAM to a `racer` on that core and both retype it at
//                             once: exactly one must succeed
//   capshare racer            receives RAM and retypes it: exit 0 if it got the frames,
//                             5 if refused with hasDescendants
//   capshare exhaust          allocates from the memory services (this core's, then the
//                             others' lent) until it says outOfMemory, frees everything,
//                             checks that this core's free figure is back where it
//                             started, and exits 1000 + the count
//   capshare memory <core>…   runs `exhaust` on each core in turn: every run must get the
//                             same count, more than one core's pool when there are others
//   capshare carry <core>…   a frame sent on a connection to a `carried` client on each
//                             core (same core: the kernel carries it; another core: the
//                             monitors do); each maps it, checks the magic word and marks
//                             it, which this side then sees; across cores a capability
//                             the monitors do not carry is refused and the connection
//                             goes on
//   capshare carried <index>  connects, takes the frame off the first message, marks
//                             word 1 + index (asking for copies nobody sent gets none),
//                             answers; the second message carries none
//   capshare abandon <core>…  a `quitter` on this core asks for a send and a revoke and
//                             ends before either is answered: the revoke still takes
//                             every holder's mapping, the memory service gets its piece
//                             back, and every piece can be retyped again (nothing locked)
//   capshare quitter <domain>…
//                             RAM retyped into frames, the first sent to each holder
//                             domain; once all marked it, posts a send and a revoke and
//                             exits at once
//   capshare bench <rounds> <core>
//                             the BENCH line cross-core-cap-transfer: a frame sent to an
//                             `echo <domain> <rounds>` on that core and back
//   capshare revoke-bench <rounds> <core>…
//                             the BENCH line revoke-remote-copies: RAM retyped into one
//                             frame per listed core, each sent to a `sleep` there, then
//                             revoked from here
import SwordfishUser
import UserRuntimeC

let second: UInt64 = 2_000_000_000
let magic: UInt64 = 0x5357_4F52_4446_4953                       // "SWORDFIS"
/// Where a frame is mapped: the 2 MiB at 2.5 TiB (PML4 entry 5), its tables in root
/// slots 8–10.
let window: UInt64 = 5 << 39

func fail(_ why: String) -> Never {
    print("capshare: \(why)")
    exit(1)
}

func mapped(_ frame: Capability) -> UnsafeMutablePointer<UInt64> {
    do throws(InvocationStatus) {
        let table = try makePageTable(from: .ram, into: 8, pml4Entry: 5)
        try table.map(frame, at: 0, rights: [.read, .write])
    } catch {
        fail("map: \(error)")
    }
    return UnsafeMutablePointer<UInt64>(bitPattern: UInt(window))!
}

/// `body`'s answer, as a status (success when it did not throw).
func status(_ body: () throws(MonitorStatus) -> Void) -> MonitorStatus {
    do throws(MonitorStatus) { try body() } catch { return error }
    return .success
}

func spawn(_ arguments: String, on core: Int) -> SystemDomainID {
    do throws(MonitorStatus) { return try Monitor.spawn("capshare", arguments: arguments, on: core) } catch {
        fail("spawn capshare \(arguments) on core \(core): \(error)")
    }
}

func awaitEnd(_ domain: SystemDomainID) -> DomainEnd {
    do throws(MonitorStatus) { return try Monitor.awaitEnd(of: domain) } catch { fail("await \(domain): \(error)") }
}

/// RAM from this core's memory service, retyped by the monitor into `count` frames in
/// root slots 21….
func frames(_ count: Int) -> (ram: Capability, frames: [Capability]) {
    let ram = Capability(slot: 20)
    let frames = (0..<count).map { Capability(slot: 21 + UInt32($0)) }
    do throws(MonitorStatus) {
        _ = try Monitor.allocate(MemoryService.pieceBytes, into: ram)
        try Monitor.retype(ram, into: frames)
    } catch {
        fail("allocate and retype: \(error)")
    }
    return (ram, frames)
}

/// A `holder` on each core, the `index`th marking word 1 + index.
func spawnHolders(on cores: [Int]) -> [SystemDomainID] {
    cores.enumerated().map { spawn("holder \($0.offset)", on: $0.element) }
}

/// RAM from the memory service retyped into 16 frames; the first, with the magic word,
/// goes to every holder, and this returns once each has mapped and marked it.
func shareFirstFrame(with holders: [SystemDomainID]) -> (ram: Capability, frames: [Capability]) {
    let made = frames(16)
    let words = mapped(made.frames[0])
    words[0] = magic
    for holder in holders {
        if case let refused = status({ () throws(MonitorStatus) in try Monitor.send(made.frames[0], to: holder) }), refused != .success {
            fail("send to \(holder): \(refused)")
        }
    }
    let deadline = user_timestamp() &+ 30 &* second
    while (0..<holders.count).contains(where: { words[1 + $0] != 1 }) {
        guard user_timestamp() < deadline else { fail("not every holder marked the frame") }
        try? SystemCall.wait(until: user_timestamp() &+ second / 100)
    }
    return made
}

/// Each holder must end stopped: a revoke took its mapping, and its next touch faulted.
func awaitStopped(_ holders: [SystemDomainID]) {
    for holder in holders {
        let end = awaitEnd(holder)
        guard end == .stopped else { fail("holder \(holder) \(end), expected stopped (its mapping should be gone)") }
    }
}

func spread(to cores: [Int]) -> Never {
    let holders = spawnHolders(on: cores)
    let frame = shareFirstFrame(with: holders).frames[0]
    // Shared across cores: only the monitors may revoke it.
    do throws(InvocationStatus) { _ = try frame.revoke(); fail("a local revoke of a shared frame went through") } catch {
        guard error == .sharedAcrossCores else { fail("local revoke: \(error), expected sharedAcrossCores") }
    }
    if case let refused = status({ () throws(MonitorStatus) in try Monitor.revoke(frame) }), refused != .success {
        fail("revoke: \(refused)")
    }
    guard frame.type == .frame else { fail("the revoke did not leave this domain its copy") }
    awaitStopped(holders)
    print("capshare: a frame mapped on \(cores.count) other cores, revoked from here: every mapping gone")
    exit(0)
}

func hold(index: Int) -> Never {
    let frame = Capability(slot: 20)
    if case let refused = status({ () throws(MonitorStatus) in _ = try Monitor.receiveCapability(into: frame) }), refused != .success {
        fail("receive: \(refused)")
    }
    let words = mapped(frame)
    guard words[0] == magic else { fail("holder \(index): the frame does not hold the magic word") }
    words[1 + index] = 1
    // Touch it until the revoke takes the mapping away: the fault stops this domain.
    let deadline = user_timestamp() &+ 30 &* second
    while user_timestamp() < deadline {
        guard words[0] == magic else { fail("holder \(index): the frame changed") }
        try? SystemCall.wait(until: user_timestamp() &+ second / 1000)
    }
    print("capshare: holder \(index): the frame is still mapped 30 s on")
    exit(4)
}

func race(with core: Int) -> Never {
    let ram = Capability(slot: 20)
    do throws(MonitorStatus) { _ = try Monitor.allocate(MemoryService.pieceBytes, into: ram) } catch { fail("allocate: \(error)") }
    let racer = spawn("racer", on: core)
    if case let refused = status({ () throws(MonitorStatus) in try Monitor.send(ram, to: racer) }), refused != .success {
        fail("send: \(refused)")
    }
    let mine = status { () throws(MonitorStatus) in try Monitor.retype(ram, into: (21..<37).map { Capability(slot: $0) }) }
    let theirs = awaitEnd(racer)
    let mineWon = mine == .success, theirsWon = theirs == .exited(status: 0)
    guard mine == .success || mine == .hasDescendants else { fail("retype here: \(mine)") }
    guard theirsWon || theirs == .exited(status: 5) else { fail("the racer \(theirs)") }
    guard mineWon != theirsWon else { fail("both retypes \(mineWon ? "succeeded" : "failed")") }
    // Give it back: every copy and descendant on every core goes.
    if case let refused = status({ () throws(MonitorStatus) in try Monitor.free(ram) }), refused != .success { fail("free: \(refused)") }
    print("capshare: RAM retyped here and on core \(core) at once: \(mineWon ? "this core's" : "core \(core)'s") retype won")
    exit(0)
}

func racer() -> Never {
    let ram = Capability(slot: 20)
    if case let refused = status({ () throws(MonitorStatus) in _ = try Monitor.receiveCapability(into: ram) }), refused != .success {
        fail("racer: receive: \(refused)")
    }
    // Its own retype of RAM shared across cores is refused: only the monitors retype it.
    do throws(InvocationStatus) { _ = try ram.retype(to: .frame, size: 4096, into: Capability(slot: 21)); fail("racer: a local retype went through") } catch {
        guard error == .sharedAcrossCores else { fail("racer: local retype: \(error), expected sharedAcrossCores") }
    }
    switch status({ () throws(MonitorStatus) in try Monitor.retype(ram, into: (21..<37).map { Capability(slot: $0) }) }) {
    case .success: exit(0)
    case .hasDescendants: exit(5)
    case let other: fail("racer: retype: \(other)")
    }
}

func exhaust() -> Never {
    let before: (free: UInt64, total: UInt64)
    do throws(MonitorStatus) { before = try Monitor.memoryStatus() } catch { fail("status: \(error)") }
    guard before.free > 0, before.free == before.total else { fail("the memory service starts with \(before.free) of \(before.total) bytes free") }
    // The first piece becomes a CNode of 1024 slots for the rest (more than every
    // core's pool holds): this domain's own RAM is too small for one.
    let first = Capability(slot: 21), cnode = Capability(slot: 20)
    do throws(MonitorStatus) { _ = try Monitor.allocate(MemoryService.pieceBytes, into: first) } catch { fail("allocate: \(error)") }
    do throws(InvocationStatus) { try first.retype(to: .cnode, size: 1024, into: cnode) } catch { fail("cnode: \(error)") }
    var held: [Capability] = []
    while true {
        let next = Capability(.leaf(20, UInt32(held.count)))
        let answer = status { () throws(MonitorStatus) in _ = try Monitor.allocate(MemoryService.pieceBytes, into: next) }
        if answer == .outOfMemory { break }
        guard answer == .success else { fail("allocate: \(answer)") }
        held.append(next)
        guard held.count < 1024 else { fail("the memory services never ran out") }
    }
    guard UInt64(held.count + 1) * MemoryService.pieceBytes >= before.free else {
        fail("\(held.count + 1) pieces, fewer than the \(before.free / MemoryService.pieceBytes) free here")
    }
    for piece in held + [first] {
        if case let refused = status({ () throws(MonitorStatus) in try Monitor.free(piece) }), refused != .success { fail("free: \(refused)") }
    }
    do throws(MonitorStatus) {
        let after = try Monitor.memoryStatus()
        guard after.free == before.free, after.total == before.total else {
            fail("free \(after.free) of \(after.total) bytes after, \(before.free) of \(before.total) before")
        }
    } catch {
        fail("status: \(error)")
    }
    // The count, as the exit status (above 1000, apart from a failure's).
    exit(1000 + held.count + 1)
}

/// `exhaust` on each core in turn: each must get every piece of every core's service
/// (its own, then the others' lent), the same count each time, so none leaked anywhere.
func exhaustEverywhere(_ cores: [Int]) -> Never {
    var counts: [Int] = []
    for core in cores {
        guard case .exited(let status) = awaitEnd(spawn("exhaust", on: core)), status > 1000 else { fail("exhaust on core \(core) failed") }
        counts.append(Int(status) - 1000)
    }
    guard let first = counts.first, counts.allSatisfy({ $0 == first }) else { fail("the counts differ: \(counts)") }
    guard cores.count == 1 || UInt64(first) * MemoryService.pieceBytes > MemoryService.poolBytes else {
        fail("\(first) pieces: nothing was lent by another core")
    }
    print("capshare: \(cores.count) cores, each exhausted every core's memory service (\(first) pieces) and gave it back")
    exit(0)
}

/// The name `carry` listens on.
let carryName = "capshare-carry"

func carry(to cores: [Int]) -> Never {
    let listener: Listener
    do throws(MonitorStatus) { listener = try Listener(name: carryName) } catch { fail("listen: \(error)") }
    let (_, made) = frames(16)
    let frame = made[0]
    let words = mapped(frame)
    words[0] = magic
    for (index, core) in cores.enumerated() {
        let client = spawn("carried \(index)", on: core)
        let connection: Connection
        do throws(MonitorStatus) { connection = try listener.accept() } catch { fail("accept: \(error)") }
        do throws(Connection.Failure) {
            if core != Program.identity.core {
                // This domain's own RAM is not one the monitors carry: refused, and the
                // connection goes on.
                do throws(Connection.Failure) {
                    try connection.send([0, 0, 0], carrying: .ram)
                    fail("own RAM went to core \(core)")
                } catch .capabilityNotSent(.noSuchCapability) {}
            }
            try connection.send([1, UInt64(index), 0], carrying: frame)
            guard try connection.receive() == [2, UInt64(index), 0] else { fail("a wrong answer from core \(core)") }
            guard words[1 + index] == 1 else { fail("the client on core \(core) did not mark the frame") }
            try connection.send([3, 0, 0])
        } catch {
            fail("connection to core \(core): \(error)")
        }
        guard case .exited(0) = awaitEnd(client) else { fail("the client on core \(core) failed") }
        // Its place goes to the next (a domain maps a handful of connections at once).
        connection.close()
        do throws(Connection.Failure) { try connection.send([0]); fail("a closed connection sent") } catch {
            guard error == .closed else { fail("a closed connection: \(error), expected closed") }
        }
    }
    print("capshare: a frame sent on a connection to \(cores.count) cores, mapped and marked by each")
    exit(0)
}

func carried(index: Int) -> Never {
    let connection: Connection
    do throws(MonitorStatus) { connection = try Connection.connect(to: carryName) } catch { fail("carried: connect: \(error)") }
    let frame = Capability(slot: 20)
    do throws(Connection.Failure) {
        let first = try connection.receive(capabilityInto: frame)
        guard first.words == [1, UInt64(index), 0], first.carriedCapability, frame.type == .frame else {
            fail("carried: the first message (word 0 \(first.words[0])) came \(first.carriedCapability ? "with" : "without") a frame")
        }
        let words = mapped(frame)
        guard words[0] == magic else { fail("carried: the frame does not hold the magic word") }
        words[1 + index] = 1
        // A copy nobody sent, or of an object the monitors do not carry: none comes.
        for forged in [MonitorRequest.receiveCopy(type: .frame, base: 0x1000, size: 4096),
                       .receiveCopy(type: .endpoint, base: 0, size: 0)] {
            let answer = status { () throws(MonitorStatus) in _ = try Monitor.ask(forged, capabilityDestination: Capability(slot: 31)) }
            guard answer == .noSuchCapability, Capability(slot: 31).type == .null else { fail("carried: a forged receiveCopy answered \(answer)") }
        }
        try connection.send([2, UInt64(index), 0])
        let second = try connection.receive(capabilityInto: Capability(slot: 30))
        guard second.words == [3, 0, 0], !second.carriedCapability, Capability(slot: 30).type == .null else {
            fail("carried: the second message (word 0 \(second.words[0])) came \(second.carriedCapability ? "with" : "without") a capability")
        }
    } catch {
        fail("carried: \(error)")
    }
    exit(0)
}

/// A domain that ends in the middle of protocols it asked for: nothing may stay locked
/// or lent, and what it asked for completes or aborts.
func abandon(on cores: [Int]) -> Never {
    // The service whole to begin with (what earlier programs freed may still be on its
    // way back), and whole again at the end.
    func awaitWholeService(_ why: String) -> UInt64 {
        let deadline = user_timestamp() &+ 10 &* second
        while true {
            if let status = try? Monitor.memoryStatus(), status.free == status.total { return status.total }
            guard user_timestamp() < deadline else { fail(why) }
            try? SystemCall.wait(until: user_timestamp() &+ second / 100)
        }
    }
    let total = awaitWholeService("the memory service is not whole to begin with")
    let holders = spawnHolders(on: cores)
    let quitter = spawn("quitter " + holders.map { "\($0)" }.joined(separator: " "), on: Program.identity.core)
    guard case .exited(0) = awaitEnd(quitter) else { fail("the quitter failed") }
    awaitStopped(holders)
    // The quitter's piece comes back once the monitors finish with it.
    _ = awaitWholeService("the memory service did not get the quitter's piece back")
    // Every piece, held at once, takes a retype again: none is left mid-protocol.
    let pieces = (0..<UInt32(total / MemoryService.pieceBytes)).map { Capability(slot: 20 + $0) }
    let frame = Capability(slot: 37)
    guard pieces.count <= 16 else { fail("\(pieces.count) pieces: more than the slots this check has") }
    for piece in pieces {
        do throws(MonitorStatus) {
            _ = try Monitor.allocate(MemoryService.pieceBytes, into: piece)
            try Monitor.retype(piece, into: [frame])
        } catch {
            fail("a piece after the quitter: \(error)")
        }
        _ = try? frame.delete()
    }
    for piece in pieces {
        do throws(MonitorStatus) { try Monitor.free(piece) } catch { fail("free: \(error)") }
    }
    print("capshare: a domain that ended mid-send and mid-revoke left nothing locked on \(cores.count) cores")
    exit(0)
}

func quit(holders: [SystemDomainID]) -> Never {
    let (ram, made) = shareFirstFrame(with: holders)
    // Asked, not awaited: this domain is gone before the monitors answer.
    do throws(MonitorStatus) {
        if let first = holders.first { try Monitor.post(.sendCapability(domain: first.rawValue), carrying: made[1]) }
        try Monitor.post(.revokeCapability, carrying: ram)
    } catch {
        fail("quitter: post: \(error)")
    }
    exit(0)
}

/// Prints the BENCH line of `samples` (TSC cycles) for the host tool.
/// cross-core-cap-transfer: a frame to an `echo` on `core`, which sends it straight
/// back; one sample is the round trip, both receives included.
func transferBench(rounds: Int, with core: Int) -> Never {
    let (_, made) = frames(1)
    let echo = spawn("echo \(Program.identity) \(rounds + rounds / 10 + 1)", on: core)
    let back = Capability(slot: 40)
    var samples: [UInt64] = []
    for round in 0..<(rounds + rounds / 10 + 1) {
        let start = user_timestamp()
        do throws(MonitorStatus) {
            try Monitor.send(made[0], to: echo)
            _ = try Monitor.receiveCapability(into: back)
        } catch {
            print("BENCH name=cross-core-cap-transfer unsupported reason=\(error)")
            exit(1)
        }
        if round > rounds / 10 { samples.append(user_timestamp() &- start) }
        _ = try? back.delete()
    }
    Benchmark.report("cross-core-cap-transfer", cycles: samples)
    _ = awaitEnd(echo)
    exit(0)
}

/// The other end of `transferBench`: sends each capability that comes back to `origin`.
func echo(to origin: SystemDomainID, rounds: Int) -> Never {
    let got = Capability(slot: 20)
    for _ in 0..<rounds {
        do throws(MonitorStatus) {
            _ = try Monitor.receiveCapability(into: got)
            try Monitor.send(got, to: origin)
        } catch {
            fail("echo: \(error)")
        }
        _ = try? got.delete()
    }
    exit(0)
}

/// revoke-remote-copies: RAM retyped into one frame per core, each sent to a domain on
/// its core; one sample is the revoke of the RAM from here (the frames' copies on every
/// core, and the frames here, go).
func revokeBench(rounds: Int, cores: [Int]) -> Never {
    let ram = Capability(slot: 20)
    do throws(MonitorStatus) { _ = try Monitor.allocate(MemoryService.pieceBytes, into: ram) } catch { fail("allocate: \(error)") }
    let holders = cores.map { spawn("sleep", on: $0) }
    let count = 1 << (64 - UInt64(holders.count).leadingZeroBitCount)      // a power of two ≥ the holders
    var samples: [UInt64] = []
    for round in 0..<(rounds + rounds / 10 + 1) {
        let frames = (0..<count).map { Capability(slot: 21 + UInt32($0)) }
        do throws(MonitorStatus) {
            try Monitor.retype(ram, into: frames)
            for (index, holder) in holders.enumerated() { try Monitor.send(frames[index], to: holder) }
        } catch {
            print("BENCH name=revoke-remote-copies unsupported reason=\(error)")
            exit(1)
        }
        let start = user_timestamp()
        if case let refused = status({ () throws(MonitorStatus) in try Monitor.revoke(ram) }), refused != .success {
            print("BENCH name=revoke-remote-copies unsupported reason=\(refused)")
            exit(1)
        }
        if round > rounds / 10 { samples.append(user_timestamp() &- start) }
    }
    Benchmark.report("revoke-remote-copies", cycles: samples)
    for holder in holders { try? Monitor.kill(holder) }
    exit(0)
}

switch arguments[0] {
case "spread"?: spread(to: (1..<arguments.count).compactMap { arguments.integer(at: $0) })
case "holder"?: hold(index: arguments.integer(at: 1) ?? 0)
case "race"?: race(with: arguments.integer(at: 1) ?? 1)
case "carry"?: carry(to: (1..<arguments.count).compactMap { arguments.integer(at: $0) })
case "carried"?: carried(index: arguments.integer(at: 1) ?? 0)
case "abandon"?: abandon(on: (1..<arguments.count).compactMap { arguments.integer(at: $0) })
case "quitter"?: quit(holders: (1..<arguments.count).compactMap { arguments.domain(at: $0) })
case "racer"?: racer()
case "exhaust"?: exhaust()
case "bench"?: transferBench(rounds: arguments.integer(at: 1) ?? 200, with: arguments.integer(at: 2) ?? 1)
case "echo"?: echo(to: arguments.domain(at: 1) ?? SystemDomainID(rawValue: 0), rounds: arguments.integer(at: 2) ?? 0)
case "revoke-bench"?: revokeBench(rounds: arguments.integer(at: 1) ?? 200, cores: (2..<arguments.count).compactMap { arguments.integer(at: $0) })
case "sleep"?:
    while true { try? SystemCall.wait(until: user_timestamp() &+ 100 &* second) }
case "memory"?: exhaustEverywhere((1..<arguments.count).compactMap { arguments.integer(at: $0) })
default:
    print("usage: capshare spread <core>… | holder <index> | race <core> | racer | carry <core>… | carried <index> | abandon <core>… | quitter <domain>… | exhaust | memory <core>… | bench <rounds> <core> | echo <domain> <rounds> | revoke-bench <rounds> <core>… | sleep")
    exit(2)
}
