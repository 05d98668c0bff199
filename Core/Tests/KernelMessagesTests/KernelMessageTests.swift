import XCTest
import Basics
import Channel
import KnowledgeBase
@testable import KernelMessages

/// Every kernel message survives encoding and decoding, and whatever another core
/// writes into a slot decodes to a valid message or to nothing — never a crash.
final class KernelMessageTests: XCTestCase {
    let coreCount = 8

    var everyKind: [KernelMessage] {
        var live = CoreSet()
        live.insert(CoreID(0)); live.insert(CoreID(5)); live.insert(CoreID(7))
        return [
            .console(bytes: Array("core 3 up (apic 3)\n".utf8), isEnd: true),
            .console(bytes: Array(repeating: 0x41, count: 48), isEnd: false),
            .console(bytes: [], isEnd: true),
            .ping(token: 42, wake: true), .ping(token: .max, wake: false), .pong(token: 7),
            .statusRequest,
            .statusReply(CoreStatus(apicID: 3, ticks: 99, totalFrames: 1000, freeFrames: 900, heapBytes: 4096, domains: 2)),
            .statusReply(CoreStatus(apicID: 1, ticks: 5, totalFrames: 10, freeFrames: 1, heapBytes: 0, domains: 0, dropped: 12)),
            .runTests(live), .startMonitor(live),
            .testReply(TestReport(passed: 6, failed: 1, blockAddress: 0x1000, shareStart: 0x1000, shareEnd: 0x9000)),
            .panicRequest(ticket: 1), .panicRequest(ticket: .max), .panicCheck(ticket: 77),
            .panicAnswer(ticket: 77, granted: true), .panicAnswer(ticket: 5, granted: false),
            .stayAwake(milliseconds: 0), .stayAwake(milliseconds: StayAwakeRequests.longestMilliseconds),
            .measureLatencies(live), .latency(to: CoreID(7), cycles: 180), .stream(sequence: 12345),
            .benchChannel(peer: CoreID(1), rounds: 1000), .floorEcho(peer: CoreID(0), rounds: 5),
            .benchResult(BenchResult(channel: SampleSummary(median: 450, p99: 900, minimum: 0),
                                     floor: SampleSummary(median: 180, p99: 200, minimum: 0), ok: true)),
            .place(CorePlace(package: 1, core: 2, thread: 1),
                   caches: [CacheFact(level: 1, kind: .data, sharingGroup: 4), CacheFact(level: 3, kind: .unified, sharingGroup: 1)]),
            .treeChildren(total: 7, offset: 5, children: [CoreID(6), CoreID(7)]),
            .multicast(id: 9), .multicastAck(id: 9, reached: 3, duplicates: 0),
            .wake(domain: 0), .wake(domain: .max),
            .traceSwitch(on: true), .traceSwitch(on: false), .stopping,
            .traceBuffer(address: 0x20_0000, bytes: 524_352, on: true), .traceBuffer(address: 0, bytes: 0, on: false),
        ]
    }

    func testEveryMessageRoundTrips() {
        for message in everyKind {
            XCTAssertEqual(KernelMessage.decode(message.encode(), coreCount: coreCount), message, "\(message)")
        }
    }

    func testEveryTagIsCovered() {
        let tags = Set(everyKind.map { $0.encode().tag })
        XCTAssertEqual(tags, Set(KernelMessage.Tag.allCases.map(\.rawValue)))
    }

    func testOutOfRangeFieldsAreRefused() {
        func refused(_ tag: KernelMessage.Tag, _ words: [UInt64], line: UInt = #line) {
            var raw = ChannelMessage(tag: tag.rawValue)
            for (i, w) in words.enumerated() { raw.words[i] = w }
            XCTAssertNil(KernelMessage.decode(raw, coreCount: coreCount), line: line)
        }
        XCTAssertNil(KernelMessage.decode(ChannelMessage(tag: 0), coreCount: coreCount), "tag 0 is never sent")
        XCTAssertNil(KernelMessage.decode(ChannelMessage(tag: 999), coreCount: coreCount), "unknown tag")
        refused(.console, [49])                    // more bytes than a slot holds
        refused(.console, [1 << 9])                // unknown flag bits
        refused(.statusReply, [1, 1, 2, 1, 1, 1 << 32])   // more domains than a core can hold
        refused(.wake, [1 << 32])                  // a domain id past 32 bits
        refused(.console, [1 << 16])               // bits above the end flag
        refused(.ping, [1, 2])                     // wake flag not 0/1
        refused(.latency, [8, 100])                // no core 8 of 8
        refused(.stream, [5, 5])                   // check word wrong
        refused(.benchChannel, [1, 0])             // zero rounds
        refused(.benchChannel, [1, 1_000_000])     // absurd rounds
        refused(.treeChildren, [8, 0, 1])          // more children than cores
        refused(.treeChildren, [2, 0, 1, 2, 3])    // slice longer than total
        refused(.treeChildren, [3, 0, 9])          // child id out of range
        refused(.multicastAck, [1, 9, 0])          // reached more cores than exist
        refused(.place, [0, 0, 0, 1 | 7 << 8])     // unknown cache kind
        refused(.stayAwake, [UInt64(StayAwakeRequests.longestMilliseconds) + 1])   // longer than any measurement
        refused(.panicRequest, [0])                // ticket 0 is never granted
        refused(.panicCheck, [0])
        refused(.panicAnswer, [7, 2])              // granted not 0/1
        refused(.traceSwitch, [2])                 // on not 0/1
        refused(.traceBuffer, [0x1001, 64, 1])     // not page-aligned
        refused(.traceBuffer, [0x1000, 1 << 32, 1])   // larger than any buffer
        refused(.traceBuffer, [0x1000, 64, 2])     // on not 0/1
        refused(.statusReply, [1, 5, 10, 11, 0])   // more frames free than there are
        refused(.statusReply, [1, .max, 10, 1, 0]) // absurd tick count
        refused(.benchResult, [.max, 1, 1, 1, 1])  // absurd cycles
    }

    func testRandomSlotsNeverCrashAndDecodeCanonically() {
        var seed: UInt64 = 0xC0FFEE
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed }
        var decoded = 0
        for _ in 0..<200_000 {
            var raw = ChannelMessage(tag: UInt16(truncatingIfNeeded: next() % UInt64(KernelMessage.Tag.allCases.count + 2)))
            for i in 0..<ChannelMessage.wordCount {
                // Mostly small values so that many random slots are valid messages.
                raw.words[i] = next() >> (next() % 2 == 0 ? 60 : UInt64(next() % 64))
            }
            if let message = KernelMessage.decode(raw, coreCount: coreCount) {
                decoded += 1
                XCTAssertEqual(KernelMessage.decode(message.encode(), coreCount: coreCount), message)
            }
        }
        XCTAssertGreaterThan(decoded, 1000, "the generator should reach valid messages too")
    }
}

final class TextPiecesTests: XCTestCase {
    func testLinesAreCutIntoPiecesAndJoinAgain() {
        for length in [0, 1, 47, 48, 49, 96, 200] {
            let line = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ 33) }
            let messages = KernelMessage.pieces(of: line) { .console(bytes: $0, isEnd: $1) }
            var joined: [UInt8] = []
            for (i, message) in messages.enumerated() {
                guard case .console(let bytes, let isEnd) = message else { return XCTFail("wrong kind") }
                XCTAssertLessThanOrEqual(bytes.count, KernelMessage.textBytesPerMessage)
                XCTAssertEqual(isEnd, i == messages.count - 1)
                joined += bytes
            }
            XCTAssertEqual(joined, line, "length \(length)")
            XCTAssertEqual(messages.count, max(1, (length + 47) / 48))
        }
    }
}
