import XCTest
import ABI
import Basics
import Channel
import CoreTestSupport
import KnowledgeBase
@testable import MonitorProtocols

/// Every monitor message survives encoding and decoding, and whatever another core
/// writes into a slot decodes to a valid message or to nothing, never a crash.
final class MonitorMessageTests: XCTestCase {
    let coreCount = 4

    var everyKind: [MonitorMessage] {
        let d = DomainID(core: CoreID(3), local: LocalDomainNumber(.max))
        let e = DomainID(core: CoreID(0), local: LocalDomainNumber(0))
        let long = Name(Array(repeating: 0xFF, count: 32))!
        let short = Name([0])!
        return [
            .registerRequest(Ticket(1), name: Name("echo")!, owner: d, endpoint: EndpointToken(.max)),
            .registerRequest(Ticket(.max), name: long, owner: e, endpoint: EndpointToken(0)),
            .registerGranted(Ticket(7)), .registerGranted(Ticket(0)),
            .registerRefused(Ticket(7), .nameTaken), .registerRefused(Ticket(.max), .timedOut),
            .registerCancel(Ticket(9), name: short), .registerCancel(Ticket(.max), name: long),
            .unregisterRequest(Ticket(3), name: Name("echo")!, owner: d),
            .unregisterAnswer(Ticket(3), refusal: nil), .unregisterAnswer(Ticket(3), refusal: .notOwner),
            .nameAdded(NameRecord(name: long, owner: d, endpoint: EndpointToken(0xDEAD_BEEF), grant: Ticket(12))),
            .nameAdded(NameRecord(name: short, owner: e, endpoint: EndpointToken(.max))),
            .nameRemoved(long), .nameRemoved(short),
            .domainStarted(DomainRecord(id: d, program: Name("threads")!)), .domainStarted(DomainRecord(id: e, program: long)),
            .domainEnded(d, .exited(status: -1)), .domainEnded(e, .stopped),
            .spawnRequest(Ticket(5), program: Name("hello")!, argumentBytes: 0),
            .spawnRequest(Ticket(.max), program: long, argumentBytes: MonitorMessage.maximumArgumentBytes),
            .spawnArguments(Ticket(5), bytes: [1]), .spawnArguments(Ticket(5), bytes: Array(repeating: 0xAB, count: 48)),
            .spawnArguments(Ticket(5), bytes: Array(repeating: 0, count: 20)),
            .spawnStarted(Ticket(5), d), .spawnRefused(Ticket(5), .noSuchProgram),
            .killRequest(Ticket(6), e), .killRequest(.noAnswer, d),
            .killAnswer(Ticket(6), refusal: nil), .killAnswer(Ticket(6), refusal: .noSuchDomain),
            .ping(token: 0), .ping(token: .max), .pong(token: 17),
            .bindRequest(token: 3, endpoint: EndpointToken(.max), page: 7, client: d),
            .bindRequest(token: .max, endpoint: EndpointToken(0), page: MonitorMessage.maximumPoolPages - 1, client: e),
            .bindAnswer(token: 3, accepted: true), .bindAnswer(token: 4, accepted: false),
            .knowledgeHeader(generation: KnowledgeGeneration(1), byteCount: 1, checksum: 0),
            .knowledgeHeader(generation: KnowledgeGeneration(.max), byteCount: MonitorMessage.maximumKnowledgeBytes, checksum: .max),
            .knowledgePiece(generation: KnowledgeGeneration(1), index: 0, bytes: [0]),
            .knowledgePiece(generation: KnowledgeGeneration(.max), index: (MonitorMessage.maximumKnowledgeBytes - 1) / 48, bytes: Array(repeating: 0xFF, count: 48)),
            .knowledgePiece(generation: KnowledgeGeneration(7), index: 3, bytes: Array(repeating: 0, count: 13)),
            .knowledgeRequest,
            .statesRequest(token: 9),
            .lendRequest(token: 3, client: DomainID(core: CoreID(1), local: LocalDomainNumber(7))),
            .lendAnswer(token: 3, base: 0), .lendAnswer(token: .max, base: 0x12_3400_0000),
            .lendReturn(token: 4, base: 0x8000), .lendReturned(token: 4, accepted: true), .lendReturned(token: 5, accepted: false),
            .statesAnswer(token: 9, states: [], last: true),
            .statesAnswer(token: .max, states: (1...5).map { DomainStateEntry(local: LocalDomainNumber($0), state: $0 == 3 ? .running : .sleeping) },
                          last: false),
            .statesAnswer(token: 1, states: [DomainStateEntry(local: LocalDomainNumber(.max), state: .running)], last: true),
            .spanRequest(Ticket(5), domain: DomainID(core: CoreID(2), local: LocalDomainNumber(9)),
                         place: SpanPlace(root: 0x1000, frame: 0xF_FFFF_FFFF_F000, frameAddress: 0x7FFF_FFFF_F000)!),
            .spanStarted(Ticket(5), DomainID(core: CoreID(1), local: LocalDomainNumber(3))), .spanRefused(Ticket(6), .outOfResources),
            .unspanRequest(DomainID(core: CoreID(2), local: LocalDomainNumber(9))), .unspanDone(DomainID(core: CoreID(0), local: LocalDomainNumber(1))),
        ]
    }

    func testEveryMessageRoundTrips() {
        for message in everyKind {
            XCTAssertEqual(MonitorMessage(decoding: message.encode(), coreCount: coreCount), message, "\(message)")
        }
    }

    func testEveryTagIsCovered() {
        let tags = Set(everyKind.map { $0.encode().tag })
        XCTAssertEqual(tags, Set(MonitorMessage.Tag.allCases.map(\.rawValue)))
    }

    func testStatesAreSplitIntoAnswersOfFive() {
        let states = (1...11).map { DomainStateEntry(local: LocalDomainNumber($0), state: .sleeping) }
        let messages = MonitorMessage.statesMessages(token: 4, states: states)
        XCTAssertEqual(messages, [.statesAnswer(token: 4, states: Array(states[0..<5]), last: false),
                                  .statesAnswer(token: 4, states: Array(states[5..<10]), last: false),
                                  .statesAnswer(token: 4, states: [states[10]], last: true)])
        XCTAssertEqual(MonitorMessage.statesMessages(token: 4, states: []), [.statesAnswer(token: 4, states: [], last: true)])
        XCTAssertEqual(MonitorMessage.statesMessages(token: 4, states: Array(states[0..<5])),
                       [.statesAnswer(token: 4, states: Array(states[0..<5]), last: true)])
    }

    func testEveryErrorRoundTripsInARefusal() {
        for error in MonitorError.allCases {
            for message in [MonitorMessage.registerRefused(Ticket(1), error), .spawnRefused(Ticket(2), error),
                            .unregisterAnswer(Ticket(3), refusal: error), .killAnswer(Ticket(4), refusal: error)] {
                XCTAssertEqual(MonitorMessage(decoding: message.encode(), coreCount: coreCount), message)
            }
        }
    }

    func testSpawnArgumentsAreCutIntoPiecesAndJoinAgain() {
        for length in [0, 1, 47, 48, 49, 96, 200, MonitorMessage.maximumArgumentBytes] {
            let line = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ 33) }
            let messages = MonitorMessage.spawnMessages(Ticket(9), program: Name("p")!, arguments: line)
            XCTAssertEqual(messages.first, .spawnRequest(Ticket(9), program: Name("p")!, argumentBytes: length))
            var joined: [UInt8] = []
            for message in messages.dropFirst() {
                guard case .spawnArguments(Ticket(9), let bytes) = message else { return XCTFail("not a piece: \(message)") }
                XCTAssertLessThanOrEqual(bytes.count, MonitorMessage.argumentBytesPerPiece)
                XCTAssertEqual(MonitorMessage(decoding: message.encode(), coreCount: coreCount), message)
                joined += bytes
            }
            XCTAssertEqual(joined, line, "length \(length)")
            XCTAssertEqual(messages.count, 1 + (length + 47) / 48)
        }
    }

    func testKnowledgeIsCutIntoPiecesAndJoinsAgain() {
        for length in [1, 47, 48, 49, 480, 2_917] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let messages = MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(3), bytes: bytes)
            XCTAssertEqual(messages.first, .knowledgeHeader(generation: KnowledgeGeneration(3), byteCount: length, checksum: KnowledgeEncoding.digest(bytes)))
            var joined: [UInt8] = []
            for (index, message) in messages.dropFirst().enumerated() {
                guard case .knowledgePiece(KnowledgeGeneration(3), index, let piece) = message else { return XCTFail("not piece \(index): \(message)") }
                XCTAssertEqual(MonitorMessage(decoding: message.encode(), coreCount: coreCount), message)
                joined += piece
            }
            XCTAssertEqual(joined, bytes, "length \(length)")
            XCTAssertEqual(messages.count, 1 + (length + 47) / 48)
        }
    }

    func testNamesAreOneTo32Bytes() {
        XCTAssertNil(Name([UInt8]()))
        XCTAssertNil(Name(Array(repeating: 65, count: 33)))
        XCTAssertNotNil(Name(Array(repeating: 65, count: 32)))
        XCTAssertEqual(Name("echo")?.bytes, Array("echo".utf8))
    }

    func testHomesAreSpreadAndStable() {
        // FNV-1a of "a" is 0xAF63DC4C8601EC8C, so its home of 4 cores is 0.
        XCTAssertEqual(Name("a")!.home(coreCount: 4), CoreID(0))
        var seen = Array(repeating: 0, count: 4)
        for i in 0..<400 { seen[Name("service-\(i)")!.home(coreCount: 4).rawValue] += 1 }
        XCTAssertTrue(seen.allSatisfy { $0 > 50 }, "\(seen)")
        XCTAssertEqual(Name("x")!.home(coreCount: 1), CoreID(0))
    }

    func testMalformedSlotsAreRefused() {
        func refused(_ tag: MonitorMessage.Tag, _ words: [UInt64], _ why: String, line: UInt = #line) {
            var raw = ChannelMessage(tag: tag.rawValue)
            for (i, w) in words.enumerated() { raw.words[i] = w }
            XCTAssertNil(MonitorMessage(decoding: raw, coreCount: coreCount), why, line: line)
        }
        XCTAssertNil(MonitorMessage(decoding: ChannelMessage(tag: 0), coreCount: coreCount), "tag 0")
        XCTAssertNil(MonitorMessage(decoding: ChannelMessage(tag: 0x4D00), coreCount: coreCount), "below the range")
        let past = MonitorMessage.Tag.allCases.last!.rawValue + 1
        XCTAssertNil(MonitorMessage(decoding: ChannelMessage(tag: past), coreCount: coreCount), "past the range")
        XCTAssertNil(MonitorMessage(decoding: ChannelMessage(tag: 1), coreCount: coreCount), "a kernel message's tag")
        let a: UInt64 = 0x61
        refused(.ping, [1, 1], "a ping with a second word")
        refused(.bindRequest, [1, 2, UInt64(MonitorMessage.maximumPoolPages), 0], "a page past the pool")
        refused(.bindRequest, [1, 2, 3, UInt64(coreCount) << 32], "a client on a core the system lacks")
        refused(.bindAnswer, [1, 2], "an answer neither yes nor no")
        refused(.statesRequest, [1, 1], "a states request with a second word")
        refused(.statesAnswer, [1, 6, 1, 1, 1, 1, 1], "six states in one answer")
        refused(.statesAnswer, [1, 1, 3 << 32 | 4], "a state no domain has")
        refused(.statesAnswer, [1, 1, 0], "a state of 0")
        refused(.statesAnswer, [1, 1 | 2 << 8, 1 << 32], "a last flag of 2")
        refused(.statesAnswer, [1, 1, 1 << 32, 1 << 32], "an entry past the count")
        refused(.registerRequest, [1 | 33 << 32, a], "name longer than 32 bytes")
        refused(.registerRequest, [1 | 0 << 32], "empty name")
        refused(.registerRequest, [1 | 1 << 32, a | 0x100], "a byte past the name's length")
        refused(.registerRequest, [1 | 1 << 32, a, 0, 0, 0, 4 << 32], "owner on core 4 of 4")
        refused(.registerRequest, [1 | 1 << 32, a, 0, 0, 0, 1 << 48], "owner word with high bits")
        refused(.registerRequest, [1 | 1 << 32 | 1 << 40, a], "bits above the name length")
        refused(.registerGranted, [1 << 32], "ticket past 32 bits")
        refused(.registerGranted, [1, 1], "an unused word set")
        refused(.registerRefused, [1, 0], "refusal without an error")
        refused(.registerRefused, [1, 200], "unknown error")
        refused(.registerRefused, [1, 0x101], "error past a byte")
        refused(.unregisterAnswer, [1, 99], "unknown error")
        refused(.registerCancel, [1 | 1 << 32, a, 0, 0, 0, 5], "an unused word set")
        refused(.nameRemoved, [7 | 1 << 32, a], "a removal carries no ticket")
        refused(.domainStarted, [1 << 32, a, 0, 0, 0, 9 << 32], "domain on core 9")
        refused(.domainEnded, [3 << 32 | 5, 1, 0, 1], "an unused word set")
        refused(.domainEnded, [3 << 32 | 5, 3], "no such end")
        refused(.domainEnded, [3 << 32 | 5, 2, 1], "a stop with a status")
        refused(.spawnRequest, [1 | 1 << 32 | 241 << 40, a], "argument line too long")
        refused(.spawnArguments, [1 | 49 << 32], "piece longer than 48 bytes")
        refused(.spawnArguments, [1], "empty piece")
        refused(.spawnArguments, [1 | 2 << 32, 0x0300_0101], "a byte past the piece's length")
        refused(.spawnStarted, [1, 4 << 32], "domain on core 4 of 4")
        refused(.killRequest, [1, 0, 1], "an unused word set")
        refused(.knowledgeHeader, [0 | 8 << 32, 1], "generation 0")
        refused(.knowledgeHeader, [1], "an empty base")
        refused(.knowledgeHeader, [1 | UInt64(MonitorMessage.maximumKnowledgeBytes + 1) << 32], "a base too large")
        refused(.knowledgeHeader, [1 | 8 << 32, 1, 1], "an unused word set")
        refused(.knowledgePiece, [0 | 1 << 48, 1], "generation 0")
        refused(.knowledgePiece, [1], "an empty piece")
        refused(.knowledgePiece, [1 | 49 << 48], "a piece longer than 48 bytes")
        refused(.knowledgePiece, [1 | 1 << 48, 0x0101], "a byte past the piece's length")
        refused(.knowledgePiece, [1 | UInt64((MonitorMessage.maximumKnowledgeBytes + 47) / 48) << 32 | 1 << 48, 1],
                "a piece past the largest base")
        refused(.knowledgeRequest, [1], "a request carries nothing")
        refused(.lendRequest, [1, UInt64(coreCount) << 32], "a client on a core the system lacks")
        refused(.lendRequest, [1, 1, 1], "an unused word set")
        refused(.lendAnswer, [1, 0x1001], "a piece not page-aligned")
        refused(.lendReturn, [1, 0], "a return of no piece")
        refused(.lendReturn, [1, 0x2000, 1], "an unused word set")
        refused(.lendReturned, [1, 2], "an answer neither yes nor no")
        refused(.spanRequest, [1, 1, 0x1001, 0x2000, 0x3000], "a PML4 not page-aligned")
        refused(.spanRequest, [1, 1, 0, 0x2000, 0x3000], "no PML4")
        refused(.spanRequest, [1, 1, 0x1000, 1 << 52, 0x3000], "a frame past 2⁵² bytes")
        refused(.spanRequest, [1, 1, 0x1000, 0x2000, 1 << 47], "a frame address in the upper half")
        refused(.spanRequest, [1, UInt64(coreCount) << 32, 0x1000, 0x2000, 0x3000], "a domain on a core the system lacks")
        refused(.spanRequest, [1, 1, 0x1000, 0x2000, 0x3000, 1], "an unused word set")
        refused(.unspanDone, [1, 1], "an unused word set")
    }

    /// Random slots (mostly small words, so many decode) never trap, and whatever
    /// decodes re-encodes to the very same slot.
    func testRandomSlotsNeverTrapAndDecodeCanonically() {
        var random = SeededGenerator(seed: 0x4D0E_17)
        var decoded = 0
        var decodedTags = Set<UInt16>()
        for _ in 0..<200_000 {
            var raw = ChannelMessage(tag: 0x4D00 &+ UInt16(random.below(MonitorMessage.Tag.allCases.count + 2)))
            for i in 0..<ChannelMessage.wordCount {
                // Mostly zero or small, sometimes a length-like byte at bit 32 (where
                // names keep theirs), so that many random slots are valid messages.
                switch random.below(10) {
                case 0..<5: raw.words[i] = 0
                case 5:
                    // A name's length at bit 32, or a knowledge piece's byte count at bit 48.
                    raw.words[i] = random.chance(50) ? UInt64(random.below(36)) << 32 : UInt64(random.below(50)) << 48 | UInt64(random.below(3))
                default: raw.words[i] = random.next() >> UInt64(random.pick([0, 24, 31, 40, 56, 60, 63]))
                }
            }
            // A span names pages: give it some, or random words almost never make one.
            if raw.tag == MonitorMessage.Tag.spanRequest.rawValue && random.chance(50) {
                for i in 2...4 { raw.words[i] = UInt64(1 + random.below(1 << 20)) << 12 }
            }
            if let message = MonitorMessage(decoding: raw, coreCount: coreCount) {
                decoded += 1
                decodedTags.insert(raw.tag)
                XCTAssertEqual(message.encode(), raw, "\(message)")
            }
        }
        XCTAssertGreaterThan(decoded, 1000, "the generator should reach valid messages too")
        XCTAssertEqual(decodedTags.count, MonitorMessage.Tag.allCases.count, "every kind reached; missing \(MonitorMessage.Tag.allCases.filter { !decodedTags.contains($0.rawValue) })")
    }
}
