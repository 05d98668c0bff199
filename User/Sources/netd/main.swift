// netd: a driver for QEMU's virtio network device (virtio-net-pci, transitional, over
// its legacy I/O-port interface), as a user domain on core 0 (issue 13). It claims the
// device from the device manager (devmgr), which holds configuration space and turns
// on the device's bus mastering, and then holds exactly the capabilities the device
// needs: the I/O ports of its BAR 0, its interrupt line, and 64 KiB of DMA memory for
// the two queues and their buffers (devmgr's, which it frees only after stopping the
// device once this domain has ended). Every used entry the
// device writes is checked (Core/Sources/Virtio) and every frame the network sends is
// read through bounds checks (Core/Sources/Network) before anything is done with it.
//
// It speaks only ARP and ICMP echo, enough to prove the path both ways against QEMU's
// user network: it asks who has the gateway 10.0.2.2 and pings it. A TCP/IP stack
// (lwIP) on top is the next step.
//
//   netd [status]     bring the device up, learn the gateway's address, ping it once,
//                     print the addresses and each queue's packets and drops (the
//                     shell's `net`)
//   netd ping [n]     the same with n pings (default 3), each answered or the run
//                     fails; also checks that the level-triggered line stays masked
//                     until acknowledged (the guest test)
//   netd lwip [n] [bytes]
//                     lwIP on the driver: n pings of the gateway through lwIP's raw API
//                     (default 3), then a TCP stream of `bytes` bytes (default 65536)
//                     to QEMU's echo at 10.0.2.100:7, every byte checked as it comes back
//   netd httpd [port] httpd (User/Sources/httpd) on lwIP on the driver: serves the
//                     site on `port` (default 80) until killed (the shell's `httpd`)
import SwordfishUser
import UserRuntimeC
import Basics
import PCI
import Virtio
import Network
import LwIP
import HTTPServer

// Root slots (below 40, the library's): the device's ports, its interrupt, the endpoint
// interrupts come to, (unused: RAM), the 16 frames of DMA memory, their page tables.
let devicePorts = Capability(slot: 3)
let interrupt = Capability(slot: 4)
let events = Capability(slot: 5)
let memory = Capability(slot: 6)
let firstFrame: UInt32 = 7
let pageCount = 16
let firstTable: UInt32 = 23
/// Where the driver maps its memory: PML4 entry 5.
let window = UnsafeMutableRawPointer(bitPattern: UInt(5 << 39))!

let bufferBytes = 2048
let receiveBuffers = 12                          // pages 6–11
let transmitBuffers = 8                          // pages 12–15
let transmitQueuePage = 3
let firstBufferPage = 6

/// Where QEMU's user network answers TCP with an echo (`guestfwd` to `cat`, in the tool's QEMU line).
let echoServer = IPv4Address(10, 0, 2, 100)
let echoPort: UInt16 = 7

/// How long to wait for any one answer: about six seconds at 2.7 GHz, far more than
/// QEMU's user network takes, so a missing answer is a failure, not a slow one.
let answerCycles: UInt64 = 1 << 34

/// The device's status port once the driver holds it: a failing driver resets the
/// device first, so it stops reading and writing the driver's memory.
var statusPort: UInt16? = nil

func fail(_ message: String) -> Never {
    print("netd: \(message)")
    if let statusPort { _ = try? devicePorts.write(port: statusPort, value: 0) }
    exit(1)
}

// MARK: Finding the device

// devmgr (User/Sources/devmgr) holds configuration space and the device: it hands this
// driver the ports of the device's BAR 0 and its interrupt, and turns on its decoding
// and bus mastering. (Found through functions, not `guard let` at the top level: names
// a top-level guard binds are captured by every function using them, which a C
// callback cannot.)
func claimNetworkDevice() -> DeviceManager.Claim {
    do throws(DeviceManager.Failure) {
        return try DeviceManager.claim(.device(vendor: VirtioNetwork.vendor, device: VirtioNetwork.transitionalDevice)) { resource in
            switch resource {
            case .ioPorts(0, _, _): return devicePorts
            case .interrupt: return interrupt
            default: return nil
            }
        }
    } catch {
        fail("no virtio network device (1af4:1000) from devmgr: \(error)")
    }
}

func legacyPorts(of claim: DeviceManager.Claim) -> (base: UInt16, count: UInt16) {
    guard let (base, count) = claim.ioPorts(bar: 0), count >= LegacyRegister.networkBarBytes, devicePorts.type == .ioPortRange else {
        fail("\(claim.function.address) has no legacy I/O BAR 0 large enough")
    }
    return (base, count)
}

func legacyInterrupt(of claim: DeviceManager.Claim) -> UInt8 {
    guard let irq = claim.irq, interrupt.type == .irq else { fail("\(claim.function.address) has no legacy interrupt routed to an ISA line") }
    return irq
}

let claim = claimNetworkDevice()
let device = claim.function
let (portBase, portCount) = legacyPorts(of: claim)
let irq = legacyInterrupt(of: claim)

// MARK: Its capabilities

statusPort = portBase + LegacyRegister.deviceStatus.offset

func expectRefusal(_ what: String, _ expected: InvocationStatus, _ body: () throws(InvocationStatus) -> Void) {
    if let problem = unexpectedOutcome(of: what, expecting: expected, body) { fail(problem) }
}

// The device's ports are exactly its BAR: the configuration ports and the port past
// the BAR are not reachable through them.
expectRefusal("reading past the BAR", .outsideRange) { () throws(InvocationStatus) in
    _ = try devicePorts.read(port: portBase + portCount, width: .byte)
}
expectRefusal("acknowledging IRQ \(irq) before connecting it", .notConnected) { () throws(InvocationStatus) in
    try interrupt.acknowledge(irq: irq)
}
// Physical addresses are answered for memory only.
expectRefusal("the physical address of the device's ports", .wrongType) { () throws(InvocationStatus) in
    _ = try devicePorts.physicalAddress()
}

/// The 16 pages: physical addresses in one block, mapped at `window`.
var physicalBase: UInt64 = 0
do throws(DeviceManager.Failure) {
    // devmgr's memory, which it keeps: freed only once this domain has ended and
    // devmgr has stopped the device.
    physicalBase = try DeviceManager.dmaMemory(bytes: UInt64(pageCount * 4096), into: (0..<pageCount).map { Capability(slot: firstFrame + UInt32($0)) })
} catch {
    fail("no memory for the queues: \(error)")
}
do throws(InvocationStatus) {
    try Capability.ram.retype(to: .endpoint, into: events)
    let table = try makePageTable(from: .ram, into: firstTable, pml4Entry: 5)
    for page in 0..<pageCount {
        let frame = Capability(slot: firstFrame + UInt32(page))
        // The queues need physically consecutive pages: check what the monitor gave.
        guard try frame.physicalAddress().rawValue == physicalBase + UInt64(page * 4096) else {
            fail("page \(page) of the driver's memory is not where its block is")
        }
        try table.map(frame, at: page, rights: [.read, .write])
    }
} catch {
    fail("mapping the driver's memory: \(error)")
}
window.initializeMemory(as: UInt8.self, repeating: 0, count: pageCount * 4096)

func physical(page: Int, offset: Int = 0) -> UInt64 { physicalBase + UInt64(page * 4096 + offset) }

// MARK: The device

func read(_ register: LegacyRegister) -> UInt32 {
    let width: PortWidth = register.width == 4 ? .doubleWord : register.width == 2 ? .word : .byte
    guard let value = try? devicePorts.read(port: portBase + register.offset, width: width) else { fail("reading the device's ports") }
    return value
}

func write(_ register: LegacyRegister, _ value: UInt32) {
    let width: PortWidth = register.width == 4 ? .doubleWord : register.width == 2 ? .word : .byte
    guard (try? devicePorts.write(port: portBase + register.offset, width: width, value: value)) != nil else {
        fail("writing the device's ports")
    }
}

// Reset, then say a driver is here (virtio 1.0, §3.1, the legacy order).
write(.deviceStatus, 0)
write(.deviceStatus, UInt32(DeviceStatus.acknowledge.rawValue))
write(.deviceStatus, UInt32(DeviceStatus([.acknowledge, .driver]).rawValue))
let features = VirtioNetwork.acceptedFeatures(offered: read(.deviceFeatures))
write(.driverFeatures, features)

/// Sets up queue `index` in the three pages from `page`.
func makeQueue(_ index: UInt16, atPage page: Int) -> SplitQueue {
    write(.queueSelect, UInt32(index))
    let size = Int(read(.queueSize))
    guard let layout = SplitQueueLayout(size: size), layout.byteCount <= 3 * 4096 else {
        write(.deviceStatus, UInt32(DeviceStatus.failed.rawValue))
        fail("queue \(index) has \(size) entries, which do not fit three pages")
    }
    write(.queueAddress, UInt32(physical(page: page) / UInt64(SplitQueueLayout.alignment)))
    return SplitQueue(layout: layout, memory: window + page * 4096)
}
var receiveQueue = makeQueue(VirtioNetwork.receiveQueue, atPage: 0)
var transmitQueue = makeQueue(VirtioNetwork.transmitQueue, atPage: transmitQueuePage)

func bufferAddress(_ buffer: Int) -> (virtual: UnsafeMutableRawPointer, physical: UInt64) {
    let offset = firstBufferPage * 4096 + buffer * bufferBytes
    return (window + offset, physicalBase + UInt64(offset))
}

/// Receive buffers are 0 ..< receiveBuffers, transmit buffers follow.
func giveReceiveBuffer(_ buffer: Int) {
    _ = receiveQueue.give(buffer: buffer, address: bufferAddress(buffer).physical, length: UInt32(bufferBytes), direction: .fromDevice)
}
for buffer in 0..<receiveBuffers { giveReceiveBuffer(buffer) }
var freeTransmitBuffers = Array(receiveBuffers..<(receiveBuffers + transmitBuffers))

var ourAddress = EthernetAddress.none
if features & VirtioNetwork.macFeature != 0 {
    ourAddress = EthernetAddress(bytes: (0..<6).map { offset in
        UInt8(truncatingIfNeeded: (try? devicePorts.read(port: portBase + LegacyRegister.deviceConfiguration + UInt16(offset))) ?? 0)
    })
}
write(.deviceStatus, UInt32(DeviceStatus([.acknowledge, .driver, .driverReady]).rawValue))
write(.queueNotify, UInt32(VirtioNetwork.receiveQueue))

do throws(InvocationStatus) {
    try interrupt.connect(irq: irq, to: events)
} catch {
    fail("connecting IRQ \(irq): \(error)")
}

// MARK: Sending and receiving

var sent = 0, received = 0, receiveDrops = 0, transmitDrops = 0, interrupts: UInt64 = 0
var refusedFrames = 0

func send(_ frame: [UInt8]) {
    reclaimTransmitted()
    guard frame.count + VirtioNetwork.headerBytes <= bufferBytes, let buffer = freeTransmitBuffers.popLast() else {
        transmitDrops += 1
        return
    }
    let (virtual, address) = bufferAddress(buffer)
    virtual.initializeMemory(as: UInt8.self, repeating: 0, count: VirtioNetwork.headerBytes)
    frame.withUnsafeBytes { (virtual + VirtioNetwork.headerBytes).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    guard transmitQueue.give(buffer: buffer, address: address, length: UInt32(VirtioNetwork.headerBytes + frame.count),
                             direction: .toDevice) else {
        freeTransmitBuffers.append(buffer)
        transmitDrops += 1
        return
    }
    write(.queueNotify, UInt32(VirtioNetwork.transmitQueue))
    sent += 1
}

/// Takes back what the device sent; a buffer it names that it did not hold is ignored.
func reclaimTransmitted() {
    while true {
        do throws(VirtqueueFault) {
            guard let used = try transmitQueue.takeUsed() else { return }
            if (receiveBuffers..<(receiveBuffers + transmitBuffers)).contains(used.buffer) { freeTransmitBuffers.append(used.buffer) }
        } catch {
            if case .lengthTooLong(let buffer, _) = error { freeTransmitBuffers.append(buffer) }
            if transmitQueue.isBroken { fail("the device broke the transmit queue: \(error)") }
        }
    }
}

/// The frames the device received since the last call, each copied out of its buffer
/// (within the length the queue checked) before the buffer goes back to the device.
func receivedFrames() -> [[UInt8]] {
    var frames: [[UInt8]] = []
    while true {
        do throws(VirtqueueFault) {
            guard let used = try receiveQueue.takeUsed() else { break }
            defer { giveReceiveBuffer(used.buffer) }
            guard used.length >= VirtioNetwork.headerBytes else {
                receiveDrops += 1
                continue
            }
            let start = bufferAddress(used.buffer).virtual + VirtioNetwork.headerBytes
            frames.append(Array(UnsafeRawBufferPointer(start: start, count: used.length - VirtioNetwork.headerBytes)))
            received += 1
        } catch {
            receiveDrops += 1
            if case .lengthTooLong(let buffer, _) = error { giveReceiveBuffer(buffer) }
            if receiveQueue.isBroken { fail("the device broke the receive queue: \(error)") }
        }
    }
    if !frames.isEmpty || receiveQueue.heldCount < receiveBuffers { write(.queueNotify, UInt32(VirtioNetwork.receiveQueue)) }
    return frames
}

/// Waits for the device's interrupt (until `deadline`); false if none came by then.
func awaitInterrupt(until deadline: UInt64) -> Bool {
    while true {
        do throws(InvocationStatus) {
            let words = try events.receive()
            guard let message = InterruptMessage(words: (words[0], words[1], words[2])), message.irq == irq else { continue }
            interrupts += message.count
            return true
        } catch .endpointEmpty {
            guard user_timestamp() < deadline else { return false }
            _ = try? SystemCall.wait(until: deadline)
        } catch {
            fail("receiving on the interrupt endpoint: \(error)")
        }
    }
}

/// Reads the interrupt status (which lowers the device's line), then lets the line
/// interrupt again.
func quietDevice() {
    _ = read(.interruptStatus)
    do throws(InvocationStatus) { try interrupt.acknowledge(irq: irq) } catch { fail("acknowledging IRQ \(irq): \(error)") }
}

/// Runs `handle` on every frame until it returns true, or fails after `answerCycles`.
func awaitFrame(_ what: String, _ handle: (ReceivedFrame) -> Bool) {
    let deadline = user_timestamp() &+ answerCycles
    while true {
        for frame in receivedFrames() {
            do throws(FrameError) {
                let parsed = try Frames.parse(frame)
                // Anyone asking for our address gets it, whatever we wait for.
                if case .arp(false, let asker, let askerAddress, UserNetwork.guest) = parsed {
                    send(Frames.arpReply(from: ourAddress, at: UserNetwork.guest, to: asker, at: askerAddress))
                }
                if handle(parsed) { return }
            } catch {
                refusedFrames += 1
            }
        }
        reclaimTransmitted()
        guard awaitInterrupt(until: deadline) else { fail("no \(what) came") }
        quietDevice()
    }
}

if arguments.first == "lwip" { runLwIP() }
if arguments.first == "httpd" { runHTTPServer() }

// MARK: The level-triggered line stays masked until acknowledged

let pinging = arguments.first == "ping"
var gateway = EthernetAddress.none
send(Frames.arpRequest(from: ourAddress, at: UserNetwork.guest, for: UserNetwork.gateway))
if pinging {
    // The request's completion (and the reply) raise the line. Leaving the device
    // unquieted and unacknowledged a while, the interrupt must have come once: the
    // kernel masked the line, which is still asserted. Without that it would come again
    // after every EOI, counted into the same waiting message.
    guard awaitInterrupt(until: user_timestamp() &+ answerCycles) else { fail("no interrupt after the first send") }
    let start = user_timestamp()
    while user_timestamp() &- start < 1 << 28 { yield() }
    do throws(InvocationStatus) {
        let words = try events.receive()
        fail("IRQ \(irq) came again (\(words[2]) times) while its line was to stay masked")
    } catch .endpointEmpty {
    } catch {
        fail("receiving on the interrupt endpoint: \(error)")
    }
    guard interrupts == 1 else { fail("IRQ \(irq) came \(interrupts) times before it was acknowledged, expected once") }
    quietDevice()
}
awaitFrame("ARP reply from \(UserNetwork.gateway)") { frame in
    guard case .arp(true, let sender, UserNetwork.gateway, _) = frame else { return false }
    gateway = sender
    return true
}

// MARK: Ping

let pings = pinging ? (arguments.integer(at: 1) ?? 3) : 1
let identifier: UInt16 = 0x5346
var answered = 0
for sequence in 1...max(pings, 1) {
    let data = (0..<32).map { UInt8(truncatingIfNeeded: $0 &+ sequence) }
    send(Frames.echoRequest(from: ourAddress, to: gateway, source: UserNetwork.guest, destination: UserNetwork.gateway,
                            identifier: identifier, sequence: UInt16(sequence), data: data))
    awaitFrame("echo reply \(sequence) from \(UserNetwork.gateway)") { frame in
        guard case .echoReply(UserNetwork.gateway, UserNetwork.guest, identifier, UInt16(sequence), let echoed) = frame else { return false }
        guard echoed == data else { fail("echo reply \(sequence) carried other data") }
        answered += 1
        return true
    }
}
reclaimTransmitted()
// Interrupts still waiting (an answer that came before its wait was taken without one).
while let words = try? events.receive(), let message = InterruptMessage(words: (words[0], words[1], words[2])) {
    interrupts += message.count
}

print("netd: \(device.address) virtio-net, I/O ports 0x\(String(portBase, radix: 16)) (\(portCount)), IRQ \(irq)")
print("netd: \(ourAddress) at \(UserNetwork.guest); gateway \(UserNetwork.gateway) at \(gateway)")
print("netd: receive queue (\(receiveQueue.layout.size) entries): \(received) packets, \(receiveDrops) drops, \(receiveQueue.refused) refused entries")
print("netd: transmit queue (\(transmitQueue.layout.size) entries): \(sent) packets, \(transmitDrops) drops, \(transmitQueue.refused) refused entries")
print("netd: \(interrupts) interrupts; \(refusedFrames) malformed frames dropped")
print("netd: \(answered) of \(pings) pings to \(UserNetwork.gateway) answered")
finish()

/// Stops the device, gives its memory back and ends the program: a device left running
/// would write into memory that goes back to the memory service.
func finish() -> Never {
    write(.deviceStatus, 0)
    // devmgr frees the memory once this domain has ended.
    exit(0)
}

// MARK: lwIP

/// lwIP on this driver: every received frame goes to lwIP, every frame lwIP sends goes
/// to the transmit queue. lwIP learns the gateway by its own ARP.
func runLwIP() -> Never {
    let sender: swordfish_lwip_sender = { frame, length in LwIPLink.transmit(frame, length) }
    let mac = ourAddress.bytes
    mac.withUnsafeBufferPointer { swordfish_lwip_start($0.baseAddress, UserNetwork.guest.rawValue, 0xFFFF_FF00,
                                                       UserNetwork.gateway.rawValue, sender) }
    let pings = arguments.integer(at: 1) ?? 3
    let streamBytes = arguments.integer(at: 2) ?? 65536

    /// Runs lwIP (frames in, timers) until `done`, or fails after `answerCycles`.
    func run(until what: String, _ done: () -> Bool) {
        let deadline = user_timestamp() &+ answerCycles
        while true {
            for frame in receivedFrames() { frame.withUnsafeBytes { swordfish_lwip_input($0.baseAddress, $0.count) } }
            reclaimTransmitted()
            swordfish_lwip_poll()
            if done() { return }
            guard user_timestamp() < deadline else { fail("lwIP: no \(what) came") }
            // Wake for the device, or after about a millisecond for lwIP's timers.
            if awaitInterrupt(until: min(deadline, user_timestamp() &+ (1 << 22))) { quietDevice() }
        }
    }

    for sequence in 1...max(pings, 1) {
        guard swordfish_lwip_ping(UserNetwork.gateway.rawValue, 0x4C57, UInt16(sequence), 32) == 0 else {
            fail("lwIP refused echo request \(sequence)")
        }
        run(until: "echo reply \(sequence) from \(UserNetwork.gateway)") { swordfish_lwip_echo_replies() == UInt32(sequence) }
    }
    print("netd: lwIP: \(swordfish_lwip_echo_replies()) of \(pings) pings to \(UserNetwork.gateway) answered")
    guard swordfish_lwip_tcp_echo(echoServer.rawValue, echoPort, streamBytes) == 0 else { fail("lwIP refused to connect") }
    run(until: "TCP echo from \(echoServer):\(echoPort)") { swordfish_lwip_tcp_echo_state() != 0 }
    let state = swordfish_lwip_tcp_echo_state()
    guard state == 1 else {
        fail("lwIP: the TCP echo ended with \(state) after \(swordfish_lwip_tcp_sent()) bytes sent, \(swordfish_lwip_tcp_echoed()) echoed")
    }
    print("netd: lwIP: \(swordfish_lwip_tcp_echoed()) bytes over TCP to \(echoServer):\(echoPort) came back the same")
    print("netd: receive queue: \(received) packets, \(receiveDrops) drops; transmit queue: \(sent) packets, \(transmitDrops) drops")
    finish()
}

/// httpd on lwIP on this driver, until the domain is killed: frames in, lwIP's timers
/// and the server's timeouts, then a sleep until the device's interrupt or the next tick.
func runHTTPServer() -> Never {
    let sender: swordfish_lwip_sender = { frame, length in LwIPLink.transmit(frame, length) }
    let mac = ourAddress.bytes
    mac.withUnsafeBufferPointer { swordfish_lwip_start($0.baseAddress, UserNetwork.guest.rawValue, 0xFFFF_FF00,
                                                       UserNetwork.gateway.rawValue, sender) }
    let port = UInt16(truncatingIfNeeded: arguments.integer(at: 1) ?? 80)
    guard HTTPServer.start(port: port) else { fail("httpd: lwIP refused port \(port)") }
    print("httpd: serving \(UserNetwork.guest) port \(port) (\(ourAddress))")
    var lastSweep = user_timestamp()
    var lastStatus = "", lastStatusTime = lastSweep
    while true {
        for frame in receivedFrames() { frame.withUnsafeBytes { swordfish_lwip_input($0.baseAddress, $0.count) } }
        reclaimTransmitted()
        swordfish_lwip_poll()
        let now = user_timestamp()
        if now &- lastSweep > 1 << 28 {
            HTTPServer.sweep(now: now)
            lastSweep = now
        }
        // The counts, when they changed, every second or so.
        if now &- lastStatusTime > 1 << 32 {
            lastStatusTime = now
            let status = HTTPServer.status
            if status != lastStatus { print("httpd: \(status); \(receiveDrops) receive drops, \(transmitDrops) transmit drops") }
            lastStatus = status
        }
        if awaitInterrupt(until: user_timestamp() &+ (1 << 22)) { quietDevice() }
    }
}

/// lwIP's frames out. (A C function pointer cannot capture, and main.swift's own
/// functions count as capturing its top-level variables; a type's function does not.)
enum LwIPLink {
    static func transmit(_ frame: UnsafeRawPointer?, _ length: Int) {
        guard let frame else { return }
        // Under load (httpd) the device may still hold every transmit buffer: wait a
        // little for one rather than drop the frame and leave it to TCP's retransmit.
        let deadline = user_timestamp() &+ (1 << 24)
        while freeTransmitBuffers.isEmpty, user_timestamp() < deadline { reclaimTransmitted() }
        send(Array(UnsafeRawBufferPointer(start: frame, count: length)))
    }
}

/// lwIP's failed assertion (arch/cc.h): the driver stops, the device with it.
@_cdecl("swordfish_lwip_assert")
func lwipAssertionFailed(_ message: UnsafePointer<CChar>, _ file: UnsafePointer<CChar>, _ line: Int32) {
    fail("lwIP assertion \(String(cString: message)) failed at \(String(cString: file)):\(line)")
}
