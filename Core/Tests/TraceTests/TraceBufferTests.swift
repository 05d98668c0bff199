import ABI
import XCTest
@testable import Trace

final class TraceBufferTests: XCTestCase {
    /// A buffer of `capacity` events in fresh memory, and its bytes when read back.
    final class Region {
        let memory: UnsafeMutableRawPointer
        let bytes: Int
        init(capacity: Int) {
            bytes = TraceLayout.headerBytes + capacity * TraceEvent.bytes
            memory = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            memory.initializeMemory(as: UInt8.self, repeating: 0xAA, count: bytes)
        }
        deinit { memory.deallocate() }
        var contents: [UInt8] { Array(UnsafeRawBufferPointer(start: memory, count: bytes)) }
    }

    func event(_ n: Int) -> TraceEvent {
        TraceEvent(timestamp: UInt64(1000 + n), kind: n % 2 == 0 ? .messageSent : .messageReceived,
                   channel: TraceChannel.monitorRing.rawValue, domain: UInt32(n), a: TraceMessageWord.make(peer: 3, tag: 0x4301), b: UInt64(n))
    }

    func testEventsComeBackInOrder() throws {
        let region = Region(capacity: 8)
        let buffer = try XCTUnwrap(TraceBuffer(region: region.memory, bytes: region.bytes, core: 5, cyclesPerMicrosecond: 2600))
        for n in 0..<5 { buffer.record(event(n)) }
        let dump = try TraceDump.decode(region.contents)
        XCTAssertEqual(dump.core, 5)
        XCTAssertEqual(dump.cyclesPerMicrosecond, 2600)
        XCTAssertEqual(dump.events, (0..<5).map(event))
        XCTAssertEqual([dump.lost, UInt64(dump.missing), UInt64(dump.malformed)], [0, 0, 0])
        XCTAssertEqual(dump.events[0].peer, 3)
        XCTAssertEqual(dump.events[0].tag, 0x4301)
    }

    func testAFullBufferWrapsAndCountsWhatItLost() throws {
        let region = Region(capacity: 4)
        let buffer = try XCTUnwrap(TraceBuffer(region: region.memory, bytes: region.bytes, core: 0, cyclesPerMicrosecond: 1))
        for n in 0..<11 { buffer.record(event(n)) }
        let dump = try TraceDump.decode(region.contents)
        XCTAssertEqual(dump.events, (7..<11).map(event))
        XCTAssertEqual(dump.lost, 7)
    }

    func testABufferCutShortGivesWhatIsThere() throws {
        let region = Region(capacity: 8)
        let buffer = try XCTUnwrap(TraceBuffer(region: region.memory, bytes: region.bytes, core: 2, cyclesPerMicrosecond: 1))
        for n in 0..<6 { buffer.record(event(n)) }
        let cut = Array(region.contents.prefix(TraceLayout.headerBytes + 3 * TraceEvent.bytes + 10))
        let dump = try TraceDump.decode(cut)
        XCTAssertEqual(dump.events, (0..<3).map(event))
        XCTAssertEqual(dump.missing, 3)
    }

    func testClearStartsAgain() throws {
        let region = Region(capacity: 4)
        let buffer = try XCTUnwrap(TraceBuffer(region: region.memory, bytes: region.bytes, core: 0, cyclesPerMicrosecond: 1))
        for n in 0..<6 { buffer.record(event(n)) }
        buffer.clear()
        buffer.record(event(9))
        XCTAssertEqual(try TraceDump.decode(region.contents).events, [event(9)])
    }

    func testWhatIsNotATraceIsRefusedByName() throws {
        let region = Region(capacity: 4)
        XCTAssertNil(TraceBuffer(region: region.memory, bytes: TraceLayout.headerBytes + 8, core: 0, cyclesPerMicrosecond: 1))
        let buffer = try XCTUnwrap(TraceBuffer(region: region.memory, bytes: region.bytes, core: 0, cyclesPerMicrosecond: 1))
        buffer.record(event(0))
        let good = region.contents
        XCTAssertThrowsError(try TraceDump.decode(Array(good.prefix(20)))) { XCTAssertEqual($0 as? TraceDump.Failure, .tooShort) }
        var bad = good
        bad[0] ^= 1
        XCTAssertThrowsError(try TraceDump.decode(bad)) { XCTAssertEqual($0 as? TraceDump.Failure, .notATrace) }
        bad = good
        bad[12] = 9
        XCTAssertThrowsError(try TraceDump.decode(bad)) { XCTAssertEqual($0 as? TraceDump.Failure, .unknownVersion(9)) }
        bad = good
        for i in 16..<24 { bad[i] = 0xFF }
        XCTAssertThrowsError(try TraceDump.decode(bad)) { XCTAssertEqual($0 as? TraceDump.Failure, .badCapacity(.max)) }
        bad = good
        for i in 16..<24 { bad[i] = 0 }
        XCTAssertThrowsError(try TraceDump.decode(bad)) { XCTAssertEqual($0 as? TraceDump.Failure, .badCapacity(0)) }
    }

    func testAnEventOfNoKnownKindIsSkippedAndCounted() throws {
        let region = Region(capacity: 4)
        let buffer = try XCTUnwrap(TraceBuffer(region: region.memory, bytes: region.bytes, core: 0, cyclesPerMicrosecond: 1))
        for n in 0..<3 { buffer.record(event(n)) }
        var bytes = region.contents
        bytes[TraceLayout.headerBytes + TraceEvent.bytes + 8] = 0xEE      // the second event's kind
        let dump = try TraceDump.decode(bytes)
        XCTAssertEqual(dump.events, [event(0), event(2)])
        XCTAssertEqual(dump.malformed, 1)
    }
}
