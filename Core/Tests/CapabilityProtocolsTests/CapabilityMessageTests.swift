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
            ChannelMessage(tag: CapabilityMessage.Tag.copyDeleted.rawValue, 3 << 32, 0, 4096),
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
