// The self-check must find what it claims to find: each test breaks one invariant by
// hand, behind the operations' backs, and expects the matching violation.

import XCTest
import CoreTestSupport
@testable import Capabilities

final class InvariantCheckTests: XCTestCase {
    var fixture = Fixture()
    var space: CSpace { fixture.space }

    override func setUp() {
        let space = space
        _ = try! fixture.core.retype(Fixture.ram, to: .frame, size: 0x1000, count: 2, into: .root(20), in: space)
        _ = try! fixture.core.retype(Fixture.ram, to: .cnode, size: 16, count: 1, into: .root(22), in: space)
        fixture.assertSound()
    }

    func record(_ address: CapabilityAddress) -> Int { Int(fixture.object(address).index) }
    func node(_ address: CapabilityAddress) -> Int { try! fixture.core.occupiedNode(at: address, in: space) }
    func kinds() -> Set<InvariantViolation.Kind> { Set(fixture.core.checkInvariants().map(\.kind)) }

    func testOverlappingSiblings() {
        fixture.core.objects[record(.root(21))].base -= 0x800
        XCTAssertTrue(kinds().contains(.siblings))
    }

    func testChildOutsideItsParent() {
        fixture.core.objects[record(.root(20))].base = Fixture.ramBase - 0x1000
        XCTAssertTrue(kinds().contains(.outsideParent))
    }

    func testBadExtent() {
        fixture.core.objects[record(.root(20))].size = 0x1001
        XCTAssertTrue(kinds().contains(.extent))
    }

    func testLeakedObject() {
        // Drop a capability without telling its object's list: the list and the slot disagree.
        let frame = node(.root(20))
        fixture.core.cnodeSlots[record(.root(22))][0] = frame
        XCTAssertTrue(kinds().contains(.slot))
        let leaked = fixture.core.createObject(type: .endpoint, base: Fixture.ramBase + 0x8_0000, size: 256,
                                               parent: record(Fixture.ram))
        XCTAssertTrue(fixture.core.checkInvariants().contains(InvariantViolation(.unreachable, leaked)))
    }

    func testRightsAndBadges() {
        fixture.core.nodes[node(.root(20))].rights = .all
        fixture.core.nodes[node(.root(21))].badge = 5
        XCTAssertEqual(kinds(), [.rights, .badge])
    }

    func testWrongRetypeParent() {
        fixture.core.objects[record(.root(20))].type = .deviceFrame
        XCTAssertTrue(kinds().contains(.retypeRule))
    }

    func testOverlappingRoots() {
        fixture.core.objects[record(Fixture.smallRAM)].base = Fixture.ramBase
        XCTAssertTrue(kinds().contains(.rootsOverlap))
    }

    func testRootIndex() {
        fixture.core.rootsByAddress.removeLast()
        XCTAssertEqual(kinds(), [.rootIndex])
    }

    func testCopyCountAndCNodeSlots() {
        fixture.core.objects[record(.root(20))].copyCount = 2
        fixture.core.cnodeSlots[record(.root(22))].append(nil)
        XCTAssertEqual(kinds(), [.copies, .cnodeSlots])
    }

    func testCountsAndNames() {
        fixture.core.freeObjects.append(0)
        XCTAssertTrue(kinds().contains(.counts))
        XCTAssertEqual("\(InvariantViolation.Kind.unreachable.name)", "unreachable object")
    }

    func testForEachCapabilityVisitsBothLevels() {
        let space = space
        try! fixture.core.copy(.root(20), to: .leaf(22, 3), in: space)
        var seen: [CapabilityAddress] = []
        try! fixture.core.forEachCapability(in: space) { address, capability in
            XCTAssertEqual(capability, fixture.identify(address))
            seen.append(address)
        }
        XCTAssertEqual(seen, [.root(0), .root(1), .root(2), .root(3), .root(4), .root(5), .root(6), .root(7),
                              .root(20), .root(21), .root(22), .leaf(22, 3)])
        XCTAssertTrue(fixture.core.hasDescendants(fixture.object(Fixture.ram)))
        XCTAssertFalse(fixture.core.hasDescendants(fixture.object(.root(20))))
    }

    func testHandMadeCapabilityAccessorsDoNotTrap() {
        let wild = Capability(type: .ioPortRange, base: UInt64.max, size: 2, rights: [])
        XCTAssertNil(wild.ioPorts)
        XCTAssertNil(Capability(type: .notify, base: 1 << 40, size: 1, rights: []).cores)
        XCTAssertNil(Capability(type: .irq, base: 3, size: UInt64.max, rights: []).interrupts)
        XCTAssertEqual(Capability(type: .notify, base: 2, size: 2, rights: []).cores, 2 ..< 4)
    }
}
