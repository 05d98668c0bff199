// loopback: IP loopback across cores, as the paper's: two domains, each with its own
// lwIP and address, whose Ethernet frames a channel carries (Link.swift).
//   check <core> [MiB] [datagrams]  start a peer on that core; TCP moves MiB (64) to it
//                                   and its checksum must match at both ends; then
//                                   `datagrams` (10,000) UDP datagrams of 1,000 bytes
//                                   come back from it with their contents checked
//   bench <core> <TSC Hz> [quick]   the BENCH lines tcp-loopback-stream (MB/s, 64 KiB
//                                   writes) and udp-loopback-packets (packets/s)
//   vandal <core>                   a peer there sets the link up, then sends frames of
//                                   random bytes and garbage messages: lwIP drops the
//                                   frames, the garbage drops the link, and this side
//                                   goes on (its stack still runs) and ends cleanly
//   deaf <core>                     a peer there sets the link up, then never reads: this
//                                   side's sends give up after their patience, drop the
//                                   link, and it goes on
//   peer <name> serve|sink|vandal|deaf
//                                   the peer's side (started by the above; `sink` echoes
//                                   no datagrams)
import SwordfishUser
import UserRuntimeC
import FrameLink
import FrameChannel
import LwIP

let clientAddress: UInt32 = 0x0A00_0001   // 10.0.0.1
let serverAddress: UInt32 = 0x0A00_0002   // 10.0.0.2
let tcpPort: UInt16 = 5001
let udpPort: UInt16 = 5002
/// How long any step may take before the run fails, in counter cycles (tens of seconds).
let stepCycles: UInt64 = 200_000_000_000

func fail(_ text: String) -> Never {
    print("loopback: \(text)")
    exit(1)
}

func dotted(_ address: UInt32) -> String {
    "\(address >> 24).\(address >> 16 & 0xFF).\(address >> 8 & 0xFF).\(address & 0xFF)"
}

/// Connects to `name`, waiting up to 20 s for its server to register it.
func connect(to name: String) -> Connection {
    do throws(MonitorStatus) { return try Connection.connect(to: name, waitingUpTo: 50_000_000_000) } catch {
        fail("connect to \(name): \(error)")
    }
}

/// Sets the link up on `connection` and starts lwIP on it at `address`.
func startStack(on connection: Connection, at address: UInt32) -> ChannelLink {
    let link: ChannelLink
    do throws(LinkSetupError) {
        link = try ChannelLink(connection, at: linkPlace(), deliver: { frame, length in swordfish_loop_queue(frame, length) == 0 },
                               room: { Int(swordfish_loop_queue_room()) })
    } catch {
        fail("setting up the link: \(error.what)")
    }
    // lwIP's own output is replaced at once by the ring's (attach).
    let unused: swordfish_lwip_sender = { _, _ in }
    let mac: [UInt8] = [0x02, 0, 0, 0, 0, UInt8(address & 0xFF)]
    mac.withUnsafeBufferPointer { swordfish_lwip_start($0.baseAddress, address, 0xFFFF_FF00, 0, unused) }
    LwIPOverChannel.attach(link)
    return link
}

/// One turn of the loop: the peer's frames into lwIP, lwIP's timers, this side's frames out.
func step(_ link: ChannelLink) {
    link.pump()
    swordfish_loop_deliver()
    swordfish_lwip_poll()
    link.flush()
}

/// Turns the loop until `done`; fails after `stepCycles` or if the link drops.
func run(_ link: ChannelLink, until what: String, _ done: () -> Bool) {
    let deadline = user_timestamp() &+ stepCycles
    while !done() {
        step(link)
        if let failure = link.failure { fail("the link dropped while waiting for \(what): \(failure)") }
        guard user_timestamp() < deadline else { fail("no \(what) came") }
    }
}

/// Resolves the peer's Ethernet address through lwIP's ARP.
func resolve(_ link: ChannelLink, _ address: UInt32) {
    var asked: UInt64 = 0
    run(link, until: "ARP answer from \(dotted(address))") {
        if swordfish_loop_resolved(address) != 0 { return true }
        if user_timestamp() &- asked > 100_000_000 {
            swordfish_loop_resolve(address)
            asked = user_timestamp()
        }
        return false
    }
}

/// Sends `bytes` over TCP to the peer; the counter cycles from connection to answer.
func tcpStream(_ link: ChannelLink, bytes: UInt64) -> UInt64 {
    guard swordfish_loop_tcp_send(serverAddress, tcpPort, bytes) == 0 else { fail("lwIP refused to connect") }
    run(link, until: "the TCP receiver's answer") { swordfish_loop_tcp_state() != 0 }
    let end = user_timestamp()
    let state = swordfish_loop_tcp_state()
    guard state == 1 else {
        fail("TCP ended with \(state) after \(swordfish_loop_tcp_sent()) bytes; the receiver counted \(swordfish_loop_tcp_answer_bytes())")
    }
    return end &- swordfish_loop_tcp_connected_at()
}

/// The receiver's counts of good and bad datagrams, asked for until they come.
func udpAnswer(_ link: ChannelLink) -> (good: UInt32, bad: UInt32) {
    // Asked first, so an answer from before does not count.
    _ = swordfish_loop_udp_ask()
    var asked = user_timestamp()
    var good: UInt32 = 0, bad: UInt32 = 0
    run(link, until: "the UDP receiver's counts") {
        if swordfish_loop_udp_answer(&good, &bad) != 0 { return true }
        if user_timestamp() &- asked > 200_000_000 {
            _ = swordfish_loop_udp_ask()
            asked = user_timestamp()
        }
        return false
    }
    return (good, bad)
}

/// Starts `loopback peer <name> <role>` on `core` and connects to it.
func startPeer(_ role: String, on core: Int) -> (SystemDomainID, Connection) {
    let name = "loop-\(role)-\(core)"
    let id: SystemDomainID
    do throws(MonitorStatus) { id = try Monitor.spawn("loopback", arguments: "peer \(name) \(role)", on: core) } catch {
        fail("spawn the peer on core \(core): \(error)")
    }
    return (id, connect(to: name))
}

/// Tells the peer it is done and waits for it to exit 0.
func finish(_ link: ChannelLink, peer: SystemDomainID) {
    link.close()
    let end: DomainEnd
    do throws(MonitorStatus) { end = try Monitor.awaitEnd(of: peer) } catch { fail("await the peer: \(error)") }
    guard end == .exited(status: 0) else { fail("the peer ended \(end)") }
}

// MARK: The peer

/// The peer's side: serves TCP and UDP until told the link is done.
func servePeer(_ name: String, role: String) -> Never {
    let connection: Connection
    do throws(MonitorStatus) { connection = try Listener(name: name).accept() } catch { fail("serve \(name): \(error)") }
    let link = startStack(on: connection, at: serverAddress)
    if role == "vandal" { vandalize(link) }
    if role == "deaf" {
        // Never reads again: the other side's sends must give up, not wait for ever.
        while true { try? SystemCall.wait(until: user_timestamp() &+ 10_000_000_000) }
    }
    guard swordfish_loop_tcp_listen(tcpPort) == 0, swordfish_loop_udp_serve(udpPort, role == "sink" ? 0 : 1) == 0 else { fail("lwIP refused to listen") }
    while !link.peerClosed {
        step(link)
        if let failure = link.failure { fail("peer: the link dropped: \(failure)") }
        if !link.peerClosed && !link.isBusy { yield() }
    }
    if swordfish_loop_tcp_receiver_failures() != 0 { fail("peer: \(swordfish_loop_tcp_receiver_failures()) TCP connections failed") }
    exit(0)
}

/// What a vandal peer does once the link is up: frames of random bytes with correct
/// descriptors (lwIP must throw them away), then a message no correct peer sends. It
/// then waits to be killed.
func vandalize(_ link: ChannelLink) -> Never {
    var seed: UInt64 = 0x5EED_0BAD_F00D_CAFE ^ user_timestamp()
    func next() -> UInt64 {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
        return seed
    }
    for _ in 0..<200 {
        let length = Int(next() % UInt64(FrameRing.maximumFrame)) + 1
        var frame = [UInt8](repeating: 0, count: length)
        for index in 0..<length { frame[index] = UInt8(truncatingIfNeeded: next()) }
        // Half of them look like IPv4 over Ethernet, so lwIP reads further.
        if length > 14, next() & 1 == 0 { frame[12] = 0x08; frame[13] = 0 }
        _ = frame.withUnsafeBytes { link.transmit($0.baseAddress!, length) }
        step(link)
    }
    link.flush()
    // Then garbage: a message of no kind, frames too long, a release from the future.
    for words: [UInt64] in [[0x77, next(), next()], [1 | 1 << 8, 60_000, 0], [2, 1 << 50, 0]] { link.post(words) }
    link.flush()
    while true { try? SystemCall.wait(until: user_timestamp() &+ 10_000_000_000) }
}

extension ChannelLink {
    /// Whether frames or messages wait to go.
    var isBusy: Bool { !outbox.isEmpty || !batch.isEmpty || swordfish_loop_queue_room() < SWORDFISH_LOOP_QUEUE }
}

// MARK: The modes

let what = arguments.first ?? ""
switch what {
case "peer":
    guard let name = arguments[1], let role = arguments[2] else { exit(2) }
    servePeer(name, role: role)
case "check":
    guard let core = arguments.integer(at: 1) else { exit(2) }
    let mebibytes = arguments.integer(at: 2) ?? 64
    let datagrams = arguments.integer(at: 3) ?? 10_000
    let (peer, connection) = startPeer("serve", on: core)
    let link = startStack(on: connection, at: clientAddress)
    resolve(link, serverAddress)
    let bytes = UInt64(mebibytes) << 20
    _ = tcpStream(link, bytes: bytes)
    print("loopback: \(bytes) bytes over TCP to \(dotted(serverAddress)) on core \(core), checksum \(hex(swordfish_loop_tcp_sum())) the same at both ends")
    guard swordfish_loop_udp_open(serverAddress, udpPort) == 0 else { fail("lwIP refused a UDP socket") }
    var sent: UInt32 = 0
    run(link, until: "UDP echoes") {
        while sent < UInt32(datagrams), sent < swordfish_loop_udp_echoes() + 8 {
            guard swordfish_loop_udp_send(sent) == 0 else { break }
            sent += 1
        }
        return swordfish_loop_udp_echoes() == UInt32(datagrams) || swordfish_loop_udp_bad() != 0
    }
    let (good, bad) = udpAnswer(link)
    guard swordfish_loop_udp_bad() == 0, bad == 0, good == UInt32(datagrams) else {
        fail("UDP: \(swordfish_loop_udp_bad()) echoes wrong; the receiver counted \(good) good, \(bad) bad")
    }
    print("loopback: \(datagrams) UDP datagrams of 1000 bytes to core \(core) and back, every byte checked")
    print("loopback: \(link.framesSent) frames sent, \(link.framesReceived) received, \(link.framesDropped) dropped")
    finish(link, peer: peer)
    exit(0)
case "bench":
    guard let core = arguments.integer(at: 1), let hz = arguments.integer(at: 2), hz > 0 else { exit(2) }
    let quick = arguments[3] == "quick"
    let (peer, connection) = startPeer("sink", on: core)
    let link = startStack(on: connection, at: clientAddress)
    resolve(link, serverAddress)
    // TCP: a warm-up of 1 MiB, then runs of 8 or 32 MiB, as the Linux side.
    let runs = quick ? 3 : 7
    let bytes: UInt64 = (quick ? 8 : 32) << 20
    _ = tcpStream(link, bytes: 1 << 20)
    var rates: [UInt64] = []
    for _ in 0..<runs {
        let cycles = tcpStream(link, bytes: bytes)
        rates.append(bytes * UInt64(hz) / max(cycles, 1) / 1_000_000)
    }
    reportRate("tcp-loopback-stream", unit: "MB/s", rates)
    // UDP: datagrams as fast as the sender can, counted by the receiver.
    guard swordfish_loop_udp_open(serverAddress, udpPort) == 0 else { fail("lwIP refused a UDP socket") }
    let datagrams: UInt32 = quick ? 20_000 : 100_000
    var packets: [UInt64] = []
    var before: UInt32 = 0, sequence: UInt32 = 0
    for _ in 0..<runs {
        let start = user_timestamp()
        for _ in 0..<datagrams {
            while swordfish_loop_udp_send(sequence) != 0 { step(link) }
            sequence += 1
            if sequence % 8 == 0 { step(link) }
        }
        let (good, bad) = udpAnswer(link)
        let cycles = user_timestamp() &- start
        guard bad == 0 else { fail("UDP: the receiver counted \(bad) bad datagrams") }
        packets.append(UInt64(good &- before) * UInt64(hz) / max(cycles, 1))
        before = good
    }
    reportRate("udp-loopback-packets", unit: "packets/s", packets)
    print("loopback: \(link.framesSent) frames sent, \(link.framesReceived) received, \(link.framesDropped) dropped")
    finish(link, peer: peer)
    exit(0)
case "vandal", "deaf":
    // A vandal sends random frames, then garbage; a deaf peer never reads, so this
    // side's frames (ARP requests and the datagram lwIP keeps waiting for their answer)
    // fill the ring and the send gives up after its patience. Either way the link drops,
    // not this domain, and its stack goes on.
    guard let core = arguments.integer(at: 1) else { exit(2) }
    let vandal = what == "vandal"
    let (peer, connection) = startPeer(what, on: core)
    let link = startStack(on: connection, at: clientAddress)
    guard swordfish_loop_tcp_listen(tcpPort) == 0, swordfish_loop_udp_open(serverAddress, udpPort) == 0 else {
        fail("lwIP refused a socket")
    }
    let deadline = user_timestamp() &+ stepCycles / 4
    var sequence: UInt32 = 0
    while link.failure == nil {
        if !vandal {
            _ = swordfish_loop_udp_send(sequence)
            sequence += 1
            swordfish_loop_resolve(serverAddress)
        }
        step(link)
        guard user_timestamp() < deadline else { fail(vandal ? "the vandal's garbage was never noticed" : "a peer that never reads stalled this side") }
    }
    print(vandal ? "loopback: \(link.framesReceived) frames of random bytes went to lwIP, then the link dropped: \(link.failure!)"
                 : "loopback: the link to a peer that never reads dropped: \(link.failure!)")
    // The stack goes on: its timers run and the frames it sends now go nowhere.
    let after = user_timestamp() &+ 50_000_000
    while user_timestamp() < after { step(link) }
    try? Monitor.kill(peer)
    print("loopback: the stack outlived the \(vandal ? "vandal's garbage" : "deaf peer")")
    exit(0)
default:
    print("usage: loopback check|bench|vandal|deaf <core> …")
    exit(2)
}

func hex(_ value: UInt64) -> String {
    let digits = Array("0123456789abcdef")
    var text = ""
    for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int(value >> UInt64(shift) & 0xF)]) }
    return "0x" + text
}

/// A throughput row: its median, and the rate 99% of runs reached.
func reportRate(_ row: String, unit: String, _ values: [UInt64]) {
    let sorted = values.sorted(by: >)
    print("BENCH name=\(row) unit=\(unit) median=\(sorted[sorted.count / 2]) p99=\(sorted[min(sorted.count * 99 / 100, sorted.count - 1)]) samples=\(sorted.count)")
}

/// lwIP's failed assertion (arch/cc.h): the program stops.
@_cdecl("swordfish_lwip_assert")
func lwipAssertionFailed(_ message: UnsafePointer<CChar>, _ file: UnsafePointer<CChar>, _ line: Int32) {
    fail("lwIP assertion \(String(cString: message)) failed at \(String(cString: file)):\(line)")
}
