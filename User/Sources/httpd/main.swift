// httpd: the static web server (User/Sources/HTTPServer) on lwIP of its own, in its own
// domain, over a link to netd, the network driver (docs/network.md). netd gives it an
// Ethernet address and switches the frames that name it to its link; its IPv4 address
// is 10.0.2.15, where QEMU's user network forwards the host's port.
//
//   httpd start [core] [port]  makes sure netd runs (starting it where the placement
//                     policy says), then starts `httpd serve` on `core` (default: a core
//                     other than netd's, if there is one) and ends: the shell's `httpd`
//   httpd serve [port] the server on `port` (default 80), until killed; if netd goes, it
//                     says so and ends (its connections went with the link)
//   httpd orphan      the guest test of a driver that dies: a client at 10.0.2.16 pings
//                     the gateway through netd, then kills netd; the link drops, this
//                     domain says so and ends cleanly
//   httpd vandal      the guest test of a bad client: it sends frames posing as the
//                     gateway (netd refuses them), then a message no correct client
//                     sends (netd drops its link, and only its)
//   httpd vanish      the guest test of a client whose pages go while netd reads them:
//                     it writes frames into its ring, takes the ring's pages back from
//                     netd, then announces the frames; netd's read faults on the missing
//                     page, and it drops the link, not itself
import SwordfishUser
import UserRuntimeC
import Basics
import KnowledgeBase
import Network
import FrameChannel
import LwIP
import HTTPServer

func fail(_ text: String) -> Never {
    print("httpd: \(text)")
    exit(1)
}

/// Connects to netd (starting it if needed), sets up the link and starts lwIP on it at
/// `address`, with the Ethernet address netd gave.
func startStack(at address: IPv4Address) -> (ChannelLink, EthernetAddress) {
    let connection: Connection
    switch NetdService.connect(progress: { print("httpd: \($0)") }) {
    case .success(let connected): connection = connected
    case .failure(let error): fail(error.what)
    }
    let ethernet: EthernetAddress
    switch NetdService.requestLink(on: connection) {
    case .success(let answer): ethernet = EthernetAddress(rawValue: answer.address)
    case .failure(let error): fail(error.what)
    }
    let table: Capability
    do throws(InvocationStatus) { table = try makePageTable(from: .ram, into: 8, pml4Entry: 5) } catch {
        fail("no page table for the link: \(error)")
    }
    let place = LinkPlace(table: table, firstEntry: 0, address: 5 << 39, cnode: nil, firstSlot: 11)
    let link: ChannelLink
    do throws(LinkSetupError) {
        link = try ChannelLink(connection, at: place, deliver: { frame, length in swordfish_loop_queue(frame, length) == 0 },
                               room: { Int(swordfish_loop_queue_room()) })
    } catch {
        fail("setting up the link to netd: \(error.what)")
    }
    // lwIP's own output is replaced at once by the link's (attach).
    let unused: swordfish_lwip_sender = { _, _ in }
    let mac = ethernet.bytes
    mac.withUnsafeBufferPointer { swordfish_lwip_start($0.baseAddress, address.rawValue, 0xFFFF_FF00, UserNetwork.gateway.rawValue, unused) }
    LwIPOverChannel.attach(link)
    // The frames go to a real network, whose peers check the checksums.
    swordfish_loop_checksums_on()
    return (link, ethernet)
}

/// One turn: the link's frames into lwIP, lwIP's timers, this side's frames out; true
/// if anything came.
func step(_ link: ChannelLink) -> Bool {
    let any = link.pump()
    swordfish_loop_deliver()
    swordfish_lwip_poll()
    link.flush()
    link.checkPeer()
    return any
}


// MARK: The modes

switch arguments.first ?? "" {
case "start":
    let netd: SystemDomainID
    switch NetdService.ensureRunning(progress: { print("httpd: \($0)") }) {
    case .success(let domain): netd = domain
    case .failure(let error): fail(error.what)
    }
    let cores = NetdService.cores()
    let core = arguments.integer(at: 1) ?? ServicePlacement.client(of: CoreID(netd.core), among: cores).rawValue
    let port = arguments.integer(at: 2) ?? 80
    do throws(MonitorStatus) { _ = try Monitor.spawn("httpd", arguments: "serve \(port)", on: core) } catch {
        fail("starting the server on core \(core): \(error)")
    }
    print("httpd: starting on core \(core), netd on core \(netd.core)")
    exit(0)
case "serve":
    serve(port: UInt16(truncatingIfNeeded: arguments.integer(at: 1) ?? 80))
case "orphan":
    orphan()
case "vandal":
    vandal()
case "vanish":
    vanish()
default:
    print("usage: httpd start [core] [port] | serve [port] | orphan | vandal | vanish")
    exit(2)
}

/// The server until killed, or until netd goes.
func serve(port: UInt16) -> Never {
    let (link, ethernet) = startStack(at: UserNetwork.guest)
    guard HTTPServer.start(port: port) else { fail("lwIP refused port \(port)") }
    print("httpd: serving \(UserNetwork.guest) port \(port) (\(ethernet)) on core \(Program.identity.core), over netd")
    var lastSweep = user_timestamp()
    var lastStatus = "", lastStatusTime = lastSweep
    var idle = IdleTurns()
    while true {
        let busy = step(link)
        if let failure = link.failure {
            print("httpd: the link to netd dropped (\(failure)): \(HTTPServer.openConnections) open connections lost; httpd ends")
            exit(1)
        }
        let now = user_timestamp()
        if now &- lastSweep > 1 << 28 {
            HTTPServer.sweep(now: now)
            lastSweep = now
        }
        // The counts, when they changed, every second or so.
        if now &- lastStatusTime > 1 << 32 {
            lastStatusTime = now
            let status = HTTPServer.status
            if status != lastStatus { print("httpd: \(status); link: \(link.framesReceived) frames in, \(link.framesSent) out, \(link.framesDropped) dropped") }
            lastStatus = status
        }
        if idle.timeToSleep(busy: busy || !link.outbox.isEmpty) {
            if link.connection.prepareToSleep() { try? SystemCall.wait(until: user_timestamp() &+ IdleTurns.sleepCycles) }
            link.connection.wakeUp()
        }
    }
}

/// A driver that dies under its client: pings through netd, kills it, and watches the link go.
func orphan() -> Never {
    let (link, ethernet) = startStack(at: IPv4Address(10, 0, 2, 16))
    let netd = link.connection.peer
    let pings = 3
    ping(pings, through: link)
    print("httpd: \(pings) of \(pings) pings to \(UserNetwork.gateway) answered through netd (core \(netd.core)) as \(ethernet)")
    do throws(MonitorStatus) { try Monitor.kill(netd) } catch { fail("killing netd: \(error)") }
    let deadline = user_timestamp() &+ (1 << 34)
    while link.failure == nil {
        _ = step(link)
        guard user_timestamp() < deadline else { fail("netd was killed and the link did not notice") }
    }
    print("httpd: netd was killed; the link dropped: \(link.failure!)")
    // The stack goes on without a link: its timers run, its frames go nowhere.
    let after = user_timestamp() &+ 50_000_000
    while user_timestamp() < after { _ = step(link) }
    print("httpd: the client outlived its driver")
    exit(0)
}

/// A bad client: frames with another's source address, then garbage.
func vandal() -> Never {
    let (link, _) = startStack(at: IPv4Address(10, 0, 2, 17))
    let gatewayMAC = EthernetAddress(rawValue: 0x5255_0A00_0202)
    let frame = Frames.arpReply(from: gatewayMAC, at: UserNetwork.gateway, to: .broadcast, at: UserNetwork.guest)
    let posing = 20
    for _ in 0..<posing { _ = frame.withUnsafeBytes { link.transmit($0.baseAddress!, $0.count) } }
    link.flush()
    link.post([0x77, 0, 0])
    // Every message must have reached netd's side before this program ends: on netd's
    // core they may still wait for room when the last post returns.
    link.flushAll()
    guard link.outbox.isEmpty else { fail("netd took none of the frames: \(link.failure ?? "no room")") }
    print("httpd: sent \(posing) frames posing as the gateway, then a message of no kind")
    waitThenEnd()
}

/// Pings the gateway `count` times through netd, each answered before the next.
func ping(_ count: Int, through link: ChannelLink) {
    for sequence in 1...count {
        guard swordfish_lwip_ping(UserNetwork.gateway.rawValue, 0x4F52, UInt16(sequence), 32) == 0 else { fail("lwIP refused a ping") }
        let deadline = user_timestamp() &+ (1 << 34)
        while swordfish_lwip_echo_replies() < UInt32(sequence) {
            _ = step(link)
            if let failure = link.failure { fail("the link dropped before the test: \(failure)") }
            guard user_timestamp() < deadline else { fail("no echo reply \(sequence) through netd") }
        }
    }
}

/// A client whose pages vanish: what a client that ends while netd reads its ring does
/// to netd, at a time of this test's choosing (its own end could come before or after
/// netd's read).
func vanish() -> Never {
    let (link, ethernet) = startStack(at: IPv4Address(10, 0, 2, 18))
    // A ping answered: netd has this side's pages mapped (a withdrawal while it still
    // sets up the link would only fail the setup).
    ping(1, through: link)
    let frame = Frames.arpReply(from: ethernet, at: IPv4Address(10, 0, 2, 18), to: .broadcast, at: UserNetwork.gateway)
    // Fewer than a batch: written into the ring, not yet announced.
    let frames = 4
    for _ in 0..<frames { _ = frame.withUnsafeBytes { link.transmit($0.baseAddress!, $0.count) } }
    do throws(MonitorStatus) { try link.withdrawPages() } catch { fail("taking the ring back: \(error)") }
    link.flushAll()
    guard link.outbox.isEmpty else { fail("netd took none of the frames: \(link.failure ?? "no room")") }
    print("httpd: announced \(frames) frames in pages netd no longer has")
    waitThenEnd()
}

/// netd drops the link of a bad client; the test waits a little for it to say so, then ends.
func waitThenEnd() -> Never {
    let until = user_timestamp() &+ (1 << 30)
    while user_timestamp() < until { try? SystemCall.wait(until: until) }
    exit(0)
}

/// lwIP's failed assertion (arch/cc.h): the program stops.
@_cdecl("swordfish_lwip_assert")
func lwipAssertionFailed(_ message: UnsafePointer<CChar>, _ file: UnsafePointer<CChar>, _ line: Int32) {
    fail("lwIP assertion \(String(cString: message)) failed at \(String(cString: file)):\(line)")
}
