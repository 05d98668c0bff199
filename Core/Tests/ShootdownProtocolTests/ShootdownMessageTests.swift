import XCTest
import Basics
import CapabilityProtocols
import Channel
import CoreTestSupport
import PageTables
import ShootdownProtocol

final class ShootdownMessageTests: XCTestCase {
    let change = AddressSpaceChange(space: AddressSpaceID(0xFFFF_FFFF),
                                    range: VirtualRange(start: VirtualAddress((1 << 47) - 4096), pages: 1), kind: .protect)
    let operation = ShootdownOperation(root: CoreID(63), ticket: 0xFFFF_FFFF)

    /// One of every message, with fields at their edges.
    var samples: [ShootdownMessage] {
        let low = ShootdownOperation(root: CoreID(0), ticket: 1)
        let everything = AddressSpaceChange(space: AddressSpaceID(1), range: VirtualRange(start: VirtualAddress(0), pages: 1 << 35), kind: .unmap)
        return [
            .invalidate(operation, change, participants: CoreMask(rawValue: ~0)),
            .invalidate(low, everything, participants: .none),
            .acknowledge(operation, stopped: CoreMask(rawValue: 0x8000_0000_0000_0001)),
            .acknowledge(low, stopped: .none),
        ]
    }

    func testEveryMessageRoundTrips() {
        var tags: [ShootdownMessage.Tag] = []
        for message in samples {
            XCTAssertEqual(ShootdownMessage(decoding: message.encode(), coreCount: 64), message, "\(message)")
            if !tags.contains(message.tag) { tags.append(message.tag) }
        }
        XCTAssertEqual(tags.count, ShootdownMessage.Tag.allCases.count, "a message kind has no sample")
    }

    /// Apart from the capability protocol's 0x43xx, the monitors' 0x4Dxx and the
    /// kernels' small numbers.
    func testTagsAreTheirOwn() {
        for tag in ShootdownMessage.Tag.allCases { XCTAssertEqual(tag.rawValue >> 8, 0x54) }
    }

    func testFieldsOutsideTheSystemDoNotDecode() {
        func invalidate(_ change: AddressSpaceChange, root: Int = 0, ticket: UInt32 = 1, participants: UInt64 = 0xF) -> ChannelMessage {
            ShootdownMessage.invalidate(ShootdownOperation(root: CoreID(root), ticket: ticket), change,
                                        participants: CoreMask(rawValue: participants)).encode()
        }
        func range(_ start: UInt64, _ pages: UInt64) -> AddressSpaceChange {
            AddressSpaceChange(space: AddressSpaceID(1), range: VirtualRange(start: VirtualAddress(start), pages: pages), kind: .unmap)
        }
        let good = range(0x40_0000, 2)
        let invalidateTag = ShootdownMessage.Tag.invalidate.rawValue
        let bad: [ChannelMessage] = [
            invalidate(good, root: 4),                          // root beyond the system
            invalidate(good, ticket: 0),                        // ticket 0
            invalidate(good, participants: 0x10),               // a participant beyond the system
            invalidate(AddressSpaceChange(space: AddressSpaceID(0), range: good.range, kind: .unmap)),
            invalidate(range(0x40_0001, 1)),                    // not page-aligned
            invalidate(range(0x40_0000, 0)),                    // no pages
            invalidate(range((1 << 47) - 4096, 2)),             // past the user half
            invalidate(range(1 << 47, 1)),                      // in the kernel's half
            invalidate(range(0x40_0000, UInt64.max)),           // wraps around
            ChannelMessage(tag: invalidateTag, 1 | 3 << 40, 1, 0x40_0000, 1),   // unknown kind
            ChannelMessage(tag: invalidateTag, 1 | 1 << 40, 1 << 32 | 1, 0x40_0000, 1),  // space wider than 32 bits
            ChannelMessage(tag: ShootdownMessage.Tag.acknowledge.rawValue, 1, 0x10),      // stopped core beyond the system
            ChannelMessage(tag: ShootdownMessage.Tag.acknowledge.rawValue, 1 | 1 << 40),  // an ack has no kind
            ChannelMessage(tag: 0x5400, 1),
            ChannelMessage(tag: 0x5403, 1),
        ]
        for slot in bad { XCTAssertNil(ShootdownMessage(decoding: slot, coreCount: 4), "tag \(slot.tag) \(slot.words[0]) \(slot.words[2])") }
        XCTAssertNotNil(ShootdownMessage(decoding: invalidate(good), coreCount: 4))
        XCTAssertNil(ShootdownMessage(decoding: invalidate(good), coreCount: 0))
        XCTAssertNil(ShootdownMessage(decoding: invalidate(good), coreCount: 65))
        // A bit set that no field uses.
        for message in samples {
            for word in [5, 6] {
                var slot = message.encode()
                slot.words[word] |= 1
                XCTAssertNil(ShootdownMessage(decoding: slot, coreCount: 64), "\(message) word \(word)")
            }
            var slot = message.encode()
            slot.words[0] |= 1 << 63
            XCTAssertNil(ShootdownMessage(decoding: slot, coreCount: 64), "\(message) w0")
        }
    }

    /// Random slots: whatever decodes re-encodes to the same slot (decoding is canonical).
    func testDecodingIsCanonical() {
        var random = SeededGenerator(seed: 12)
        var decoded = 0
        for _ in 0..<50_000 {
            var slot = ChannelMessage(tag: 0x5401 + UInt16(random.below(2)))
            // Mostly small values, so that some slots decode.
            for i in 0..<ChannelMessage.wordCount {
                slot.words[i] = random.chance(50) ? 0 : (random.chance(50) ? random.next() & 0xFF_F000 : random.next() & 0x0000_0F00_0000_00FF)
            }
            if random.chance(50) { slot.words[0] = UInt64(1 + random.below(5)) | UInt64(random.below(3)) << 32 | UInt64(random.below(3)) << 40 }
            guard let message = ShootdownMessage(decoding: slot, coreCount: 3) else { continue }
            decoded += 1
            XCTAssertEqual(message.encode(), slot)
        }
        XCTAssertGreaterThan(decoded, 100)
    }
}
