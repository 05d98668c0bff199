// Shared fixtures for the capability tests: a seeded generator, and a core with one
// CSpace and one root of every kind the kernel creates at boot.

import XCTest
import CoreTestSupport
import Basics
@testable import Capabilities


/// A core with one 64-slot CSpace whose root slots hold, from slot 1 on, a root of each
/// boot-time kind. Slot 0 holds the CSpace's own CNode.
struct Fixture {
    var core = CoreCapabilities()
    let space: CSpace

    static let cnodeBase: UInt64 = 0x1_0000
    static let ram = CapabilityAddress.root(1)          // 1 MiB at 1 MiB
    static let device = CapabilityAddress.root(2)       // 64 KiB of MMIO
    static let ports = CapabilityAddress.root(3)        // ports 0 ..< 65536
    static let interrupts = CapabilityAddress.root(4)   // interrupts 32 ..< 64
    static let notify = CapabilityAddress.root(5)       // cores 0 ..< 4
    static let kernel = CapabilityAddress.root(6)
    static let smallRAM = CapabilityAddress.root(7)     // 64 KiB at 4 MiB

    static let ramBase: UInt64 = 0x10_0000
    static let ramSize: UInt64 = 0x10_0000
    static let deviceBase: UInt64 = 0xFEE0_0000

    init() {
        space = try! core.createCSpace(at: PhysicalAddress(Self.cnodeBase), slotCount: 64)
        try! core.createRoot(.physicalRAM, base: Self.ramBase, size: Self.ramSize, at: Self.ram, in: space)
        try! core.createRoot(.deviceFrame, base: Self.deviceBase, size: 0x1_0000, at: Self.device, in: space)
        try! core.createRoot(.ioPortRange, base: 0, size: 0x1_0000, at: Self.ports, in: space)
        try! core.createRoot(.irq, base: 32, size: 32, at: Self.interrupts, in: space)
        try! core.createRoot(.notify, base: 0, size: 4, at: Self.notify, in: space)
        try! core.createRoot(.kernel, base: 0, size: 0, at: Self.kernel, in: space)
        try! core.createRoot(.physicalRAM, base: 0x40_0000, size: 0x1_0000, at: Self.smallRAM, in: space)
    }

    func identify(_ address: CapabilityAddress) -> Capability { try! core.identify(address, in: space) }
    func object(_ address: CapabilityAddress) -> ObjectID { try! core.lookup(address, in: space).1 }

    /// Asserts that `body` fails with `expected` and leaves the state exactly as it was.
    mutating func assertRefused(_ expected: CapabilityError,
                                file: StaticString = #filePath, line: UInt = #line,
                                _ body: (inout CoreCapabilities) throws(CapabilityError) -> Void) {
        let before = core
        do {
            try body(&core)
            XCTFail("expected \(expected), but it succeeded", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
        XCTAssertEqual(core, before, "a refused operation changed the state", file: file, line: line)
    }

    func assertSound(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(core.checkInvariants(), [], file: file, line: line)
    }
}
