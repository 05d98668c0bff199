import XCTest
@testable import Channel

/// A zeroed, 64-byte-aligned region for one ring, freed at the end of the test.
final class SharedRegion {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int
    init(slots: Int) {
        bytes = Ring.bytes(slots: slots)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }
    deinit { pointer.deallocate() }
    func header(slot: Int) -> UnsafeMutablePointer<UInt64> {
        (pointer + (1 + slot) * Ring.lineSize + 56).assumingMemoryBound(to: UInt64.self)
    }
    var acknowledgement: UnsafeMutablePointer<UInt64> { pointer.assumingMemoryBound(to: UInt64.self) }
}

func message(_ n: UInt64) -> ChannelMessage {
    var m = ChannelMessage(tag: UInt16(truncatingIfNeeded: n % 65_521 + 1))
    for i in 0..<ChannelMessage.wordCount { m.words[i] = n &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) }
    return m
}

final class RingTests: XCTestCase {
    func testLayoutIsOneCacheLinePerSlot() {
        XCTAssertEqual(Ring.lineSize, 64)
        XCTAssertEqual(Ring.bytes(slots: 63), 4096)
        XCTAssertEqual(Ring.slots(inBytes: 4096), 63)
        XCTAssertEqual(ChannelMessage.wordCount * 8 + 8, Ring.lineSize)
    }

    func testDeliversInOrderAcrossManyWrapArounds() throws {
        let region = SharedRegion(slots: 7)
        var sender = RingSender(region: region.pointer, slots: 7)
        var receiver = RingReceiver(region: region.pointer, slots: 7)
        var next: UInt64 = 0
        var expected: UInt64 = 0
        var random: UInt64 = 42
        while expected < 10_000 {
            random = random &* 6364136223846793005 &+ 1
            let burst = Int(random >> 61) + 1
            for _ in 0..<burst where try sender.send(message(next)) { next += 1 }
            while let got = try receiver.receive() {
                XCTAssertEqual(got, message(expected))
                expected += 1
            }
        }
        XCTAssertNil(try receiver.receive())
    }

    func testFullRingRefusesInsteadOfOverwriting() throws {
        let region = SharedRegion(slots: 4)
        var sender = RingSender(region: region.pointer, slots: 4)
        var receiver = RingReceiver(region: region.pointer, slots: 4)
        for n in 0..<4 { XCTAssertTrue(try sender.send(message(UInt64(n)))) }
        XCTAssertFalse(try sender.send(message(99)), "a fifth message must not fit in four slots")
        XCTAssertEqual(sender.credit, 0)
        XCTAssertEqual(try receiver.receive(), message(0))
        XCTAssertEqual(try receiver.receive(), message(1))   // publishes after slots/2
        XCTAssertTrue(try sender.send(message(4)))
        for n in 2...4 { XCTAssertEqual(try receiver.receive(), message(UInt64(n))) }
        XCTAssertNil(try receiver.receive())
    }

    func testGarbageHeaderIsReportedNotDelivered() throws {
        let region = SharedRegion(slots: 4)
        var sender = RingSender(region: region.pointer, slots: 4)
        var receiver = RingReceiver(region: region.pointer, slots: 4)
        XCTAssertTrue(try sender.send(message(0)))
        XCTAssertEqual(try receiver.receive(), message(0))
        region.header(slot: 1).pointee = 0xDEAD_BEEF                 // sequence 0xDEADBEEF, expected 2
        XCTAssertThrowsError(try receiver.receive()) { error in
            XCTAssertEqual(error as? ChannelError, .corruptSlot(sequence: 0xDEAD_BEEF, expected: 2))
        }
        region.header(slot: 1).pointee = 2 | 1 << 60                  // right sequence, reserved bits set
        XCTAssertThrowsError(try receiver.receive())
    }

    func testLyingAcknowledgementIsReported() throws {
        let region = SharedRegion(slots: 2)
        var sender = RingSender(region: region.pointer, slots: 2)
        XCTAssertTrue(try sender.send(message(0)))
        XCTAssertTrue(try sender.send(message(1)))
        region.acknowledgement.pointee = 1_000                        // more than was ever sent
        XCTAssertThrowsError(try sender.send(message(2))) { error in
            XCTAssertEqual(error as? ChannelError, .corruptAcknowledgement(acknowledged: 1_000, sent: 2))
        }
    }

    func testRandomGarbageNeverCrashesTheReceiver() {
        var random: UInt64 = 7
        for _ in 0..<2_000 {
            let region = SharedRegion(slots: 3)
            var receiver = RingReceiver(region: region.pointer, slots: 3)
            let words = region.pointer.assumingMemoryBound(to: UInt64.self)
            for i in 0..<(region.bytes / 8) {
                random = random &* 6364136223846793005 &+ 1442695040888963407
                if random >> 62 == 0 { words[i] = random }
            }
            for _ in 0..<5 { _ = try? receiver.receive() }
        }
    }
}
