// rtc: a device driver in user mode, and the guest test of interrupts and I/O ports for
// user domains. It asks the bootstrap core's monitor for the CMOS real-time clock's
// ports (0x70 index, 0x71 data) and its interrupt (ISA IRQ 8), connects the IRQ to an
// endpoint, turns on the RTC's periodic interrupt (register A's rate, register B's
// PIE bit), and sleeps on the endpoint until `count` interrupts came (default 16);
// each message's count says how many interrupts it stands for, and each must be
// answered by reading register C, or the RTC raises no more. Then it lets interrupts
// come without receiving (re-arming the RTC all the while), and checks they were
// counted into one message instead of queued. Last it turns the interrupt off,
// disconnects, and checks what a driver may not do: ports outside its range, an
// interrupt outside its own, a second connect, a bad width. Exit 0 on success.
//
// Run it on core 0 (only that core's monitor holds the roots): `run rtc [count]`. On
// another core, `rtc elsewhere` checks that its monitor says `noSuchCore` instead.
// `rtc abandon` connects the IRQ and exits: the kernel must mask and forget it, so the
// next driver can connect. (The RTC stays quiet meanwhile: an interrupt on the dead
// endpoint would make the kernel forget the IRQ by another path.)
import SwordfishUser
import UserRuntimeC

let ports = Capability(slot: 2)
let interrupt = Capability(slot: 3)
let events = Capability(slot: 4)
let narrowed = Capability(slot: 5)
let irq: UInt8 = 8
let wanted = UInt64(arguments.integer(at: 0) ?? 16)

func fail(_ message: String) -> Never {
    print("rtc: \(message)")
    exit(1)
}

/// CMOS register `index` (port 0x70 selects, 0x71 carries the data).
func readRegister(_ index: UInt32) throws(InvocationStatus) -> UInt32 {
    try ports.write(port: 0x70, value: index)
    return try ports.read(port: 0x71)
}

func writeRegister(_ index: UInt32, _ value: UInt32) throws(InvocationStatus) {
    try ports.write(port: 0x70, value: index)
    try ports.write(port: 0x71, value: value)
}

/// Expects `body` to be refused with `expected`.
func expectRefusal(_ what: String, _ expected: InvocationStatus, _ body: () throws(InvocationStatus) -> Void) {
    if let problem = unexpectedOutcome(of: what, expecting: expected, body) { fail(problem) }
}

let registerA: UInt32 = 0x0A, registerB: UInt32 = 0x0B, registerC: UInt32 = 0x0C
/// Register B's periodic interrupt enable.
let periodicEnable: UInt32 = 1 << 6
/// Register A's rate 10: 32768 >> 9 = 64 interrupts a second.
let rate: UInt32 = 10
/// How long interrupts come unreceived: 2^29 TSC cycles, a fifth of a second at 2.7 GHz.
let unreceivedCycles: UInt64 = 1 << 29

if arguments.first == "elsewhere" {
    for (what, ask) in [("ports", { () throws(MonitorStatus) in try Monitor.ioPorts(0x70, count: 2, into: ports) }),
                        ("interrupt", { () throws(MonitorStatus) in try Monitor.interrupt(irq, into: interrupt) })] {
        do throws(MonitorStatus) {
            try ask()
            fail("a monitor other than core 0's gave the RTC's \(what)")
        } catch {
            if error != .noSuchCore { fail("asking this core's monitor for the RTC's \(what): \(error), expected noSuchCore") }
        }
    }
    print("rtc: only core 0's monitor gives device capabilities")
    exit(0)
}

do throws(MonitorStatus) {
    try Monitor.ioPorts(0x70, count: 2, into: ports)
    try Monitor.interrupt(irq, into: interrupt)
} catch {
    fail("the monitor refused the RTC's ports or interrupt: \(error)")
}

if arguments.first == "abandon" {
    do throws(InvocationStatus) {
        try Capability.ram.retype(to: .endpoint, into: events)
        try interrupt.connect(irq: irq, to: events)
    } catch {
        fail("connecting IRQ 8 to leave it: \(error)")
    }
    print("rtc: leaving IRQ 8 connected")
    exit(0)
}

var received: UInt64 = 0
var messages = 0
var coalesced: UInt64 = 0
do throws(InvocationStatus) {
    try Capability.ram.retype(to: .endpoint, into: events)
    _ = try readRegister(registerC)                          // drop a flag left from before
    try interrupt.connect(irq: irq, to: events)
    expectRefusal("a second connect of IRQ 8", .alreadyConnected) { () throws(InvocationStatus) in
        try interrupt.connect(irq: irq, to: events)
    }
    try writeRegister(registerA, try readRegister(registerA) & 0xF0 | rate)
    try writeRegister(registerB, try readRegister(registerB) | periodicEnable)
    while received < wanted {
        let words: [UInt64]
        do throws(InvocationStatus) {
            words = try events.receive()
        } catch .endpointEmpty {
            try events.wait()
            continue
        }
        guard let message = InterruptMessage(words: (words[0], words[1], words[2])), message.irq == irq else {
            fail("a message that is not IRQ 8's: \(words[0]) \(words[1]) \(words[2])")
        }
        received += message.count
        messages += 1
        // Reading register C acknowledges the interrupt: without it the RTC stays quiet.
        let flags = try readRegister(registerC)
        if flags & 0x40 == 0 && messages == 1 { fail("register C shows no periodic interrupt: \(flags)") }
    }
    // Interrupts that come while none is received are counted into one message.
    let start = user_timestamp()
    while user_timestamp() &- start < unreceivedCycles { _ = try readRegister(registerC) }
    try writeRegister(registerB, try readRegister(registerB) & ~periodicEnable)
    _ = try readRegister(registerC)
    let words = try events.receive()
    guard let message = InterruptMessage(words: (words[0], words[1], words[2])), message.count >= 2 else {
        fail("interrupts that came unreceived are not counted into one message: \(words[0]) \(words[1]) \(words[2])")
    }
    expectRefusal("a second message after the coalesced one", .endpointEmpty) { () throws(InvocationStatus) in
        _ = try events.receive()
    }
    coalesced = message.count
    try interrupt.disconnect(irq: irq)
} catch {
    fail("driving the RTC: \(error)")
}

// What a driver may not do.
expectRefusal("disconnecting twice", .notConnected) { () throws(InvocationStatus) in try interrupt.disconnect(irq: irq) }
expectRefusal("reading port 0x72", .outsideRange) { () throws(InvocationStatus) in _ = try ports.read(port: 0x72) }
expectRefusal("writing port 0x6F", .outsideRange) { () throws(InvocationStatus) in try ports.write(port: 0x6F, value: 0) }
expectRefusal("reading a word at 0x71", .outsideRange) { () throws(InvocationStatus) in _ = try ports.read(port: 0x71, width: .word) }
expectRefusal("writing 0x100 as a byte", .badWidth) { () throws(InvocationStatus) in
    let (status, _) = Capability.invokeRaw(ports.address.encoded, CapabilityOperation.portOut.rawValue, 0x70, 1, 0x100)
    throw InvocationStatus(rawValue: status) ?? .unknownOperation
}
expectRefusal("reading 3 bytes", .badWidth) { () throws(InvocationStatus) in
    let (status, _) = Capability.invokeRaw(ports.address.encoded, CapabilityOperation.portIn.rawValue, 0x70, 3)
    throw InvocationStatus(rawValue: status) ?? .unknownOperation
}
expectRefusal("connecting IRQ 9", .outsideRange) { () throws(InvocationStatus) in try interrupt.connect(irq: 9, to: events) }
expectRefusal("connecting to the ports", .wrongType) { () throws(InvocationStatus) in try interrupt.connect(irq: irq, to: ports) }
expectRefusal("reading ports with the interrupt", .wrongType) { () throws(InvocationStatus) in _ = try interrupt.read(port: 0x70) }
do throws(InvocationStatus) {
    try ports.narrow(first: 0x71, count: 1, into: narrowed)
    _ = try narrowed.read(port: 0x71)
} catch {
    fail("narrowing to port 0x71: \(error)")
}
expectRefusal("reading port 0x70 through the narrowed capability", .outsideRange) { () throws(InvocationStatus) in
    _ = try narrowed.read(port: 0x70)
}
do throws(MonitorStatus) {
    try Monitor.ioPorts(0x70, count: 1, into: Capability(slot: 6))
    fail("the monitor gave port 0x70 twice")
} catch {
    if error != .unavailable { fail("a second request for port 0x70 answered \(error), expected unavailable") }
}
// Ranges below one in use are given out too (the monitor keeps no order).
do throws(MonitorStatus) {
    try Monitor.ioPorts(0x61, count: 1, into: Capability(slot: 7))
} catch {
    fail("port 0x61 while 0x70-0x71 are in use: \(error)")
}
print("rtc: \(received) interrupts of IRQ 8 in \(messages) messages, then \(coalesced) in one; every refusal was right")
