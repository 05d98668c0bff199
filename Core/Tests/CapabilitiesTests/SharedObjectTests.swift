// Objects whose capabilities cross cores: adopt, the shared mark, and the monitor's
// sweep and retype that go past it.

import XCTest
import CoreTestSupport
@testable import Capabilities

final class SharedObjectTests: XCTestCase {
    var fixture = Fixture()
    var space: CSpace { fixture.space }
    /// Memory no root of the fixture covers: another core's, as far as this one knows.
    let foreignBase: UInt64 = 0x80_0000

    func testAdoptMakesASharedRootThenCopiesOfIt() throws {
        try fixture.core.adopt(.frame, base: foreignBase, size: 0x2000, at: .root(20), in: space)
        XCTAssertEqual(fixture.identify(.root(20)).type, .frame)
        XCTAssertTrue(try fixture.core.isShared(.root(20), in: space))
        // The same object again: a second copy, not a second root.
        try fixture.core.adopt(.frame, base: foreignBase, size: 0x2000, at: .root(21), in: space)
        XCTAssertEqual(fixture.object(.root(20)), fixture.object(.root(21)))
        XCTAssertEqual(fixture.core.copyCount(of: fixture.object(.root(20))), 2)
        // A copy of this core's own memory keeps its mark: unshared until it leaves.
        _ = try fixture.core.retype(Fixture.ram, to: .frame, size: 0x1000, count: 1, into: .root(22), in: space)
        try fixture.core.adopt(.frame, base: Fixture.ramBase, size: 0x1000, mayCreateRoot: false, at: .root(23), in: space)
        XCTAssertFalse(try fixture.core.isShared(.root(23), in: space))
        fixture.assertSound()
    }

    func testAdoptRefusesOverlapsWrongTypesAndTakenSlots() {
        let space = space, base = foreignBase
        try! fixture.core.adopt(.physicalRAM, base: base, size: 0x1_0000, at: .root(20), in: space)
        // Inside the adopted RAM but not it: an overlap, refused.
        fixture.assertRefused(.regionInUse) { core throws(CapabilityError) in
            try core.adopt(.frame, base: base, size: 0x1000, at: .root(21), in: space)
        }
        // This core's own RAM, by a different extent: an overlap too.
        fixture.assertRefused(.regionInUse) { core throws(CapabilityError) in
            try core.adopt(.frame, base: Fixture.ramBase, size: 0x1000, at: .root(21), in: space)
        }
        // Only a copy of what lives where the caller forbids new roots.
        fixture.assertRefused(.regionInUse) { core throws(CapabilityError) in
            try core.adopt(.frame, base: base + 0x10_0000, size: 0x1000, mayCreateRoot: false, at: .root(21), in: space)
        }
        fixture.assertRefused(.wrongType(.cnode)) { core throws(CapabilityError) in
            try core.adopt(.cnode, base: base + 0x10_0000, size: 0x1000, at: .root(21), in: space)
        }
        fixture.assertRefused(.misaligned) { core throws(CapabilityError) in
            try core.adopt(.physicalRAM, base: base + 0x10_0800, size: 0x1000, at: .root(21), in: space)
        }
        fixture.assertRefused(.slotOccupied) { core throws(CapabilityError) in
            try core.adopt(.frame, base: base + 0x10_0000, size: 0x1000, at: .root(20), in: space)
        }
        fixture.assertSound()
    }

    /// Device frames, ports and interrupts are adopted like memory: a copy of what lives
    /// here, else a shared root; a device frame only inside the device memory named, and
    /// each only inside its own space.
    func testAdoptOfDeviceObjects() throws {
        let space = space, window: Range<UInt64> = 0xF000_0000..<0xFF00_0000
        // What lives here (the fixture is the devices' core): copies, marks as they were.
        _ = try fixture.core.retype(Fixture.device, to: .deviceFrame, size: 0x1000, count: 1, into: .root(20), in: space)
        try fixture.core.adopt(.deviceFrame, base: Fixture.deviceBase, size: 0x1000, deviceMemory: window, at: .root(21), in: space)
        XCTAssertEqual(fixture.object(.root(20)), fixture.object(.root(21)))
        XCTAssertFalse(try fixture.core.isShared(.root(21), in: space))
        _ = try fixture.core.retype(Fixture.ports, to: .ioPortRange, size: 0x20, count: 1, offset: 0xC000, into: .root(22), in: space)
        try fixture.core.adopt(.ioPortRange, base: 0xC000, size: 0x20, at: .root(23), in: space)
        XCTAssertEqual(fixture.object(.root(22)), fixture.object(.root(23)))
        XCTAssertEqual(fixture.identify(.root(23)).type, .ioPortRange)
        // Another core's device memory and interrupts: shared roots.
        try fixture.core.adopt(.deviceFrame, base: 0xFD00_0000, size: 0x2000, deviceMemory: window, at: .root(24), in: space)
        XCTAssertTrue(try fixture.core.isShared(.root(24), in: space))
        try fixture.core.adopt(.irq, base: 100, size: 1, at: .root(25), in: space)
        XCTAssertTrue(try fixture.core.isShared(.root(25), in: space))
        // Past the ports' and the interrupts' spaces.
        fixture.assertRefused(.regionExhausted) { core throws(CapabilityError) in
            try core.adopt(.ioPortRange, base: 0xFFF0, size: 0x20, at: .root(26), in: space)
        }
        fixture.assertRefused(.regionExhausted) { core throws(CapabilityError) in
            try core.adopt(.irq, base: (1 << 32) - 1, size: 2, at: .root(26), in: space)
        }
        // Ports other than a live object's overlap the ports root here.
        fixture.assertRefused(.regionInUse) { core throws(CapabilityError) in
            try core.adopt(.ioPortRange, base: 0xC000, size: 0x10, at: .root(26), in: space)
        }
        // A device frame that could be RAM: outside the device memory, whatever lives.
        for base in [Fixture.ramBase, foreignBase, 0xEFFF_F000, 0xFEFF_F000 as UInt64] {
            fixture.assertRefused(.outsideRange) { core throws(CapabilityError) in
                try core.adopt(.deviceFrame, base: base, size: 0x2000, deviceMemory: window, at: .root(26), in: space)
            }
        }
        fixture.assertRefused(.outsideRange) { core throws(CapabilityError) in
            try core.adopt(.deviceFrame, base: 0xFD00_0000, size: 0x2000, at: .root(26), in: space)
        }
        fixture.assertRefused(.wrongType(.notify)) { core throws(CapabilityError) in
            try core.adopt(.notify, base: 0, size: 1, at: .root(26), in: space)
        }
        fixture.assertSound()
    }

    func testSharedObjectsRefuseDomainsRevokeAndRetype() throws {
        let space = space
        try fixture.core.adopt(.physicalRAM, base: foreignBase, size: 0x1_0000, at: .root(20), in: space)
        fixture.assertRefused(.sharedAcrossCores) { core throws(CapabilityError) in _ = try core.revoke(.root(20), in: space) }
        fixture.assertRefused(.sharedAcrossCores) { core throws(CapabilityError) in
            _ = try core.retype(.root(20), to: .frame, size: 0x1000, count: 1, into: .root(21), in: space)
        }
        // The monitor's retype goes past the mark; a revoke of an ancestor of a shared
        // object is refused too.
        _ = try fixture.core.retype(Fixture.ram, to: .physicalRAM, size: 0x1_0000, count: 1, into: .root(22), in: space)
        _ = try fixture.core.retype(.root(22), to: .frame, size: 0x1000, count: 1, into: .root(23), in: space)
        try fixture.core.markShared(.root(23), in: space)
        fixture.assertRefused(.sharedAcrossCores) { core throws(CapabilityError) in _ = try core.revoke(.root(22), in: space) }
        fixture.assertRefused(.sharedAcrossCores) { core throws(CapabilityError) in _ = try core.revoke(Fixture.ram, in: space) }
        fixture.assertSound()
    }

    func testMarkIsRefusedForRAMWithDescendantsMadeBeforeIt() throws {
        let space = space
        _ = try fixture.core.retype(Fixture.ram, to: .frame, size: 0x1000, count: 1, into: .root(20), in: space)
        fixture.assertRefused(.regionInUse) { core throws(CapabilityError) in try core.markShared(Fixture.ram, in: space) }
        try fixture.core.markShared(.root(20), in: space)                  // a frame has none
        XCTAssertTrue(try fixture.core.isShared(.root(20), in: space))
    }

    func testSweepRemovesCopiesAndDescendantsOfSharedObjects() throws {
        try fixture.core.adopt(.physicalRAM, base: foreignBase, size: 0x1_0000, at: .root(20), in: space)
        try fixture.core.copy(.root(20), to: .root(21), in: space)
        _ = try fixture.core.retypeShared(.root(20), to: .frame, size: 0x1000, count: 1, offset: 0x3000, into: .root(22), in: space)
        XCTAssertEqual(fixture.identify(.root(22)).base, foreignBase + 0x3000)
        let frame = fixture.object(.root(22))
        let reclaimed = try fixture.core.sweep(.root(20), in: space)
        XCTAssertEqual(reclaimed.map(\.object), [frame])
        XCTAssertEqual(fixture.identify(.root(21)), .null)
        XCTAssertEqual(fixture.identify(.root(22)), .null)
        XCTAssertEqual(fixture.identify(.root(20)).type, .physicalRAM)
        // The last copy of an adopted root goes like any root's.
        XCTAssertEqual(try fixture.core.delete(.root(20), in: space).map(\.wasRoot), [true])
        fixture.assertSound()
    }
}
