import XCTest
import CoreTestSupport
import Basics
@testable import Capabilities

/// Port I/O, narrowing and interrupt connection invocations: the words decode as the
/// user library encodes them, and every refusal (width, value, range, rights, type) is
/// the status it should be and changes nothing.
final class DeviceInvocationTests: XCTestCase {
    private func decode(_ words: InvocationWords) throws(InvocationError) -> Invocation {
        try Invocation.decode(operation: words.operation.rawValue, words.a0, words.a1, words.a2, words.a3)
    }

    private func refused(_ words: InvocationWords, _ expected: InvocationError, line: UInt = #line) {
        XCTAssertThrowsError(try decode(words), line: line) { XCTAssertEqual($0 as? InvocationError, expected, line: line) }
    }

    func testDeviceOperationsDecodeAsEncoded() throws {
        XCTAssertEqual(try decode(.portIn(0x71, width: .byte)), .portIn(port: 0x71, width: .byte))
        XCTAssertEqual(try decode(.portOut(0xCF8, width: .doubleWord, value: 0x8000_0000)),
                       .portOut(port: 0xCF8, width: .doubleWord, value: 0x8000_0000))
        XCTAssertEqual(try decode(.narrow(first: 0x70, count: 2, into: .root(9))), .narrow(first: 0x70, count: 2, destination: .root(9)))
        XCTAssertEqual(try decode(.connect(irq: 8, endpoint: .leaf(3, 4))), .connect(irq: 8, endpoint: .leaf(3, 4)))
        XCTAssertEqual(try decode(.connectMessageSignalled(irq: 11, endpoint: .leaf(3, 4))),
                       .connectMessageSignalled(irq: 11, endpoint: .leaf(3, 4)))
        XCTAssertEqual(try decode(.disconnect(irq: 8)), .disconnect(irq: 8))
        XCTAssertEqual(try decode(.acknowledge(irq: 11)), .acknowledge(irq: 11))
        XCTAssertEqual(try decode(.physicalAddress), .physicalAddress)
    }

    func testBadWidthsAndValuesAreRefusedWhileDecoding() {
        for width: UInt64 in [0, 3, 5, 8, .max] {
            refused(InvocationWords(.portIn, 0x70, width), .badWidth(width))
            refused(InvocationWords(.portOut, 0x70, width, 0), .badWidth(width))
        }
        refused(InvocationWords(.portOut, 0x70, 1, 0x100), .badWidth(1))
        refused(InvocationWords(.portOut, 0x70, 2, 0x1_0000), .badWidth(2))
        refused(InvocationWords(.portOut, 0x70, 4, 0x1_0000_0000), .badWidth(4))
        refused(InvocationWords(.narrow, 0, 1, 1 << 40), .badAddress)
        refused(InvocationWords(.connect, 8, 1 << 40), .badAddress)
        refused(InvocationWords(.connectMessageSignalled, 11, 1 << 40), .badAddress)
        XCTAssertEqual(InvocationStatus(InvocationError.badWidth(3)), .badWidth)
    }

    func testPortAccessMustLieInsideTheRange() throws {
        var fixture = Fixture()
        let space = fixture.space
        try fixture.core.retype(Fixture.ports, to: .ioPortRange, size: 2, count: 1, offset: 0x70, into: .root(20), in: space)
        let ports = CapabilityAddress.root(20)
        for invocation: Invocation in [.portIn(port: 0x70, width: .byte), .portIn(port: 0x71, width: .byte),
                                       .portIn(port: 0x70, width: .word), .portOut(port: 0x71, width: .byte, value: 1)] {
            XCTAssertNoThrow(try invocation.perform(on: &fixture.core, target: ports, in: space), "\(invocation)")
        }
        for invocation: Invocation in [.portIn(port: 0x6F, width: .byte), .portIn(port: 0x72, width: .byte),
                                       .portIn(port: 0x71, width: .word), .portIn(port: 0x70, width: .doubleWord),
                                       .portIn(port: 0x6F, width: .word), .portOut(port: 0x72, width: .byte, value: 0),
                                       .portIn(port: 1 << 16, width: .byte), .portIn(port: .max, width: .doubleWord)] {
            fixture.assertRefused(.outsideRange) { core throws(CapabilityError) in
                _ = try invocation.perform(on: &core, target: ports, in: space)
            }
        }
    }

    func testPortAccessNeedsTheRightAndTheType() throws {
        var fixture = Fixture()
        let space = fixture.space
        try fixture.core.mint(Fixture.ports, to: .root(20), rights: .read, badge: 0, in: space)
        try fixture.core.mint(Fixture.ports, to: .root(21), rights: .write, badge: 0, in: space)
        XCTAssertNoThrow(try Invocation.portIn(port: 0x70, width: .byte).perform(on: &fixture.core, target: .root(20), in: space))
        XCTAssertNoThrow(try Invocation.portOut(port: 0x70, width: .byte, value: 0).perform(on: &fixture.core, target: .root(21), in: space))
        fixture.assertRefused(.insufficientRights) { core throws(CapabilityError) in
            _ = try Invocation.portOut(port: 0x70, width: .byte, value: 0).perform(on: &core, target: .root(20), in: space)
        }
        fixture.assertRefused(.insufficientRights) { core throws(CapabilityError) in
            _ = try Invocation.portIn(port: 0x70, width: .byte).perform(on: &core, target: .root(21), in: space)
        }
        fixture.assertRefused(.wrongType(.irq)) { core throws(CapabilityError) in
            _ = try Invocation.portIn(port: 40, width: .byte).perform(on: &core, target: Fixture.interrupts, in: space)
        }
        fixture.assertRefused(.slotEmpty) { core throws(CapabilityError) in
            _ = try Invocation.portIn(port: 0x70, width: .byte).perform(on: &core, target: .root(30), in: space)
        }
    }

    func testNarrowMakesAChildForExactlyTheRange() throws {
        var fixture = Fixture()
        let space = fixture.space
        try fixture.core.mint(Fixture.ports, to: .root(20), rights: .read, badge: 0, in: space)
        _ = try Invocation.narrow(first: 0x70, count: 2, destination: .root(21)).perform(on: &fixture.core, target: .root(20), in: space)
        XCTAssertEqual(fixture.identify(.root(21)), Capability(type: .ioPortRange, base: 0x70, size: 2, rights: .read))
        _ = try Invocation.narrow(first: 40, count: 1, destination: .root(22)).perform(on: &fixture.core, target: Fixture.interrupts, in: space)
        XCTAssertEqual(fixture.identify(.root(22)).interrupts, 40 ..< 41)
        _ = try Invocation.narrow(first: 3, count: 1, destination: .root(23)).perform(on: &fixture.core, target: Fixture.notify, in: space)
        XCTAssertEqual(fixture.identify(.root(23)).cores, 3 ..< 4)
        fixture.assertSound()
        // A revoke of the range removes what was narrowed from it.
        _ = try fixture.core.revoke(Fixture.ports, in: space)
        XCTAssertTrue(fixture.identify(.root(21)).isNull)
        fixture.assertSound()
    }

    func testNarrowRefusals() throws {
        var fixture = Fixture()
        let space = fixture.space
        func narrow(_ first: UInt64, _ count: UInt64, from target: CapabilityAddress, into slot: UInt32 = 20)
            -> (inout CoreCapabilities) throws(CapabilityError) -> Void {
            { core throws(CapabilityError) in
                _ = try Invocation.narrow(first: first, count: count, destination: .root(slot)).perform(on: &core, target: target, in: space)
            }
        }
        fixture.assertRefused(.outsideRange, narrow(31, 1, from: Fixture.interrupts))
        fixture.assertRefused(.outsideRange, narrow(63, 2, from: Fixture.interrupts))
        fixture.assertRefused(.outsideRange, narrow(40, 0, from: Fixture.interrupts))
        fixture.assertRefused(.outsideRange, narrow(.max, 2, from: Fixture.ports))
        fixture.assertRefused(.outsideRange, narrow(0xFFFF, 2, from: Fixture.ports))
        fixture.assertRefused(.wrongType(.physicalRAM), narrow(0, 1, from: Fixture.ram))
        fixture.assertRefused(.wrongType(.kernel), narrow(0, 1, from: Fixture.kernel))
        fixture.assertRefused(.slotOccupied, narrow(0x70, 2, from: Fixture.ports, into: 1))
        try narrow(0x70, 2, from: Fixture.ports)(&fixture.core)
        for (first, count): (UInt64, UInt64) in [(0x70, 1), (0x71, 1), (0x6F, 2), (0x71, 4), (0, 0x1_0000)] {
            fixture.assertRefused(.regionInUse, narrow(first, count, from: Fixture.ports, into: 21))
        }
        fixture.assertSound()
    }

    func testNarrowCutsDeviceMemoryInWholePages() throws {
        var fixture = Fixture()
        let space = fixture.space
        let window = CapabilityAddress.root(25), bar: UInt64 = 0xFEBC_0000
        try fixture.core.createRoot(.deviceFrame, base: 0xE000_0000, size: 0x1EC0_0000, at: window, in: space)
        try fixture.core.narrow(window, first: bar, count: 0x2_0000, into: .root(26), in: space)
        XCTAssertEqual(fixture.identify(.root(26)), Capability(type: .deviceFrame, base: bar, size: 0x2_0000, rights: [.read, .write, .execute]))
        try fixture.core.narrow(window, first: 0xE000_0000, count: 4096, into: .root(27), in: space)
        fixture.assertSound()
        func narrow(_ first: UInt64, _ count: UInt64) -> (inout CoreCapabilities) throws(CapabilityError) -> Void {
            { core throws(CapabilityError) in try core.narrow(window, first: first, count: count, into: .root(28), in: space) }
        }
        fixture.assertRefused(.misaligned, narrow(bar + 8, 4096))
        fixture.assertRefused(.misaligned, narrow(0xF000_0000, 100))
        fixture.assertRefused(.outsideRange, narrow(0xFEE0_0000, 4096))          // the local APIC lies past it
        fixture.assertRefused(.outsideRange, narrow(0x10_0000, 4096))            // RAM is not in it
        fixture.assertRefused(.outsideRange, narrow(0xF000_0000, 0))
        fixture.assertRefused(.regionInUse, narrow(bar + 0x1000, 4096))
        // A frame of RAM is no device memory to cut.
        try fixture.core.retype(Fixture.ram, to: .frame, size: 4096, count: 1, into: .root(29), in: space)
        fixture.assertRefused(.wrongType(.frame)) { core throws(CapabilityError) in
            try core.narrow(.root(29), first: 0, count: 4096, into: .root(28), in: space)
        }
        _ = try fixture.core.revoke(window, in: space)
        XCTAssertTrue(fixture.identify(.root(26)).isNull)
        fixture.assertSound()
    }

    func testNarrowTakesRangesInAnyOrder() throws {
        var fixture = Fixture()
        let space = fixture.space
        let ranges: [(UInt64, UInt64)] = [(0x3F8, 8), (0x70, 2), (0x60, 1), (0x72, 6), (0xFFFF, 1), (0, 1), (0x64, 1)]
        for (index, (first, count)) in ranges.enumerated() {
            try fixture.core.narrow(Fixture.ports, first: first, count: count, into: .root(UInt32(20 + index)), in: space)
            fixture.assertSound()
        }
        XCTAssertEqual(ranges.indices.map { fixture.identify(.root(UInt32(20 + $0))).ioPorts },
                       ranges.map { UInt32($0.0) ..< UInt32($0.0 + $0.1) })
        // A freed range is free again, wherever it lies; retype still goes above the last child.
        _ = try fixture.core.delete(.root(21), in: space)
        try fixture.core.narrow(Fixture.ports, first: 0x71, count: 1, into: .root(21), in: space)
        fixture.assertRefused(.regionExhausted) { core throws(CapabilityError) in
            _ = try core.retype(Fixture.ports, to: .ioPortRange, size: 1, count: 1, into: .root(30), in: space)
        }
        _ = try fixture.core.revoke(Fixture.ports, in: space)
        XCTAssertTrue(ranges.indices.allSatisfy { fixture.identify(.root(UInt32(20 + $0))).isNull })
        fixture.assertSound()
    }

    func testConnectChecksTheInterruptAndTheEndpoint() throws {
        var fixture = Fixture()
        let space = fixture.space
        _ = try fixture.core.retype(Fixture.ram, to: .endpoint, size: 0, count: 1, into: .root(20), in: space)
        try fixture.core.mint(.root(20), to: .root(21), rights: .read, badge: 0, in: space)
        try fixture.core.mint(Fixture.interrupts, to: .root(22), rights: .write, badge: 0, in: space)
        let connect = Invocation.connect(irq: 40, endpoint: .root(20))
        XCTAssertNoThrow(try connect.perform(on: &fixture.core, target: Fixture.interrupts, in: space))
        XCTAssertNoThrow(try Invocation.disconnect(irq: 63).perform(on: &fixture.core, target: Fixture.interrupts, in: space))
        func refuse(_ expected: CapabilityError, _ invocation: Invocation, on target: CapabilityAddress = Fixture.interrupts, line: UInt = #line) {
            fixture.assertRefused(expected, line: line) { core throws(CapabilityError) in
                _ = try invocation.perform(on: &core, target: target, in: space)
            }
        }
        refuse(.outsideRange, .connect(irq: 31, endpoint: .root(20)))
        refuse(.outsideRange, .connect(irq: 64, endpoint: .root(20)))
        refuse(.outsideRange, .disconnect(irq: 8))
        refuse(.wrongType(.physicalRAM), .connect(irq: 40, endpoint: Fixture.ram))
        refuse(.slotEmpty, .connect(irq: 40, endpoint: .root(30)))
        refuse(.insufficientRights, .connect(irq: 40, endpoint: .root(21)))
        refuse(.insufficientRights, connect, on: .root(22))
        refuse(.insufficientRights, .disconnect(irq: 40), on: .root(22))
        refuse(.wrongType(.ioPortRange), connect, on: Fixture.ports)
        refuse(.wrongType(.ioPortRange), .disconnect(irq: 40), on: Fixture.ports)
        // Acknowledging a level-triggered line is checked as disconnecting it is.
        XCTAssertNoThrow(try Invocation.acknowledge(irq: 40).perform(on: &fixture.core, target: Fixture.interrupts, in: space))
        refuse(.outsideRange, .acknowledge(irq: 8))
        refuse(.insufficientRights, .acknowledge(irq: 40), on: .root(22))
        refuse(.wrongType(.ioPortRange), .acknowledge(irq: 40), on: Fixture.ports)
    }

    /// A message-signalled interrupt is authorised exactly as a line is: the interrupt
    /// capability's range and read right, an endpoint with the write right.
    func testConnectMessageSignalledChecksTheInterruptAndTheEndpoint() throws {
        var fixture = Fixture()
        let space = fixture.space
        _ = try fixture.core.retype(Fixture.ram, to: .endpoint, size: 0, count: 1, into: .root(20), in: space)
        try fixture.core.mint(.root(20), to: .root(21), rights: .read, badge: 0, in: space)
        try fixture.core.mint(Fixture.interrupts, to: .root(22), rights: .write, badge: 0, in: space)
        let connect = Invocation.connectMessageSignalled(irq: 40, endpoint: .root(20))
        XCTAssertNoThrow(try connect.perform(on: &fixture.core, target: Fixture.interrupts, in: space))
        XCTAssertNoThrow(try Invocation.connectMessageSignalled(irq: 63, endpoint: .root(20))
            .perform(on: &fixture.core, target: Fixture.interrupts, in: space))
        func refuse(_ expected: CapabilityError, _ invocation: Invocation, on target: CapabilityAddress = Fixture.interrupts, line: UInt = #line) {
            fixture.assertRefused(expected, line: line) { core throws(CapabilityError) in
                _ = try invocation.perform(on: &core, target: target, in: space)
            }
        }
        refuse(.outsideRange, .connectMessageSignalled(irq: 31, endpoint: .root(20)))
        refuse(.outsideRange, .connectMessageSignalled(irq: 64, endpoint: .root(20)))
        refuse(.outsideRange, .connectMessageSignalled(irq: 1 << 40, endpoint: .root(20)))
        refuse(.wrongType(.physicalRAM), .connectMessageSignalled(irq: 40, endpoint: Fixture.ram))
        refuse(.slotEmpty, .connectMessageSignalled(irq: 40, endpoint: .root(30)))
        refuse(.insufficientRights, .connectMessageSignalled(irq: 40, endpoint: .root(21)))
        refuse(.insufficientRights, connect, on: .root(22))
        refuse(.wrongType(.ioPortRange), connect, on: Fixture.ports)
        refuse(.wrongType(.endpoint), connect, on: .root(20))
        refuse(.slotEmpty, connect, on: .root(30))
    }

    /// A core's vectors for device interrupts: lowest free first, an IRQ once per core
    /// whichever way it is connected, and a refusal when the range is used up.
    func testDeviceVectorsAreAllocatedOncePerIRQUntilNoneIsLeft() {
        XCTAssertEqual(DeviceVectors.allocate(for: 11, connected: [], inUse: []), .success(48))
        XCTAssertEqual(DeviceVectors.allocate(for: 11, connected: [4], inUse: [48, 50]), .success(49))
        XCTAssertEqual(DeviceVectors.allocate(for: 11, connected: [4, 11], inUse: [48, 49]), .failure(.alreadyConnected))
        let all = Array(DeviceVectors.range)
        XCTAssertEqual(all.count, 200)
        XCTAssertEqual(DeviceVectors.allocate(for: 11, connected: [], inUse: all), .failure(.noFreeVector))
        XCTAssertEqual(DeviceVectors.allocate(for: 11, connected: [], inUse: Array(all.dropLast())), .success(247))
        // Vectors outside the range (the CPU driver's own) never count as free or taken.
        XCTAssertEqual(DeviceVectors.allocate(for: 11, connected: [], inUse: [32, 250, 255]), .success(48))
        XCTAssertTrue(DeviceVectors.range.allSatisfy { $0 >= 48 && $0 < 248 })
    }

    /// The answer's word round-trips the address and data; an address of zero is no
    /// answer.
    func testMessageSignalledTargetsRoundTrip() {
        let target = MessageSignalledTarget(address: 0xFEE0_1000, data: 0x30)
        XCTAssertEqual(target.word, 0x30_FEE0_1000)
        XCTAssertEqual(MessageSignalledTarget(word: target.word), target)
        XCTAssertNil(MessageSignalledTarget(word: 0))
        XCTAssertNil(MessageSignalledTarget(word: 0x30_0000_0000))
    }

    func testPhysicalAddressIsAnsweredForMemoryOnly() throws {
        var fixture = Fixture()
        let space = fixture.space
        _ = try fixture.core.retype(Fixture.ram, to: .frame, size: 0x2000, count: 2, into: .root(20), in: space)
        _ = try fixture.core.retype(Fixture.device, to: .deviceFrame, size: 4096, count: 1, into: .root(22), in: space)
        let physicalAddress = Invocation.physicalAddress
        XCTAssertEqual(try physicalAddress.perform(on: &fixture.core, target: Fixture.ram, in: space).value, Fixture.ramBase)
        XCTAssertEqual(try physicalAddress.perform(on: &fixture.core, target: .root(21), in: space).value, Fixture.ramBase + 0x2000)
        XCTAssertEqual(try physicalAddress.perform(on: &fixture.core, target: .root(22), in: space).value,
                       fixture.identify(Fixture.device).base)
        for (target, type) in [(Fixture.ports, CapabilityType.ioPortRange), (Fixture.interrupts, .irq), (Fixture.kernel, .kernel)] {
            fixture.assertRefused(.wrongType(type)) { core throws(CapabilityError) in
                _ = try physicalAddress.perform(on: &core, target: target, in: space)
            }
        }
        fixture.assertRefused(.slotEmpty) { core throws(CapabilityError) in
            _ = try physicalAddress.perform(on: &core, target: .root(30), in: space)
        }
    }

    func testRandomDeviceInvocationsNeverBreakTheInvariants() {
        var fixture = Fixture()
        let space = fixture.space
        var generator = SeededGenerator(seed: 0xDE71CE)
        let operations: [CapabilityOperation] = [.narrow, .portIn, .portOut, .connect, .connectMessageSignalled, .disconnect, .delete, .revoke]
        for step in 0 ..< 20_000 {
            let words = (0 ..< 3).map { _ -> UInt64 in
                switch generator.next() % 4 {
                case 0: return generator.next()
                case 1: return 0x60 + generator.next() % 0x40
                default: return generator.next() % 70
                }
            }
            let operation = operations[Int(generator.next() % UInt64(operations.count))]
            let target = CapabilityAddress.root(UInt32(2 + generator.next() % 30))
            guard let invocation = try? Invocation.decode(operation: operation.rawValue, words[0], words[1], words[2], 0) else { continue }
            _ = try? invocation.perform(on: &fixture.core, target: target, in: space)
            if step % 1_000 == 0 { XCTAssertEqual(fixture.core.checkInvariants(), [], "step \(step)") }
        }
        fixture.assertSound()
    }
}

final class InterruptMessageTests: XCTestCase {
    func testRoundTripsAndRefusesOtherWords() {
        let message = InterruptMessage(irq: 8, count: 3)
        XCTAssertEqual(InterruptMessage(words: message.words), message)
        XCTAssertNil(InterruptMessage(words: (1, 8, 3)))
        XCTAssertNil(InterruptMessage(words: (InterruptMessage.marker, 256, 3)))
        XCTAssertNil(InterruptMessage(words: (InterruptMessage.marker, 8, 0)))
    }
}
