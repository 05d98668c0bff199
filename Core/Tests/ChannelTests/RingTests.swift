import XCTest
import CoreTestSupport
@testable import Channel

/// A zeroed, 64-byte-aligned region for one ring, freed when its last user lets go.
/// Sendable because the two ends of a ring share it across threads by design; the
/// ring's protocol orders their accesses.
final class SharedRegion: @unchecked Sendable {
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

/// A bound on a spin-wait, so that a ring that stops delivering fails the test instead
/// of hanging it: `reset()` on progress, `hasExpired()` on each poll that found nothing.
struct SpinWait {
    static let seconds = 10
    private var start: ContinuousClock.Instant?

    mutating func reset() { start = nil }

    /// True once polls have found nothing for `seconds` since the last progress.
    mutating func hasExpired() -> Bool {
        let now = ContinuousClock.now
        let start = self.start ?? now
        self.start = start
        return now - start >= .seconds(Self.seconds)
    }
}

/// Both ends of one ring, for tests that bring it into a state and then write into the
/// shared region what no correct peer can have written.
struct RingEnds {
    let region: SharedRegion
    var sender: RingSender
    var receiver: RingReceiver

    init(slots: Int) {
        region = SharedRegion(slots: slots)
        sender = RingSender(region: region.pointer, slots: slots)
        receiver = RingReceiver(region: region.pointer, slots: slots)
    }

    /// Sends `count` more messages, receiving each at once.
    mutating func pass(_ count: Int, line: UInt = #line) throws {
        for _ in 0..<count {
            let m = message(sender.sent)
            XCTAssertTrue(try sender.send(m), line: line)
            XCTAssertEqual(try receiver.receive(), m, line: line)
        }
    }

    /// Sends `count` more messages without receiving them.
    mutating func send(_ count: Int, line: UInt = #line) throws {
        for _ in 0..<count { XCTAssertTrue(try sender.send(message(sender.sent)), line: line) }
    }

    /// Asserts that the receiver reports the slot it reads next as corrupt, holding
    /// `sequence`, and takes nothing from it.
    mutating func assertCorruptSlot(sequence: UInt32, _ what: String, line: UInt = #line) {
        let received = receiver.received
        let expected = UInt32(truncatingIfNeeded: received + 1)
        XCTAssertThrowsError(try receiver.receive(), what, line: line) { error in
            XCTAssertEqual(error as? ChannelError, .corruptSlot(sequence: sequence, expected: expected), what, line: line)
        }
        XCTAssertEqual(receiver.received, received, what, line: line)
    }

    /// Asserts that the sender, out of credit, reports the acknowledgement as corrupt
    /// and sends nothing.
    mutating func assertCorruptAcknowledgement(_ acknowledged: UInt64, _ what: String, line: UInt = #line) {
        let sent = sender.sent
        XCTAssertThrowsError(try sender.send(message(sent)), what, line: line) { error in
            XCTAssertEqual(error as? ChannelError, .corruptAcknowledgement(acknowledged: acknowledged, sent: sent),
                           what, line: line)
        }
        XCTAssertEqual(sender.sent, sent, what, line: line)
    }
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
        var wait = SpinWait()
        while expected < 10_000 {
            random = random &* 6364136223846793005 &+ 1
            let burst = Int(random >> 61) + 1
            for _ in 0..<burst where try sender.send(message(next)) { next += 1 }
            let before = expected
            while let got = try receiver.receive() {
                XCTAssertEqual(got, message(expected))
                expected += 1
            }
            if expected > before {
                wait.reset()
            } else if wait.hasExpired() {
                return XCTFail("message \(expected + 1) not delivered within \(SpinWait.seconds) s")
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
        XCTAssertThrowsError(try receiver.receive()) { error in
            XCTAssertEqual(error as? ChannelError, .corruptSlot(sequence: 2, expected: 2))
        }
    }

    // MARK: What no correct peer can write, written straight into the shared region

    func testSlotFromAnEarlierLapIsReported() throws {
        var ring = RingEnds(slots: 4)
        try ring.pass(8)                                                // message 9 goes to slot 0
        XCTAssertNil(try ring.receiver.receive(), "slot 0 holds message 5, a lap behind: empty")
        ring.region.header(slot: 0).pointee = 1                         // message 1, two laps behind
        ring.assertCorruptSlot(sequence: 1, "a slot two laps stale")
    }

    func testZeroedSlotOnALaterLapIsReported() throws {
        var ring = RingEnds(slots: 4)
        try ring.pass(4)                                                // message 5 goes to slot 0
        ring.region.header(slot: 0).pointee = 0
        ring.assertCorruptSlot(sequence: 0, "a zeroed slot after the first lap")
    }

    func testTagWithoutASequenceOnTheFirstLapIsReported() throws {
        var ring = RingEnds(slots: 4)
        XCTAssertNil(try ring.receiver.receive(), "a zeroed slot on the first lap is empty")
        ring.region.header(slot: 0).pointee = 7 << 32                   // tag 7, sequence 0
        ring.assertCorruptSlot(sequence: 0, "a tag in a slot never written")
    }

    func testSequenceAheadIsReported() throws {
        var ring = RingEnds(slots: 4)
        try ring.pass(2)                                                // message 3 goes to slot 2
        ring.region.header(slot: 2).pointee = 4                         // the one after, in the wrong slot
        ring.assertCorruptSlot(sequence: 4, "a sequence one ahead")
        ring.region.header(slot: 2).pointee = 7                         // a lap ahead: past the credit
        ring.assertCorruptSlot(sequence: 7, "a sequence a lap ahead")
    }

    func testReservedHeaderBitsAreReported() throws {
        var ring = RingEnds(slots: 4)
        ring.region.header(slot: 0).pointee = 1 << 48                   // else zero, on the first lap
        ring.assertCorruptSlot(sequence: 0, "reserved bits in a slot never written")
        ring.region.header(slot: 0).pointee = 1 | 1 << 63               // the expected sequence
        ring.assertCorruptSlot(sequence: 1, "reserved bits with the expected sequence")
        ring.region.header(slot: 0).pointee = 0
        try ring.pass(4)                                                // message 5 goes to slot 0, holding 1
        ring.region.header(slot: 0).pointee = 1 | 1 << 50
        ring.assertCorruptSlot(sequence: 1, "reserved bits with the previous lap's sequence")
    }

    func testAcknowledgementGoingBackwardsIsReported() throws {
        var ring = RingEnds(slots: 2)
        try ring.send(2)
        ring.region.acknowledgement.pointee = 2
        try ring.send(2)                                                // reads 2, then out of credit again
        XCTAssertEqual(ring.sender.acknowledged, 2)
        ring.region.acknowledgement.pointee = 1
        ring.assertCorruptAcknowledgement(1, "an acknowledgement from 2 back to 1")
    }

    func testAcknowledgementAheadOfWhatWasSentIsReported() throws {
        var ring = RingEnds(slots: 2)
        try ring.send(2)
        ring.region.acknowledgement.pointee = 1_000
        ring.assertCorruptAcknowledgement(1_000, "far more than was sent")
        ring.region.acknowledgement.pointee = 3
        ring.assertCorruptAcknowledgement(3, "one more than was sent")
        ring.region.acknowledgement.pointee = 2                         // all that was sent: fine
        XCTAssertTrue(try ring.sender.send(message(2)))
    }

    // MARK: Random slots

    /// What a receiver expecting message `expected` must make of a slot whose header is
    /// `header`, as the protocol says (Ring.swift), written out again independently.
    enum Verdict { case message, empty, corrupt }

    static func verdict(header: UInt64, expected: UInt64, slots: Int) -> Verdict {
        let sequence = UInt32(truncatingIfNeeded: header)
        if header >> 48 != 0 { return .corrupt }
        if sequence == UInt32(truncatingIfNeeded: expected) { return .message }
        if expected <= UInt64(slots) { return header == 0 ? .empty : .corrupt }
        return sequence == UInt32(truncatingIfNeeded: expected - UInt64(slots)) ? .empty : .corrupt
    }

    func testRandomSlotsAreJudgedAsTheProtocolSays() {
        let slots = 3
        var random = SeededGenerator(seed: 7)
        var seen = (message: 0, empty: 0, corrupt: 0, laterLap: 0)
        for round in 0..<2_000 {
            let region = SharedRegion(slots: slots)
            var receiver = RingReceiver(region: region.pointer, slots: slots)
            for _ in 0..<12 {
                // A sender, correct or not, rewrites the slot the receiver reads next.
                let expected = receiver.received + 1
                let slot = Int((expected - 1) % UInt64(slots))
                let payload = (region.pointer + (1 + slot) * Ring.lineSize).assumingMemoryBound(to: UInt64.self)
                for i in 0..<ChannelMessage.wordCount { payload[i] = random.next() }
                let tag = UInt64(random.below(1 << 16)) << 32
                // Mostly what a correct sender could have left there, and near misses.
                let nearby = [expected, expected, expected, expected &- UInt64(slots), expected &- 2 * UInt64(slots),
                              expected + 1, expected &- 1, expected + UInt64(slots)]
                var header = random.chance(15) ? 0 : UInt64(UInt32(truncatingIfNeeded: random.pick(nearby))) | tag
                if random.chance(10) { header |= 1 << UInt64(48 + random.below(16)) }
                if random.chance(5) { header = random.next() }
                region.header(slot: slot).pointee = header

                let context = "round \(round), expecting \(expected), header \(String(header, radix: 16))"
                let verdict = Self.verdict(header: header, expected: expected, slots: slots)
                if expected > UInt64(slots) { seen.laterLap += 1 }
                do throws(ChannelError) {
                    if let got = try receiver.receive() {
                        seen.message += 1
                        XCTAssertEqual(verdict, .message, context)
                        XCTAssertEqual(got.tag, UInt16(truncatingIfNeeded: header >> 32), context)
                        for i in 0..<ChannelMessage.wordCount { XCTAssertEqual(got.words[i], payload[i], context) }
                        XCTAssertEqual(receiver.received, expected, context)
                    } else {
                        seen.empty += 1
                        XCTAssertEqual(verdict, .empty, context)
                        XCTAssertEqual(receiver.received, expected - 1, context)
                    }
                } catch {
                    seen.corrupt += 1
                    XCTAssertEqual(verdict, .corrupt, context)
                    XCTAssertEqual(error, .corruptSlot(sequence: UInt32(truncatingIfNeeded: header),
                                                      expected: UInt32(truncatingIfNeeded: expected)), context)
                    XCTAssertEqual(receiver.received, expected - 1, context)
                }
            }
        }
        // Every verdict, on the first lap and later ones, is reached often.
        XCTAssertGreaterThan(seen.message, 1000)
        XCTAssertGreaterThan(seen.empty, 1000)
        XCTAssertGreaterThan(seen.corrupt, 1000)
        XCTAssertGreaterThan(seen.laterLap, 1000)
    }
}
