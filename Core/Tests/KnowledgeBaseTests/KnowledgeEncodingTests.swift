import Basics
import CoreTestSupport
import XCTest
@testable import KnowledgeBase

final class KnowledgeEncodingTests: XCTestCase {
    /// A base with what the synthetic machines lack: SMT threads, no NUMA node on some
    /// cores, unmeasured pairs, a core missing from the list, the largest values.
    var irregular: KnowledgeBase {
        var matrix = LatencyMatrix(count: 4)
        matrix[CoreID(0), CoreID(1)] = 12
        matrix[CoreID(1), CoreID(0)] = UInt64.max - 1
        matrix[CoreID(3), CoreID(0)] = 0
        return KnowledgeBase(cores: [
            CoreFacts(core: CoreID(0), apicID: APICID(0), place: CorePlace(package: 0, core: 0, thread: 0),
                      caches: [CacheFact(level: 1, kind: .data, sharingGroup: 0)], numaNode: 0),
            CoreFacts(core: CoreID(1), apicID: APICID(1), place: CorePlace(package: 0, core: 0, thread: 1),
                      caches: [], numaNode: nil),
            CoreFacts(core: CoreID(3), apicID: APICID(UInt32.max), place: CorePlace(package: Int(UInt32.max - 1), core: 7, thread: 3),
                      caches: [CacheFact(level: 7, kind: .unified, sharingGroup: UInt32.max)], numaNode: Int(UInt32.max - 1)),
        ], latency: matrix)
    }

    var machines: [KnowledgeBase] {
        [.intel2x4, .amd4x4, .amd8x4, KnowledgeBase(cores: []), irregular,
         .synthetic(packages: 1, coresPerPackage: 1, latencies: SyntheticLatencies(samePackage: 1, byHops: []))]
    }

    func testRoundTrips() throws {
        for base in machines {
            let bytes = base.encoded()
            XCTAssertEqual(try KnowledgeBase(decoding: bytes), base)
            XCTAssertEqual(try KnowledgeBase(decoding: bytes).encoded(), bytes)
        }
        // 8 header bytes, 23 per core, 6 per cache, 8 per matrix entry.
        XCTAssertEqual(KnowledgeBase.intel2x4.encoded().count, 8 + 8 * 23 + 8 * 3 * 6 + 64 * 8)
    }

    func testDigestTellsBasesApart() {
        let digests = machines.map { KnowledgeEncoding.digest($0.encoded()) }
        for i in digests.indices {
            for j in digests.indices where j != i { XCTAssertNotEqual(digests[i], digests[j]) }
        }
        XCTAssertEqual(KnowledgeEncoding.digest([]), 0xCBF2_9CE4_8422_2325)
    }

    func expect(_ bytes: [UInt8], _ error: KnowledgeDecodingError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try KnowledgeBase(decoding: bytes), file: file, line: line) {
            XCTAssertEqual($0 as? KnowledgeDecodingError, error, file: file, line: line)
        }
    }

    /// `bytes` with the little-endian `value` written at `offset`.
    func patched<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, _ value: T) -> [UInt8] {
        var bytes = bytes
        for i in 0..<MemoryLayout<T>.size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        return bytes
    }

    func testMalformedInputs() {
        let good = irregular.encoded()
        // Offsets in `irregular`: core 0 at 8 (its cache at 31), core 1 at 37, core 3 at 60.
        expect([], .badMagic)
        expect(Array("SKB2".utf8) + good[4...], .badMagic)
        expect(Array(good.prefix(6)), .truncated)
        expect(Array(good.dropLast()), .truncated)
        expect(good + [0], .trailingBytes(1))
        expect(patched(good, at: 4, UInt16(513)), .tooManyCores(513))
        expect(patched(good, at: 6, UInt16(600)), .tooManyCores(600))
        // Counts that promise more than the bytes hold fail before anything is built.
        expect(patched(good, at: 4, UInt16(512)), .truncated)
        expect(patched(good, at: 6, UInt16(512)), .truncated)
        expect(patched(good, at: 37, UInt16(0)), .coresOutOfOrder)
        expect(patched(good, at: 60, UInt16(1)), .coresOutOfOrder)
        expect(patched(good, at: 60, UInt16(4)), .coreOutsideMatrix(4))
        expect(patched(good, at: 30, UInt8(17)), .tooManyCaches(17))
        expect(patched(good, at: 31, UInt8(0)), .badCacheLevel(0))
        expect(patched(good, at: 31, UInt8(8)), .badCacheLevel(8))
        expect(patched(good, at: 32, UInt8(3)), .unknownCacheKind(3))
        expect(patched(good, at: 14, UInt32.max), .valueOutOfRange)
    }

    /// Random bytes, and good encodings with bytes changed, cut or added: decoding never
    /// traps, and whatever decodes re-encodes to the same bytes.
    func testRandomAndMutatedInputs() {
        var random = SeededGenerator(seed: 0x5EB1)
        let seeds = machines.map { $0.encoded() }
        var decoded = 0, refused = 0
        for round in 0..<10_000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<random.below(200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if random.chance(50) { bytes = KnowledgeEncoding.magic + bytes }
            } else {
                bytes = random.pick(seeds)
                for _ in 0..<random.int(in: 1...3) {
                    switch random.below(4) {
                    case 0 where !bytes.isEmpty: bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                    case 1: bytes.removeLast(min(bytes.count, random.int(in: 1...8)))
                    case 2: bytes.append(UInt8(truncatingIfNeeded: random.next()))
                    default: if bytes.count > 8 { bytes[random.int(in: 4...7)] = UInt8(truncatingIfNeeded: random.next()) }
                    }
                }
            }
            do {
                let base = try KnowledgeBase(decoding: bytes)
                XCTAssertEqual(base.encoded(), bytes)
                decoded += 1
            } catch {
                refused += 1
            }
        }
        // Both outcomes happen (a changed latency or APIC ID still decodes).
        XCTAssertGreaterThan(decoded, 500)
        XCTAssertGreaterThan(refused, 500)
    }
}

final class KnowledgeReportTests: XCTestCase {
    func testTheReportListsCoresAndTheMatrix() {
        var base = KnowledgeBase.intel2x4
        base.latency[CoreID(1), CoreID(7)] = nil
        let lines = base.reportLines
        XCTAssertEqual(lines.count, 1 + 8 + 2 + 8)
        XCTAssertEqual(lines[5], "   4     4        1     0       0     - L1d:4 L1i:4 L2u:1")
        XCTAssertEqual(lines[10], "             0        1        2        3        4        5        6        7")
        XCTAssertEqual(lines[12], "   1       180        -      180      180      570      570      570        ?")
        XCTAssertEqual(KnowledgeBase.amd4x4.reportLines[1], "   0     0        0     0       0     0 L1d:0 L1i:0 L2u:0 L3u:0")
    }
}
