import XCTest
import CoreTestSupport
@testable import FrameLink

final class FrameLinkTests: XCTestCase {
    /// A sender and a receiver agree on every frame's place, through many turns of a
    /// small ring, with releases at random moments; no frame crosses the ring's end and
    /// live frames never overlap.
    func testBothSidesAgreeThroughManyTurns() throws {
        var random = SeededGenerator(seed: 0x100B_BAC4)
        for capacity in [2048, 4096, 5000, 32768] {
            let ring = FrameRing(capacity: capacity)
            var sender = FrameSender(ring: ring), receiver = FrameReceiver(ring: ring)
            var inFlight: [(offset: Int, length: Int)] = []
            var sent = 0
            while sent < 20_000 {
                let length = Int.random(in: 1...FrameRing.maximumFrame, using: &random)
                if let offset = sender.place(length) {
                    XCTAssertLessThanOrEqual(offset + length, capacity)
                    for other in inFlight {
                        XCTAssertTrue(offset + length <= other.offset || other.offset + other.length <= offset, "overlap")
                    }
                    inFlight.append((offset, length))
                    sent += 1
                    if Bool.random(using: &random) { continue }
                }
                // The receiver takes what was announced and releases it.
                for frame in inFlight { XCTAssertEqual(try receiver.take(frame.length), frame.offset) }
                inFlight.removeAll()
                try sender.release(upTo: receiver.acknowledge())
                XCTAssertTrue(sender.isIdle)
            }
        }
    }

    func testAFullRingWaitsForARelease() throws {
        var sender = FrameSender(ring: FrameRing(capacity: 4096))
        XCTAssertEqual(sender.place(2000), 0)
        XCTAssertEqual(sender.place(2000), 2000)
        XCTAssertNil(sender.place(2000), "96 bytes left at the end, and the start is in use")
        try sender.release(upTo: 2000)
        XCTAssertEqual(sender.place(1500), 0, "skips the 96 bytes at the end to the start")
        XCTAssertEqual(sender.produced, 4096 + 1500)
    }

    func testReleasesMustMoveForwardWithinWhatWasSent() throws {
        var sender = FrameSender(ring: FrameRing(capacity: 4096))
        _ = sender.place(100)
        XCTAssertThrowsError(try sender.release(upTo: 101)) { XCTAssertEqual($0 as? FrameLinkError, .badRelease) }
        try sender.release(upTo: 50)
        XCTAssertThrowsError(try sender.release(upTo: 49)) { XCTAssertEqual($0 as? FrameLinkError, .badRelease) }
        try sender.release(upTo: 100)
    }

    func testAPeerThatWritesPastItsReleaseIsCaught() throws {
        var receiver = FrameReceiver(ring: FrameRing(capacity: 4096))
        XCTAssertEqual(try receiver.take(2048), 0)
        XCTAssertEqual(try receiver.take(2048), 2048)
        XCTAssertThrowsError(try receiver.take(1)) { XCTAssertEqual($0 as? FrameLinkError, .overrun) }
        var fresh = FrameReceiver(ring: FrameRing(capacity: 4096))
        XCTAssertThrowsError(try fresh.take(0)) { XCTAssertEqual($0 as? FrameLinkError, .badLength) }
        XCTAssertThrowsError(try fresh.take(2049)) { XCTAssertEqual($0 as? FrameLinkError, .badLength) }
        XCTAssertThrowsError(try fresh.take(-5)) { XCTAssertEqual($0 as? FrameLinkError, .badLength) }
        XCTAssertEqual(fresh.consumed, 0, "a refused frame takes nothing")
    }

    func testMessagesReadBackAsWritten() throws {
        var batch = FrameBatch()
        for length in [60, 1514, 2048, 1, 54, 1000, 7, 99] { batch.append(length) }
        XCTAssertTrue(batch.isFull)
        let message = FrameLinkMessage.frames(batch)
        XCTAssertEqual(try FrameLinkMessage(words: message.words), message)
        guard case .frames(let back) = try FrameLinkMessage(words: message.words) else { return XCTFail() }
        XCTAssertEqual((0..<8).map { back.length(at: $0) }, [60, 1514, 2048, 1, 54, 1000, 7, 99])
        var one = FrameBatch()
        one.append(1514)
        XCTAssertEqual(try FrameLinkMessage(words: FrameLinkMessage.frames(one).words), .frames(one))
        XCTAssertEqual(try FrameLinkMessage(words: FrameLinkMessage.release(1 << 40).words), .release(1 << 40))
        XCTAssertEqual(try FrameLinkMessage(words: FrameLinkMessage.close.words), .close)
    }

    func testGarbageMessagesAreRefused() {
        let refusals: [([UInt64], FrameLinkError)] = [
            ([0, 0, 0], .malformed),                       // no such kind
            ([5, 0, 0], .malformed),
            ([1, 0, 0], .malformed),                       // no frames
            ([1 | 9 << 8, 0, 0], .malformed),              // more than eight
            ([1 | 1 << 8, 0, 0], .badLength),              // a frame of no bytes
            ([1 | 1 << 8, 2049, 0], .badLength),           // too long
            ([1 | 1 << 8, 60 | 60 << 16, 0], .malformed),  // a length past the count
            ([1 | 5 << 8, 60 | 60 << 16 | 60 << 32 | 60 << 48, 0], .badLength),
            ([2 | 1 << 8, 5, 0], .malformed),              // a release with bits set
            ([2, 5, 1], .malformed),
            ([3, 0, 1], .malformed),                       // a close with bits set
            ([4, 0, 0], .malformed),
            ([1], .malformed),
        ]
        for (words, expected) in refusals {
            XCTAssertThrowsError(try FrameLinkMessage(words: words), "\(words)") { XCTAssertEqual($0 as? FrameLinkError, expected, "\(words)") }
        }
    }

    /// Random words as a peer might write them: every one is refused or reads as a
    /// message whose frames fit the ring, and a receiver fed them never hands out an
    /// offset outside its ring.
    func testRandomWordsNeverLeadOutsideTheRing() {
        var generator = SeededGenerator(seed: 0x5F1E_D00D)
        for _ in 0..<200_000 {
            let kind: UInt64 = generator.next() % 5, count: UInt64 = generator.next() % 12
            // Half of the lengths words within 4,095 bytes each, so some frames fit.
            let mask: UInt64 = generator.chance(50) ? 0x0FFF_0FFF_0FFF_0FFF : ~0
            let lengths: UInt64 = generator.next() & mask
            let last: UInt64 = generator.chance(1, in: 3) ? 0 : generator.next()
            let words = [kind | count << 8, lengths, last]
            var receiver = FrameReceiver(ring: FrameRing(capacity: 8192))
            guard case .frames(let batch)? = try? FrameLinkMessage(words: words) else { continue }
            for index in 0..<batch.count {
                guard let offset = try? receiver.take(batch.length(at: index)) else { break }
                XCTAssertLessThanOrEqual(offset + batch.length(at: index), 8192)
            }
        }
    }
}
