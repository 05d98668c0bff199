// netd: a driver for QEMU's virtio network device (virtio-net-pci, transitional, over
// its legacy I/O-port interface), as a user domain on any core (the service goes where
// the knowledge base picks, `Monitor.serviceCore`). It claims the device from the
// device manager (devmgr, on core 0), which holds configuration space and turns on the
// device's bus mastering; copies of the device's capabilities reach this core through
// the monitors. It then holds exactly what the device needs: the I/O ports of its BAR 0,
// its interrupt (MSI-X to this core's local APIC), and 64 KiB of DMA memory for
// the two queues and their buffers (devmgr's, which it frees only after stopping the
// device once this domain has ended). Every used entry the
// device writes is checked (Core/Sources/Virtio) and every frame the network sends is
// read through bounds checks (Core/Sources/Network) before anything is done with it.
//
// As a service (`netd serve`) it is a switch between the device and its clients: each
// client connects to the name "netd", gets an Ethernet address of its own and a link of
// shared rings (User/Sources/FrameChannel), and runs its own lwIP on it (`httpd`).
// Frames go where their destination address names (Core's EthernetSwitch).
//
//   netd serve        the service, until killed (started by whoever needs it: the
//                     shell's `httpd` and `net`, through NetdService)
//   netd [status]     the running service's addresses and counts, per queue and per
//                     client (it starts the service if it is not running): the shell's `net`
//   netd start [core] starts the service on `core` (default: the knowledge base's pick)
//                     unless it runs already
//   netd stop         kills the running service
//   netd ping [n] [--intx]
//                     a self-test of the driver alone: learns the gateway's address and
//                     pings it n times (default 3), each answered or the run fails. With
//                     MSI-X (the default where the device has it) it checks that the
//                     interrupts came as messages to this core; with `--intx` (the
//                     legacy line through the I/O APIC) that the level-triggered line
//                     stays masked until acknowledged (the guest tests)
//
// Interrupts: where the device has MSI-X (QEMU's virtio-net-pci does, its table in
// BAR 1), netd maps the table's page, has its own core's kernel connect a
// message-signalled interrupt (the interrupt capability devmgr granted is the
// authority), writes the address and data the kernel answered into table entry 0,
// asks devmgr to turn MSI-X on (devmgr alone writes configuration space; it turns it
// off again when netd ends), and points both queues at entry 0. Such an interrupt is
// an edge: no interrupt status to read, nothing to acknowledge. Without MSI-X, or
// with `--intx`, the legacy line (ISA IRQ 11 through core 0's I/O APIC).
//   netd lwip [n] [bytes]
//                     a self-test of lwIP on the driver alone: n pings of the gateway
//                     through lwIP's raw API (default 3), then a TCP stream of `bytes`
//                     bytes (default 65536) to QEMU's echo at 10.0.2.100:7, every byte
//                     checked as it comes back
import SwordfishUser
import UserRuntimeC
import Basics
import PCI
import Virtio
import Network
import LwIP
import FrameLink
import FrameChannel

// Root slots (below 40, the library's): the device's ports, its interrupt, the endpoint
// interrupts come to, the 16 frames of DMA memory (slot 6 stays empty: a bad-input
// check uses it), their page tables, the clients' CNode (26), and the device frames of
// memory BARs 0–5 (27–32).
let devicePorts = Capability(slot: 3)
let interrupt = Capability(slot: 4)
let events = Capability(slot: 5)
let emptySlot = Capability(slot: 6)
let firstBarFrame: UInt32 = 27
/// Where the MSI-X table's page is mapped: the last entry of the driver's page table.
let msixTableEntry = 511
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

// The status of a running service is asked for over a connection, before this
// program touches the device (which the service holds).
if arguments.first == nil || arguments.first == "status" { askStatus() }
if arguments.first == "start" { startService(on: arguments.integer(at: 1)) }
if arguments.first == "stop" { stopService() }

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
            case .deviceMemory(let bar, _, _): return bar < 6 ? Capability(slot: firstBarFrame + UInt32(bar)) : nil
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

/// Whether interrupts are to come by MSI-X: unless told otherwise, if the device has it.
let wantsMSIX = !(0..<arguments.count).contains { arguments[$0] == "--intx" }

/// The device's MSI-X table, if interrupts are to come by MSI-X and it has one netd can
/// map (nil: the legacy line).
func findMSIX() -> MSIXSummary? {
    guard wantsMSIX else { return nil }
    let summary: MSIXSummary
    do throws(DeviceManager.Failure) { summary = try DeviceManager.msix(of: device) } catch .refused(.noMSIX) {
        return nil
    } catch {
        fail("asking devmgr for \(device.address)'s MSI-X: \(error)")
    }
    let msix = summary.capability
    guard let (_, bytes, frame) = claim.deviceMemory(bar: msix.tableBAR), let frame, frame.type == .deviceFrame,
          bytes == 4096, msix.tableOffset <= 4096 - UInt32(MSIXCapability.entryBytes) else {
        print("netd: \(device.address)'s MSI-X table (BAR \(msix.tableBAR)) is not a page netd holds; using IRQ \(irq)")
        return nil
    }
    return summary
}
let msix = findMSIX()
let interruptName = msix == nil ? "IRQ \(irq)" : "MSI-X on core \(Program.identity.core)"

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

// MARK: The interrupt

// What a driver may not do with the interrupt capability (each refused, nothing changed).
expectRefusal("a message-signalled interrupt on the device's ports", .wrongType) { () throws(InvocationStatus) in
    _ = try devicePorts.connectMessageSignalled(irq: irq, to: events)
}
expectRefusal("a message-signalled interrupt for IRQ \(irq &+ 1), outside the capability", .outsideRange) { () throws(InvocationStatus) in
    _ = try interrupt.connectMessageSignalled(irq: irq &+ 1, to: events)
}
expectRefusal("a message-signalled interrupt to an empty slot", .slotEmpty) { () throws(InvocationStatus) in
    _ = try interrupt.connectMessageSignalled(irq: irq, to: emptySlot)
}
expectRefusal("a message-signalled interrupt to the device's ports as endpoint", .wrongType) { () throws(InvocationStatus) in
    _ = try interrupt.connectMessageSignalled(irq: irq, to: devicePorts)
}

/// Connects the interrupt: a message-signalled one to this core, its message written
/// into MSI-X table entry 0, and MSI-X turned on by devmgr; or the legacy line.
func connectInterrupt() {
    guard let msix else {
        do throws(InvocationStatus) { try interrupt.connect(irq: irq, to: events) } catch { fail("connecting IRQ \(irq): \(error)") }
        expectRefusal("a message-signalled interrupt for IRQ \(irq), connected as a line", .alreadyConnected) { () throws(InvocationStatus) in
            _ = try interrupt.connectMessageSignalled(irq: irq, to: events)
        }
        return
    }
    let frame = Capability(slot: firstBarFrame + UInt32(msix.capability.tableBAR))
    let target: MessageSignalledTarget
    do throws(InvocationStatus) {
        try Capability(slot: firstTable + 2).map(frame, at: msixTableEntry, rights: [.read, .write])
        target = try interrupt.connectMessageSignalled(irq: irq, to: events)
    } catch {
        fail("connecting \(device.address)'s MSI-X: \(error)")
    }
    expectRefusal("a second message-signalled interrupt for IRQ \(irq)", .alreadyConnected) { () throws(InvocationStatus) in
        _ = try interrupt.connectMessageSignalled(irq: irq, to: events)
    }
    expectRefusal("IRQ \(irq)'s line while its messages are connected", .alreadyConnected) { () throws(InvocationStatus) in
        try interrupt.connect(irq: irq, to: events)
    }
    // Entry 0: address (low, high), data, vector control (unmasked). Read back: a
    // device that did not take it would never interrupt.
    let entry = window + msixTableEntry * 4096 + Int(msix.capability.tableOffset)
    user_mmio_write32(entry + 12, MSIXCapability.entryMasked)
    user_mmio_write32(entry, target.address)
    user_mmio_write32(entry + 4, 0)
    user_mmio_write32(entry + 8, target.data)
    user_mmio_write32(entry + 12, 0)
    guard user_mmio_read32(entry) == target.address, user_mmio_read32(entry + 8) == target.data, user_mmio_read32(entry + 12) == 0 else {
        fail("\(device.address)'s MSI-X table entry 0 did not take the message")
    }
    do throws(DeviceManager.Failure) { try DeviceManager.setMSIX(of: device, enabled: true) } catch {
        fail("devmgr did not turn \(device.address)'s MSI-X on: \(error)")
    }
    print("netd: \(device.address) interrupts by MSI-X entry 0 of \(msix.capability.tableSize): message 0x\(String(target.data, radix: 16)) to 0x\(String(target.address, radix: 16)), core \(Program.identity.core)")
}
connectInterrupt()

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
    if msix != nil {
        // Its interrupts to MSI-X entry 0.
        write(.queueVector, 0)
        guard read(.queueVector) == 0 else { fail("queue \(index) did not take MSI-X entry 0") }
    }
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

if msix != nil {
    // No interrupt for configuration changes (netd reads none).
    write(.configurationVector, UInt32(LegacyRegister.noVector))
    guard read(.configurationVector) == UInt32(LegacyRegister.noVector) else { fail("the configuration vector did not read back as none") }
}

var ourAddress = EthernetAddress.none
if features & VirtioNetwork.macFeature != 0 {
    let configuration = LegacyRegister.deviceConfiguration(msix: msix != nil)
    guard configuration + 6 <= portCount else { fail("\(device.address)'s I/O BAR is too short for its MAC") }
    ourAddress = EthernetAddress(bytes: (0..<6).map { offset in
        UInt8(truncatingIfNeeded: (try? devicePorts.read(port: portBase + configuration + UInt16(offset))) ?? 0)
    })
}
write(.deviceStatus, UInt32(DeviceStatus([.acknowledge, .driver, .driverReady]).rawValue))
write(.queueNotify, UInt32(VirtioNetwork.receiveQueue))

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
/// interrupt again. An MSI-X interrupt is an edge: nothing to lower, nothing held.
func quietDevice() {
    guard msix == nil else { return }
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
if arguments.first == "serve" { serve() }

// MARK: The level-triggered line stays masked until acknowledged

let pinging = arguments.first == "ping"
var gateway = EthernetAddress.none
send(Frames.arpRequest(from: ourAddress, at: UserNetwork.guest, for: UserNetwork.gateway))
if pinging, msix == nil {
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
    print("netd: IRQ \(irq) stayed masked until acknowledged")
} else if pinging {
    // The request's completion (and the reply) send the message: it must come, by
    // MSI-X, without the line (INTx is off: devmgr set the command register's bit).
    guard awaitInterrupt(until: user_timestamp() &+ answerCycles) else { fail("no MSI-X interrupt after the first send") }
}
awaitFrame("ARP reply from \(UserNetwork.gateway)") { frame in
    guard case .arp(true, let sender, UserNetwork.gateway, _) = frame else { return false }
    gateway = sender
    return true
}

// MARK: Ping

let pings = pinging ? (arguments.integer(at: 1) ?? arguments.integer(at: 2) ?? 3) : 1
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

print("netd: \(device.address) virtio-net, I/O ports 0x\(String(portBase, radix: 16)) (\(portCount)), \(interruptName)")
if msix != nil {
    // Every interrupt of this run came by message: INTx is off while MSI-X is on.
    guard interrupts > 0 else { fail("no interrupt came by MSI-X") }
    print("netd: \(interrupts) interrupts by MSI-X on core \(Program.identity.core)")
    // Disconnected once; a second time there is nothing to disconnect.
    do throws(InvocationStatus) { try interrupt.disconnect(irq: irq) } catch { fail("disconnecting the MSI-X interrupt: \(error)") }
    expectRefusal("disconnecting the MSI-X interrupt twice", .notConnected) { () throws(InvocationStatus) in
        try interrupt.disconnect(irq: irq)
    }
}
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

// MARK: The service

/// What the switch keeps of a client: its link, its address, its counts.
final class Client {
    let link: ChannelLink
    let address: EthernetAddress
    let peer: SystemDomainID
    var program: String
    /// Frames it sent (that the switch took), frames it was sent, frames of its the
    /// switch refused (not its source address, too short), frames to it its ring had no
    /// room for.
    var framesIn = 0, framesOut = 0, refused = 0, ringFull = 0

    init(link: ChannelLink, address: EthernetAddress, peer: SystemDomainID) {
        self.link = link
        self.address = address
        self.peer = peer
        program = (try? Monitor.program(of: peer)) ?? "?"
    }
}

/// The service's state. (In a type, not at the top level: main.swift's top-level
/// variables are set as execution reaches them, after `serve` has started.)
enum Service {
    /// The clients' links: 16 pages each in the driver's page table (PML4 entry 5) from
    /// entry 16, their capabilities in a CNode of 128 slots, 32 a client.
    static let clientCNodeSlot: UInt32 = 26
    static let firstClientEntry = 16
    static let maximumClients = 4
    /// Frames clients sent, copied out of their rings, waiting for the switch.
    static var pendingFrames: [(port: Int, frame: [UInt8])] = []
    static let pendingLimit = 64
    static var noClientDrops = 0
    static var clients: [Client?] = []
    static var switchTable = EthernetSwitch(ports: 0)
    /// Connections that have not said what they want yet, and until when they may wait.
    static var greeting: [(connection: Connection, deadline: UInt64)] = []
    static let maximumGreeting = 2
}

/// Serves clients until killed: frames from the device go to the clients they name,
/// frames from clients to the device or to each other; new clients are accepted between
/// turns; a client whose link fails is dropped, and only it.
func serve() -> Never {
    let listener: Listener
    do throws(MonitorStatus) { listener = try Listener(name: NetdService.name) } catch {
        fail("cannot serve as \(NetdService.name): \(error)")
    }
    // The clients' rings go into the driver's own page table (PML4 entry 5), past its
    // 16 pages.
    let table = Capability(slot: firstTable + 2)
    // Their capabilities: a CNode of 128 slots from this domain's RAM in root slot 26.
    do throws(InvocationStatus) {
        try Capability.ram.retype(to: .cnode, size: 128, into: Capability(slot: Service.clientCNodeSlot))
    } catch {
        fail("no CNode for clients' links: \(error)")
    }
    Service.clients = [Client?](repeating: nil, count: Service.maximumClients)
    Service.switchTable = EthernetSwitch(ports: Service.maximumClients)
    var idle = IdleTurns()
    print("netd: serving \(ourAddress) on core \(Program.identity.core) as \"\(NetdService.name)\" (\(device.address), \(interruptName))")
    while true {
        var busy = false
        // The device's frames to the clients they name.
        for frame in receivedFrames() {
            busy = true
            forward(frame, from: .device)
        }
        reclaimTransmitted()
        // Each client's frames, then whatever it waits for.
        for port in 0..<Service.maximumClients {
            guard let client = Service.clients[port] else { continue }
            if client.link.pump() { busy = true }
            client.link.checkPeer()
            let waiting = Service.pendingFrames
            Service.pendingFrames.removeAll()
            for (from, frame) in waiting { forward(frame, from: .client(from)) }
        }
        for port in 0..<Service.maximumClients {
            guard let client = Service.clients[port] else { continue }
            client.link.flush()
            if let failure = client.link.failure { disconnect(port, because: failure) }
            else if client.link.peerClosed { disconnect(port, because: "it closed the link") }
        }
        // A new client, or a question: kept until it says which, without waiting for it.
        if Service.greeting.count < Service.maximumGreeting {
            do throws(MonitorStatus) {
                if let connection = try listener.tryAccept() {
                    busy = true
                    Service.greeting.append((connection, user_timestamp() &+ (1 << 31)))
                }
            } catch {
                // A hello that was not one, or no slot free: that client's problem.
            }
        }
        var index = 0
        while index < Service.greeting.count {
            let (connection, deadline) = Service.greeting[index]
            if let request = try? connection.tryReceive() {
                Service.greeting.remove(at: index)
                busy = true
                welcome(connection, request: request, table: table)
            } else if connection.failure != nil || user_timestamp() > deadline {
                Service.greeting.remove(at: index)
                connection.close()
            } else {
                index += 1
            }
        }
        // One sleep when idle: the device's interrupt or a client's ring ends it.
        if idle.timeToSleep(busy: busy), prepareClientsToSleep() {
            try? SystemCall.wait(until: user_timestamp() &+ IdleTurns.sleepCycles)
        }
        if interruptWaiting() { quietDevice() }
        for client in Service.clients { client?.link.connection.wakeUp() }
    }
}

/// Tells every client this side is about to sleep, so their next message rings it;
/// false if one has a message there already (then it should not sleep).
func prepareClientsToSleep() -> Bool {
    var maySleep = true
    for client in Service.clients { if let client, !client.link.connection.prepareToSleep() { maySleep = false } }
    return maySleep
}

/// Takes an interrupt message that waits, without sleeping.
func interruptWaiting() -> Bool {
    guard let words = try? events.receive(), let message = InterruptMessage(words: (words[0], words[1], words[2])),
          message.irq == irq else { return false }
    interrupts += message.count
    return true
}

/// Sends `frame` where the switch says.
func forward(_ frame: [UInt8], from: SwitchPort) {
    let route = frame.withUnsafeBytes { Service.switchTable.route($0, from: from) }
    switch route {
    case .failure(let drop):
        if case .client(let port) = from { Service.clients[port]?.refused += 1 }
        if drop == .noClient { Service.noClientDrops += 1 }
    case .success(let ports):
        if case .client(let port) = from { Service.clients[port]?.framesIn += 1 }
        for port in ports {
            switch port {
            case .device:
                // Under load the device may hold every transmit buffer: wait a little.
                let deadline = user_timestamp() &+ (1 << 24)
                while freeTransmitBuffers.isEmpty, user_timestamp() < deadline { reclaimTransmitted() }
                send(frame)
            case .client(let index):
                guard let client = Service.clients[index] else { continue }
                // A client whose ring is full loses the frame; nobody waits for it.
                let taken = frame.withUnsafeBytes { client.link.transmit($0.baseAddress!, $0.count, waiting: false) }
                if taken { client.framesOut += 1 } else { client.ringFull += 1 }
            }
        }
    }
}

/// A new connection's first message: a link or a question; anything else and the
/// connection is closed.
func welcome(_ connection: Connection, request: [UInt64], table: Capability) {
    if request.first == NetdService.statusRequest {
        printStatus()
        _ = try? connection.send([NetdService.statusRequest, 0, 0])
        return connection.close()
    }
    guard request.first == NetdService.linkRequest, let port = Service.clients.firstIndex(where: { $0 == nil }) else {
        if request.first == NetdService.linkRequest {
            print("netd: a client on core \(connection.peer.core) found no free port")
            _ = try? connection.send([0, 0, 0])
        }
        return connection.close()
    }
    let address = EthernetSwitch.address(ofClient: port, device: ourAddress)
    do throws(Connection.Failure) { try connection.send([NetdService.linkRequest, address.rawValue, UInt64(port)]) } catch {
        return connection.close()
    }
    let place = LinkPlace(table: table, firstEntry: Service.firstClientEntry + port * 2 * ChannelLink.pages,
                          address: UInt64(UInt(bitPattern: window)) + UInt64((Service.firstClientEntry + port * 2 * ChannelLink.pages) * 4096),
                          cnode: Service.clientCNodeSlot, firstSlot: UInt32(port * 32))
    let link: ChannelLink
    do throws(LinkSetupError) {
        link = try ChannelLink(connection, at: place, deliver: { frame, length in
            guard Service.pendingFrames.count < Service.pendingLimit else { return false }
            Service.pendingFrames.append((port, Array(UnsafeRawBufferPointer(start: frame, count: length))))
            return true
        }, room: { Service.pendingLimit - Service.pendingFrames.count })
    } catch {
        print("netd: a client's link failed to come up: \(error.what)")
        connection.close()
        // What the setup made goes back (a link that never came up holds no frames of
        // the peer's that matter).
        for index in 0..<LinkPlace.slotCount {
            _ = try? Capability(.leaf(Service.clientCNodeSlot, UInt32(port * 32 + index))).delete()
        }
        for entry in 0..<(2 * ChannelLink.pages) { _ = try? table.unmap(at: Service.firstClientEntry + port * 2 * ChannelLink.pages + entry) }
        return
    }
    let client = Client(link: link, address: address, peer: connection.peer)
    Service.clients[port] = client
    Service.switchTable.attach(address, at: port)
    print("netd: client \(port) (\(client.program) on core \(connection.peer.core)) at \(address)")
}

/// Drops a client: its port and its link, its memory back to the memory service.
func disconnect(_ port: Int, because reason: String) {
    guard let client = Service.clients[port] else { return }
    print("netd: client \(port) (\(client.program)) gone: \(reason); \(client.framesIn) frames in, \(client.refused) refused, \(client.framesOut) out")
    client.link.drop(reason)
    client.link.release()
    Service.clients[port] = nil
    Service.switchTable.detach(port)
}

func printStatus() {
    print("netd: \(device.address) virtio-net, I/O ports 0x\(String(portBase, radix: 16)) (\(portCount)), \(interruptName); on core \(Program.identity.core)")
    print("netd: device \(ourAddress); \(Service.clients.filter { $0 != nil }.count) of \(Service.maximumClients) clients")
    print("netd: receive queue (\(receiveQueue.layout.size) entries): \(received) packets, \(receiveDrops) drops, \(receiveQueue.refused) refused entries, \(Service.noClientDrops) to no client")
    print("netd: transmit queue (\(transmitQueue.layout.size) entries): \(sent) packets, \(transmitDrops) drops, \(transmitQueue.refused) refused entries")
    print("netd: \(interrupts) interrupts; \(refusedFrames) malformed frames dropped")
    for (port, client) in Service.clients.enumerated() {
        guard let client else { continue }
        print("netd: client \(port) (\(client.program) on core \(client.peer.core)) \(client.address): \(client.framesIn) frames in, \(client.framesOut) out, \(client.refused) refused, \(client.ringFull) dropped (ring full)")
    }
}
