// Delete and revoke: what dies, what lives on, and what the kernel is told to reclaim.

import XCTest
import CoreTestSupport
@testable import Capabilities

final class DeleteRevokeTests: XCTestCase {
    var fixture = Fixture()
    var space: CSpace { fixture.space }

    func retype(_ source: CapabilityAddress = Fixture.ram, to type: CapabilityType, size: UInt64,
                count: Int = 1, into destination: CapabilityAddress) {
        _ = try! fixture.core.retype(source, to: type, size: size, count: count, into: destination, in: space)
    }

    func testDeletingTheLastCopyReclaims() {
        retype(to: .frame, size: 0x2000, into: .root(20))
        try! fixture.core.copy(.root(20), to: .root(21), in: space)
        let frame = fixture.object(.root(20))
        XCTAssertEqual(try fixture.core.delete(.root(20), in: space), [])
        XCTAssertTrue(fixture.core.isAlive(frame))
        XCTAssertEqual(fixture.identify(.root(20)), .null)
        let reclaimed = try! fixture.core.delete(.root(21), in: space)
        XCTAssertEqual(reclaimed, [Reclaimed(object: frame, type: .frame, base: Fixture.ramBase, size: 0x2000,
                                             wasRoot: false)])
        XCTAssertFalse(fixture.core.isAlive(frame))
        XCTAssertEqual(fixture.core.watermark(of: fixture.object(Fixture.ram)), 0)
        let space = space
        fixture.assertRefused(.slotEmpty) { core throws(CapabilityError) in _ = try core.delete(.root(21), in: space) }
        fixture.assertRefused(.slotEmpty) { core throws(CapabilityError) in _ = try core.revoke(.root(21), in: space) }
        fixture.assertRefused(.invalidSlot) { core throws(CapabilityError) in _ = try core.delete(.root(99), in: space) }
        fixture.assertSound()
    }

    func testDeletingARootReportsItAsRoot() {
        let ram = fixture.object(Fixture.smallRAM)
        let reclaimed = try! fixture.core.delete(Fixture.smallRAM, in: space)
        XCTAssertEqual(reclaimed, [Reclaimed(object: ram, type: .physicalRAM, base: 0x40_0000, size: 0x1_0000,
                                             wasRoot: true)])
        fixture.assertSound()
    }

    /// Deleting a capability whose object has children deletes only that capability; the
    /// object lingers without capabilities until its last child dies, then both go.
    func testDeletingAParentLeavesItsChildren() {
        retype(Fixture.smallRAM, to: .frame, size: 0x1000, count: 2, into: .root(20))
        let ram = fixture.object(Fixture.smallRAM)
        XCTAssertEqual(try fixture.core.delete(Fixture.smallRAM, in: space), [])
        XCTAssertTrue(fixture.core.isAlive(ram))
        XCTAssertEqual(fixture.core.copyCount(of: ram), 0)
        XCTAssertEqual(fixture.identify(.root(21)).base, 0x40_1000)
        fixture.assertSound()
        XCTAssertEqual(try fixture.core.delete(.root(20), in: space).count, 1)
        let last = try! fixture.core.delete(.root(21), in: space)
        XCTAssertEqual(last.map(\.type), [.frame, .physicalRAM])
        XCTAssertEqual(last.last?.wasRoot, true)
        XCTAssertFalse(fixture.core.isAlive(ram))
        fixture.assertSound()
    }

    func testRevokeRemovesCopiesAndDescendantsButKeepsTheInvokedCapability() {
        retype(to: .physicalRAM, size: 0x1_0000, into: .root(20))
        retype(.root(20), to: .frame, size: 0x1000, count: 4, into: .root(21))
        retype(.root(20), to: .cnode, size: 16, into: .root(25))
        retype(.root(21), to: .frame, size: 0x1000, into: .leaf(25, 0))
        try! fixture.core.copy(.root(20), to: .root(30), in: space)
        try! fixture.core.copy(.root(22), to: .root(31), in: space)
        try! fixture.core.copy(Fixture.device, to: .leaf(25, 1), in: space)
        let objectsBefore = fixture.core.liveObjectCount

        let reclaimed = try! fixture.core.revoke(.root(30), in: space)
        // Four frames, the frame inside the first, and the CNode; not the device frame.
        XCTAssertEqual(reclaimed.count, 6)
        XCTAssertEqual(Set(reclaimed.map(\.type)), [.frame, .cnode])
        XCTAssertEqual(fixture.core.liveObjectCount, objectsBefore - 6)
        XCTAssertEqual(fixture.identify(.root(20)), .null, "the other copy went")
        XCTAssertEqual(fixture.identify(.root(30)).type, .physicalRAM, "the invoked one stays")
        for slot: UInt32 in [21, 22, 23, 24, 25, 31] { XCTAssertEqual(fixture.identify(.root(slot)), .null) }
        XCTAssertFalse(fixture.core.hasDescendants(fixture.object(.root(30))))
        XCTAssertEqual(fixture.core.watermark(of: fixture.object(.root(30))), 0)
        XCTAssertEqual(fixture.core.copyCount(of: fixture.object(Fixture.device)), 1)
        // Revoking again finds nothing.
        XCTAssertEqual(try fixture.core.revoke(.root(30), in: space), [])
        fixture.assertSound()
    }

    /// A server gives each client a badged copy of its endpoint: a client that revokes
    /// its copy removes only the copies with its badge, never the server's unbadged one
    /// or another client's. The unbadged one's revoke still removes every copy.
    func testRevokingABadgedCopyReachesOnlyItsBadge() {
        retype(to: .endpoint, size: 0, into: .root(20))
        try! fixture.core.mint(.root(20), to: .root(21), rights: [.write], badge: 7, in: space)
        try! fixture.core.copy(.root(21), to: .root(22), in: space)
        try! fixture.core.mint(.root(20), to: .root(23), rights: [.write], badge: 8, in: space)
        XCTAssertEqual(try fixture.core.revoke(.root(21), in: space), [])
        XCTAssertEqual(fixture.identify(.root(20)).type, .endpoint, "the server's own")
        XCTAssertEqual(fixture.identify(.root(21)).badge, 7, "the invoked one stays")
        XCTAssertEqual(fixture.identify(.root(22)), .null, "its badge's other copy went")
        XCTAssertEqual(fixture.identify(.root(23)).badge, 8, "another badge stays")
        fixture.assertSound()
        XCTAssertEqual(try fixture.core.revoke(.root(20), in: space), [])
        for slot: UInt32 in [21, 23] { XCTAssertEqual(fixture.identify(.root(slot)), .null) }
        fixture.assertSound()
    }

    /// A dying CNode deletes its contents, which may kill their objects in turn.
    func testCNodeDeathCascades() {
        retype(to: .cnode, size: 16, count: 2, into: .root(20))
        retype(to: .frame, size: 0x1000, into: .leaf(20, 0))
        retype(to: .endpoint, size: 0, into: .leaf(21, 5))
        try! fixture.core.copy(.root(21), to: .leaf(20, 1), in: space)   // CNode 21 lives in CNode 20
        try! fixture.core.delete(.root(21), in: space)
        XCTAssertEqual(fixture.identify(.leaf(20, 1)).type, .cnode)
        let reclaimed = try! fixture.core.delete(.root(20), in: space)
        XCTAssertEqual(Set(reclaimed.map(\.type)), [.cnode, .frame, .endpoint])
        XCTAssertEqual(reclaimed.count, 4)
        XCTAssertEqual(fixture.core.watermark(of: fixture.object(Fixture.ram)), 0)
        fixture.assertSound()
    }

    /// A CNode holding its own capability outlives its last outside capability (a cycle,
    /// as in seL4); revoking the RAM it came from reclaims it.
    func testSelfReferentialCNodeIsReclaimedByRevoke() {
        retype(to: .cnode, size: 16, into: .root(20))
        try! fixture.core.copy(.root(20), to: .leaf(20, 0), in: space)
        retype(to: .frame, size: 0x1000, into: .leaf(20, 1))
        XCTAssertEqual(try fixture.core.delete(.root(20), in: space), [])
        XCTAssertEqual(fixture.core.liveObjectCount, 7 + 1 + 2)
        fixture.assertSound()
        let reclaimed = try! fixture.core.revoke(Fixture.ram, in: space)
        XCTAssertEqual(Set(reclaimed.map(\.type)), [.cnode, .frame])
        XCTAssertEqual(fixture.core.liveObjectCount, 7 + 1)
        fixture.assertSound()
    }

    /// Revoke through a capability stored in a CNode that the revoke destroys: that
    /// capability goes with its CNode, and with it the object's last capability.
    func testRevokeThroughACapabilityInsideADescendant() {
        retype(Fixture.smallRAM, to: .physicalRAM, size: 0x8000, into: .root(20))
        retype(.root(20), to: .cnode, size: 16, into: .root(21))
        try! fixture.core.copy(.root(20), to: .leaf(21, 3), in: space)
        try! fixture.core.delete(.root(20), in: space)
        let inner = fixture.object(.leaf(21, 3))
        let reclaimed = try! fixture.core.revoke(.leaf(21, 3), in: space)
        XCTAssertEqual(Set(reclaimed.map(\.type)), [.cnode, .physicalRAM])
        XCTAssertFalse(fixture.core.isAlive(inner))
        XCTAssertEqual(fixture.identify(.root(21)), .null)
        XCTAssertEqual(fixture.core.watermark(of: fixture.object(Fixture.smallRAM)), 0)
        fixture.assertSound()
    }

    /// A chain far deeper than any stack frame budget: revoke and delete use work lists.
    func testDeepChains() {
        var slot: UInt32 = 20
        try! fixture.core.copy(Fixture.ram, to: .root(slot), in: space)
        var size = Fixture.ramSize
        while size > 0x1000 {
            size /= 2
            retype(.root(slot), to: .physicalRAM, size: size, into: .root(slot + 1))
            slot += 1
        }
        let reclaimed = try! fixture.core.revoke(.root(20), in: space)
        XCTAssertEqual(reclaimed.count, Int(slot - 20))
        XCTAssertEqual(fixture.identify(Fixture.ram), .null, "revoke took the other copy too")
        let ram = fixture.object(.root(20))
        XCTAssertEqual(fixture.core.watermark(of: ram), 0)

        // A chain of 200 CNodes, each holding the only capability of the next; only the
        // head is in the root CNode. Deleting it kills the whole chain in one cascade.
        retype(.root(20), to: .cnode, size: 16, into: .root(41))
        for _ in 1 ..< 200 {
            retype(.root(20), to: .cnode, size: 16, into: .root(42))
            try! fixture.core.copy(.root(41), to: .leaf(42, 0), in: space)
            try! fixture.core.delete(.root(41), in: space)
            try! fixture.core.copy(.root(42), to: .root(41), in: space)
            try! fixture.core.delete(.root(42), in: space)
        }
        fixture.assertSound()
        let chain = try! fixture.core.delete(.root(41), in: space)
        XCTAssertEqual(chain.count, 200)
        XCTAssertEqual(fixture.core.watermark(of: ram), 0)
        fixture.assertSound()
    }

    func testStaleObjectIDs() {
        retype(to: .dispatcher, size: 0, into: .root(20))
        let dispatcher = fixture.object(.root(20))
        let destroyed = fixture.core.objectsDestroyed
        try! fixture.core.copy(.root(20), to: .root(21), in: space)
        try! fixture.core.delete(.root(21), in: space)
        XCTAssertEqual(fixture.core.objectsDestroyed, destroyed, "a copy's deletion destroys nothing")
        try! fixture.core.delete(.root(20), in: space)
        XCTAssertEqual(fixture.core.objectsDestroyed, destroyed + 1)
        retype(to: .dispatcher, size: 0, into: .root(20))
        let reused = fixture.object(.root(20))
        XCTAssertEqual(reused.index, dispatcher.index, "the record is reused")
        XCTAssertNotEqual(reused, dispatcher)
        XCTAssertFalse(fixture.core.isAlive(dispatcher))
        XCTAssertNil(fixture.core.watermark(of: dispatcher))
        XCTAssertEqual(fixture.core.copyCount(of: dispatcher), 0)
    }

    func testDestroyingTheCSpace() {
        retype(to: .frame, size: 0x1000, into: .root(20))
        let count = fixture.core.liveObjectCount
        let reclaimed = try! fixture.core.delete(.root(0), in: space)
        // The root CNode, the seven boot roots and the frame: the frame's parent RAM goes
        // after it, as a root.
        XCTAssertEqual(reclaimed.count, count)
        XCTAssertEqual(reclaimed.filter(\.wasRoot).count, 8)
        XCTAssertEqual(fixture.core.liveObjectCount, 0)
        XCTAssertEqual(fixture.core.liveCapabilityCount, 0)
        let space = space
        fixture.assertRefused(.invalidRoot) { core throws(CapabilityError) in _ = try core.identify(.root(1), in: space) }
        fixture.assertSound()
    }
}
