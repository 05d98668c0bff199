import XCTest
import Basics
import Channel
import CoreTestSupport
@testable import CapabilityProtocols

final class CapabilityMessageTests: XCTestCase {
    static let limit: UInt64 = 1 << 30
    let ram = CapabilityObject(.ram, base: 0x10_0000, size: 0x4_0000)
    let frame = CapabilityObject(.frame, base: 0x3FFF_F000, size: 0x1000)

    /// One of every message, with fields at their edges.
    var samples: [CapabilityMessage] {
        let t = CapabilityTicket(0xFFFF_FFFF)
        return [
            .copyRequest(t, ram, to: CoreID(63), domain: 0xFFFF_FFFF), .copyDeliver(CapabilityTicket(1), frame, epoch: .first, domain: 7),
            .copyInstalled(t, .noRoom), .copyDeleted(frame), .retypeRequest(t, ram, count: 64), .retypeDone(t, .done),
            .revokeRequest(t, ram, keep: RecordID(0xFFFF_FFFF)),
            .revokeMark(t, ram, root: CoreID(63), targets: CoreMask(rawValue: ~0)),
            .revokeReady(t, root: CoreID(5)), .revokeDone(CapabilityTicket(2), root: CoreID(0)),
            .revokeCommit(t, frame, root: CoreID(1), targets: CoreMask(rawValue: 6), keepCore: CoreID(63), keep: RecordID(9)),
            .revokeCommit(t, frame, root: CoreID(1), targets: CoreMask(rawValue: 6), keepCore: nil, keep: RecordID(0)),
            .moveOwnership(t, ram, copies: CoreMask(rawValue: 0x8000_0000_0000_0001), descendants: CoreMask(rawValue: 2), epoch: OwnershipEpoch(0xFFFF_FFFF)),
            .moveAnswer(t, accepted: true), .moveAnswer(t, accepted: false), .ownerChanged(frame, epoch: OwnershipEpoch(3)),
            .requestAnswer(t, .notOwner, epoch: nil), .requestAnswer(t, .done, epoch: OwnershipEpoch(2)),
        ]
    }

    func testEveryMessageRoundTrips() {
        var tags: [CapabilityMessage.Tag] = []
        for message in samples {
            let slot = message.encode()
            XCTAssertEqual(CapabilityMessage(decoding: slot, coreCount: 64, memoryLimit: Self.limit), message, "\(message)")
            if !tags.contains(message.tag) { tags.append(message.tag) }
        }
        XCTAssertEqual(tags.count, CapabilityMessage.Tag.allCases.count, "a message kind has no sample")
    }

    /// Device objects round-trip at the edges of their spaces, which are not memory's.
    func testDeviceObjectsRoundTripAtTheirEdges() {
        let t = CapabilityTicket(7)
        let objects = [CapabilityObject(.deviceFrame, base: (1 << 52) - 4096, size: 4096),
                       CapabilityObject(.deviceFrame, base: 0xFEBF_0000, size: 0x1000),
                       CapabilityObject(.ioPorts, base: 0xC001, size: 0x1F),
                       CapabilityObject(.ioPorts, base: 0xFFFF, size: 1), CapabilityObject(.ioPorts, base: 0, size: 1 << 16),
                       CapabilityObject(.interrupts, base: 11, size: 1), CapabilityObject(.interrupts, base: (1 << 32) - 1, size: 1)]
        for object in objects {
            for message in [CapabilityMessage.copyRequest(t, object, to: CoreID(1), domain: 3),
                            .copyDeliver(t, object, epoch: .first, domain: 3), .copyDeleted(object),
                            .revokeRequest(t, object, keep: RecordID(4)),
                            .revokeMark(t, object, root: CoreID(0), targets: CoreMask(rawValue: 3)),
                            .revokeCommit(t, object, root: CoreID(0), targets: CoreMask(rawValue: 3), keepCore: CoreID(0), keep: RecordID(2)),
                            .moveOwnership(t, object, copies: CoreMask(rawValue: 2), descendants: .none, epoch: .first),
                            .ownerChanged(object, epoch: OwnershipEpoch(2))] {
                // Memory below the limit is RAM: device frames above it still decode.
                XCTAssertEqual(CapabilityMessage(decoding: message.encode(), coreCount: 4, memoryLimit: Self.limit,
                                                 ram: [0..<Self.limit]), message, "\(message)")
            }
        }
    }

    /// A message naming a device object no correct monitor names does not decode: a
    /// device frame in RAM (when the receiver knows where RAM is) or not page-aligned,
    /// ports past 65,535, interrupts past their space, any of them empty.
    func testMalformedDeviceObjectsDoNotDecode() {
        let bad = [CapabilityObject(.deviceFrame, base: 0x10_0000, size: 4096),
                   CapabilityObject(.deviceFrame, base: Self.limit - 4096, size: 8192),
                   CapabilityObject(.deviceFrame, base: 0xFEBF_0010, size: 4096),
                   CapabilityObject(.deviceFrame, base: 0xFEBF_0000, size: 100),
                   CapabilityObject(.deviceFrame, base: 1 << 52, size: 4096),
                   CapabilityObject(.deviceFrame, base: UInt64.max - 4095, size: 8192),
                   CapabilityObject(.deviceFrame, base: 0xFEBF_0000, size: 0),
                   CapabilityObject(.ioPorts, base: 0xFFF0, size: 0x11), CapabilityObject(.ioPorts, base: 1 << 16, size: 1),
                   CapabilityObject(.ioPorts, base: 0xC000, size: 0), CapabilityObject(.ioPorts, base: UInt64.max, size: 2),
                   CapabilityObject(.interrupts, base: 1 << 32, size: 1), CapabilityObject(.interrupts, base: 5, size: 0),
                   CapabilityObject(.interrupts, base: (1 << 32) - 1, size: 2)]
        for object in bad {
            for message in [CapabilityMessage.copyDeliver(CapabilityTicket(1), object, epoch: .first, domain: 1),
                            .copyDeleted(object), .revokeRequest(CapabilityTicket(1), object, keep: RecordID(1))] {
                XCTAssertNil(CapabilityMessage(decoding: message.encode(), coreCount: 4, memoryLimit: Self.limit,
                                               ram: [0x10_0000..<Self.limit]), "\(message)")
            }
        }
        // An unknown kind (6) does not decode either.
        XCTAssertNil(CapabilityMessage(decoding: ChannelMessage(tag: CapabilityMessage.Tag.copyDeleted.rawValue, 6 << 32, 0, 1),
                                       coreCount: 4, memoryLimit: Self.limit))
        // Without knowledge of RAM, a device frame at a RAM address still decodes: the
        // receiving kernel refuses it.
        let inRAM = CapabilityMessage.copyDeleted(CapabilityObject(.deviceFrame, base: 0x10_0000, size: 4096))
        XCTAssertEqual(CapabilityMessage(decoding: inRAM.encode(), coreCount: 4, memoryLimit: Self.limit), inRAM)
    }

    /// Spaces are apart: the same numbers in two spaces neither overlap nor cover, and
    /// sorting keeps each space together.
    func testObjectsInDifferentSpacesNeverOverlap() {
        let ram = CapabilityObject(.ram, base: 0, size: 0x10_0000)
        let ports = CapabilityObject(.ioPorts, base: 0xC000, size: 0x20)
        let irq = CapabilityObject(.interrupts, base: 0xC000, size: 1)
        let memoryAtPorts = CapabilityObject(.frame, base: 0xC000, size: 0x1000)
        let device = CapabilityObject(.deviceFrame, base: 0xC000, size: 0x1000)
        XCTAssertTrue(ram.overlaps(memoryAtPorts))
        XCTAssertTrue(ram.isAncestor(of: memoryAtPorts))
        for other in [ports, irq] {
            XCTAssertFalse(ram.overlaps(other))
            XCTAssertFalse(other.overlaps(memoryAtPorts))
            XCTAssertFalse(ram.covers(other))
        }
        XCTAssertFalse(ports.overlaps(irq))
        XCTAssertFalse(ram.isAncestor(of: device), "a device frame is never RAM's descendant")
        XCTAssertTrue(device.overlaps(memoryAtPorts))
        for object in [ports, irq, device] {
            XCTAssertNil(object.retyped(into: 1))
            XCTAssertFalse(object.isAncestor(of: object))
        }
        XCTAssertEqual([irq, ports, memoryAtPorts, ram, device].sorted(), [ram, memoryAtPorts, device, ports, irq])
    }

    func testFieldsOutsideTheSystemDoNotDecode() {
        // A core beyond the system, an object beyond memory or not page-aligned, a set
        // naming a core that does not exist, an unknown kind or status.
        let bad: [ChannelMessage] = [
            CapabilityMessage.copyRequest(CapabilityTicket(1), ram, to: CoreID(4), domain: 1).encode(),
            CapabilityMessage.copyDeleted(CapabilityObject(.frame, base: Self.limit, size: 4096)).encode(),
            CapabilityMessage.copyDeleted(CapabilityObject(.frame, base: 4096, size: 100)).encode(),
            CapabilityMessage.copyDeleted(CapabilityObject(.frame, base: 4097, size: 4096)).encode(),
            CapabilityMessage.copyDeleted(CapabilityObject(.frame, base: 0, size: 0)).encode(),
            CapabilityMessage.revokeMark(CapabilityTicket(1), ram, root: CoreID(0), targets: CoreMask(rawValue: 0x10)).encode(),
            CapabilityMessage.revokeReady(CapabilityTicket(1), root: CoreID(9)).encode(),
            CapabilityMessage.retypeRequest(CapabilityTicket(1), ram, count: 65).encode(),
            ChannelMessage(tag: CapabilityMessage.Tag.copyDeleted.rawValue, 9 << 32, 0, 4096),
            ChannelMessage(tag: CapabilityMessage.Tag.copyInstalled.rawValue, 1, 200),
            ChannelMessage(tag: CapabilityMessage.Tag.moveAnswer.rawValue, 1, 2),
            ChannelMessage(tag: 0x4300, 0),
        ]
        for slot in bad { XCTAssertNil(CapabilityMessage(decoding: slot, coreCount: 4, memoryLimit: Self.limit), "tag \(slot.tag) \(slot.words[0])") }
        // A bit set that no field uses.
        for message in samples {
            var slot = message.encode()
            slot.words[6] |= 1
            XCTAssertNil(CapabilityMessage(decoding: slot, coreCount: 64, memoryLimit: Self.limit), "\(message) with w6 set")
        }
    }

    /// Random slots never trap, and whatever decodes re-encodes to the same slot.
    func testRandomSlotsDecodeCanonicallyOrNotAtAll() {
        var random = SeededGenerator(seed: 11)
        var decoded = 0
        for i in 0..<200_000 {
            var slot = ChannelMessage(tag: 0x4301 &+ UInt16(random.below(16)))
            for w in 0..<ChannelMessage.wordCount {
                // Mostly small words, so that some slots decode.
                let roll = random.below(4)
                slot.words[w] = roll == 0 ? random.next() : roll == 1 ? UInt64(random.below(8)) << 12 : roll == 2 ? UInt64(random.below(3)) << 32 | UInt64(random.below(4)) : 0
            }
            if i % 3 == 0 { for w in 3..<ChannelMessage.wordCount { slot.words[w] = 0 } }
            guard let message = CapabilityMessage(decoding: slot, coreCount: 8, memoryLimit: Self.limit) else { continue }
            decoded += 1
            XCTAssertEqual(message.encode(), slot, "\(message)")
        }
        print("\(decoded) of 200000 random slots decoded")
        XCTAssertGreaterThan(decoded, 100)
    }

    func testRevokeRoutesReachEveryTargetOnce() {
        let groups = (0..<32).map { UInt8($0 / 4) }
        for route in [RevokeRoute.direct, .viaGroups(groupOf: groups)] {
            for root in [0, 5, 31] {
                let targets = CoreMask.all(32).removing(CoreID(7)).removing(CoreID(root))
                var reached: [CoreID] = []
                var frontier = [CoreID(root)]
                while let sender = frontier.popLast() {
                    for child in route.children(of: sender, root: CoreID(root), targets: targets) {
                        XCTAssertEqual(route.parent(of: child, root: CoreID(root), targets: targets), sender)
                        reached.append(child)
                        frontier.append(child)
                    }
                }
                XCTAssertEqual(reached.sorted(), targets.cores, "\(route) from \(root)")
            }
        }
    }
}
