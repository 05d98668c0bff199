// Copy, mint and identify: rights only shrink, badges are set once, copies name the same
// object. Also the address format and lookups for invocations.

import XCTest
import CoreTestSupport
@testable import Capabilities

final class CopyMintTests: XCTestCase {
    var fixture = Fixture()
    var space: CSpace { fixture.space }

    override func setUp() {
        let space = space
        _ = try! fixture.core.retype(Fixture.ram, to: .frame, size: 0x1000, count: 1, into: .root(20), in: space)
        _ = try! fixture.core.retype(Fixture.ram, to: .endpoint, size: 0, count: 1, into: .root(21), in: space)
    }

    func testCopyKeepsRightsBadgeAndObject() {
        try! fixture.core.copy(.root(20), to: .root(30), in: space)
        XCTAssertEqual(fixture.identify(.root(30)), fixture.identify(.root(20)))
        XCTAssertEqual(fixture.object(.root(30)), fixture.object(.root(20)))
        XCTAssertEqual(fixture.core.copyCount(of: fixture.object(.root(20))), 2)
        XCTAssertEqual(fixture.identify(.root(30)).rights, [.read, .write, .execute])
        fixture.assertSound()
    }

    func testCopyAndMintRefusals() {
        let space = space
        fixture.assertRefused(.slotEmpty) { core throws(CapabilityError) in
            try core.copy(.root(50), to: .root(51), in: space)
        }
        fixture.assertRefused(.slotOccupied) { core throws(CapabilityError) in
            try core.copy(.root(20), to: .root(20), in: space)
        }
        fixture.assertRefused(.invalidSlot) { core throws(CapabilityError) in
            try core.copy(.root(20), to: .root(64), in: space)
        }
        fixture.assertRefused(.invalidSlot) { core throws(CapabilityError) in
            try core.copy(.root(UInt32.max), to: .root(30), in: space)
        }
        fixture.assertRefused(.notACNode) { core throws(CapabilityError) in
            try core.mint(.root(20), to: .leaf(20, 0), rights: .all, in: space)
        }
        fixture.assertRefused(.notBadgeable) { core throws(CapabilityError) in
            try core.mint(.root(20), to: .root(30), rights: .all, badge: 1, in: space)
        }
    }

    /// For every type and every pair of masks: mint keeps exactly the intersection, and
    /// minting again can never get back what was taken away.
    func testRightsOnlyShrink() {
        let space = space
        let sources: [CapabilityAddress] = [.root(20), .root(21), Fixture.ram, Fixture.device, Fixture.ports,
                                            Fixture.interrupts, Fixture.notify, Fixture.kernel, .root(0)]
        for source in sources {
            let full = fixture.identify(source)
            XCTAssertEqual(full.rights, full.type.rules.rights, "new capabilities have all rights of their type")
            for first in 0 ... CapabilityRights.all.rawValue {
                let firstMask = CapabilityRights(rawValue: first)
                try! fixture.core.mint(source, to: .root(40), rights: firstMask, in: space)
                let minted = fixture.identify(.root(40))
                XCTAssertEqual(minted.rights, full.rights.intersection(firstMask))
                XCTAssertEqual(fixture.object(.root(40)), fixture.object(source))
                for second in [CapabilityRights.all, [], firstMask, CapabilityRights(rawValue: 0xFF)] {
                    try! fixture.core.mint(.root(40), to: .root(41), rights: second, in: space)
                    XCTAssertTrue(minted.rights.isSuperset(of: fixture.identify(.root(41)).rights))
                    try! fixture.core.copy(.root(41), to: .root(42), in: space)
                    XCTAssertEqual(fixture.identify(.root(42)).rights, fixture.identify(.root(41)).rights)
                    try! fixture.core.delete(.root(42), in: space)
                    try! fixture.core.delete(.root(41), in: space)
                }
                try! fixture.core.delete(.root(40), in: space)
            }
        }
        fixture.assertSound()
    }

    func testRetypeSplitsKeepTheSourcesRights() {
        let space = space
        try! fixture.core.mint(.root(20), to: .root(30), rights: [.read], in: space)
        _ = try! fixture.core.retype(.root(30), to: .frame, size: 0x1000, count: 1, into: .root(31), in: space)
        XCTAssertEqual(fixture.identify(.root(31)).rights, [.read])
        try! fixture.core.mint(Fixture.notify, to: .root(32), rights: .all, badge: 9, in: space)
        _ = try! fixture.core.retype(.root(32), to: .notify, size: 1, count: 1, into: .root(33), in: space)
        XCTAssertEqual(fixture.identify(.root(33)).badge, 9)
    }

    func testBadges() {
        let space = space
        try! fixture.core.mint(.root(21), to: .root(30), rights: [.write], badge: 42, in: space)
        XCTAssertEqual(fixture.identify(.root(30)), Capability(type: .endpoint, base: Fixture.ramBase + 0x1000,
                                                               size: 256, rights: [.write], badge: 42))
        fixture.assertRefused(.alreadyBadged) { core throws(CapabilityError) in
            try core.mint(.root(30), to: .root(31), rights: .all, badge: 43, in: space)
        }
        // A copy, or a mint without a badge, keeps the badge.
        try! fixture.core.copy(.root(30), to: .root(31), in: space)
        try! fixture.core.mint(.root(30), to: .root(32), rights: .all, in: space)
        XCTAssertEqual(fixture.identify(.root(31)).badge, 42)
        XCTAssertEqual(fixture.identify(.root(32)).badge, 42)
        XCTAssertEqual(fixture.identify(.root(32)).rights, [.write])
        // The unbadged original can still be minted with another badge.
        try! fixture.core.mint(.root(21), to: .root(33), rights: .all, badge: 7, in: space)
        XCTAssertEqual(fixture.identify(.root(33)).badge, 7)
        XCTAssertEqual(fixture.object(.root(33)), fixture.object(.root(30)), "badged copies are the same object")
        try! fixture.core.mint(Fixture.notify, to: .root(34), rights: .all, badge: 1, in: space)
        for type in CapabilityType.allCases where type.rules.isBadgeable {
            XCTAssertTrue(type == .endpoint || type == .notify)
        }
        fixture.assertSound()
    }

    func testIdentify() {
        XCTAssertEqual(fixture.identify(.root(50)), .null)
        XCTAssertEqual(fixture.identify(.root(20)), Capability(type: .frame, base: Fixture.ramBase, size: 0x1000,
                                                               rights: [.read, .write, .execute]))
        XCTAssertEqual(fixture.identify(.root(20)).physicalRange?.size, 0x1000)
        XCTAssertEqual(fixture.identify(.root(0)).cnodeSlotCount, 64)
        XCTAssertEqual(fixture.identify(Fixture.kernel), Capability(type: .kernel, base: 0, size: 0, rights: []))
        XCTAssertThrowsError(try fixture.core.identify(.root(64), in: space))
    }

    func testLookupForInvocations() {
        let (frame, id) = try! fixture.core.lookup(.root(20), in: space, ofType: [.frame, .deviceFrame],
                                                   requiring: [.write])
        XCTAssertEqual(frame.type, .frame)
        XCTAssertTrue(fixture.core.isAlive(id))
        XCTAssertThrowsError(try fixture.core.lookup(.root(20), in: space, ofType: [.endpoint])) {
            XCTAssertEqual($0 as? CapabilityError, .wrongType(.frame))
        }
        try! fixture.core.mint(.root(20), to: .root(30), rights: [.read], in: space)
        XCTAssertThrowsError(try fixture.core.lookup(.root(30), in: space, requiring: [.write])) {
            XCTAssertEqual($0 as? CapabilityError, .insufficientRights)
        }
        XCTAssertThrowsError(try fixture.core.lookup(.root(31), in: space)) {
            XCTAssertEqual($0 as? CapabilityError, .slotEmpty)
        }
    }

    func testAddressEncoding() {
        let samples: [CapabilityAddress] = [.root(0), .root(7), .root(UInt32.max), .leaf(0, 0),
                                            .leaf(3, 255), .leaf(UInt32.max, 0x7FFF_FFFF)]
        for address in samples {
            XCTAssertEqual(CapabilityAddress(encoded: address.encoded), address)
        }
        XCTAssertNil(CapabilityAddress(encoded: 1 << 32))
        XCTAssertNil(CapabilityAddress(encoded: 0x7FFF_FFFF_0000_0001))
        XCTAssertEqual(CapabilityAddress(encoded: 1 << 63), .leaf(0, 0))
        XCTAssertEqual(CapabilityAddress.leaf(1, UInt32.max).encoded, CapabilityAddress.leaf(1, 0x7FFF_FFFF).encoded)
        var random = SeededGenerator(seed: 11)
        for _ in 0 ..< 1000 {
            let raw = random.next()
            if let address = CapabilityAddress(encoded: raw) { XCTAssertEqual(address.encoded, raw) }
        }
    }

    func testCopiesAcrossCSpaces() {
        let space = space
        var other = try! fixture.core.createCSpace(at: .init(0x2_0000), slotCount: 16)
        try! fixture.core.copy(.root(20), in: space, to: .root(3), in: other)
        XCTAssertEqual(try! fixture.core.identify(.root(3), in: other), fixture.identify(.root(20)))
        try! fixture.core.mint(.root(21), in: space, to: .root(4), in: other, rights: [.write], badge: 5)
        XCTAssertEqual(try! fixture.core.identify(.root(4), in: other).badge, 5)
        // Deleting the other CSpace's only root capability destroys it and its contents.
        let reclaimed = try! fixture.core.delete(.root(0), in: other)
        XCTAssertEqual(reclaimed.map(\.type), [.cnode])
        XCTAssertEqual(fixture.core.copyCount(of: fixture.object(.root(20))), 1)
        fixture.assertRefused(.invalidRoot) { core throws(CapabilityError) in
            try core.copy(.root(20), in: space, to: .root(5), in: other)
        }
        other = CSpace(root: ObjectID(index: 999, generation: 0))
        XCTAssertThrowsError(try fixture.core.identify(.root(0), in: other))
        fixture.assertSound()
    }
}
