// The loader must answer any bytes at all with an image or an error, quickly. These
// tests damage valid images in seeded ways (byte flips, field overwrites with boundary
// values, truncation, extension) and re-check every promise of a returned image
// independently of the parser. A failing seed replays exactly.

import Basics
import CoreTestSupport
import XCTest
@testable import ELF

final class ELFRandomInputTests: XCTestCase {
    typealias B = ELFBuilder

    func testMutatedImages() {
        var random = SeededGenerator(seed: 0xE1F0_0001)
        let originals = [B.oneSegment().build(), B.threeSegments().build(), bssOnlyData().build()]
        var outcomes = (parsed: 0, refused: 0)
        var seen = Set<String>()
        for round in 0..<12_000 {
            var bytes = originals[round % originals.count]
            mutate(&bytes, using: &random)
            switch parse(bytes) {
            case .success(let image):
                outcomes.parsed += 1
                checkInvariants(image, file: bytes, round: round)
            case .failure(let error):
                outcomes.refused += 1
                seen.insert(error.message.description)
            }
        }
        XCTAssertGreaterThan(outcomes.parsed, 100)
        XCTAssertGreaterThan(outcomes.refused, 100)
        XCTAssertGreaterThan(seen.count, 12, "mutations reach most checks: \(seen.sorted())")
    }

    func testRandomBlobsWithAValidIdentification() {
        var random = SeededGenerator(seed: 0xE1F0_0002)
        let header = Array(B.oneSegment().build().prefix(64 + 56))
        var seen = Set<String>()
        for round in 0..<4000 {
            var bytes = (0..<Int.random(in: 0..<600, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Keep a plausible header most of the time, and some of a program header now
            // and then, so program headers get walked.
            let keep = min(bytes.count, Int.random(in: 0...(64 + 56), using: &random))
            bytes.replaceSubrange(0..<keep, with: header[0..<keep])
            switch parse(bytes) {
            case .success(let image): checkInvariants(image, file: bytes, round: round)
            case .failure(let error): seen.insert(error.message.description)
            }
        }
        XCTAssertGreaterThanOrEqual(seen.count, 15, "blobs reach most checks: \(seen.sorted())")
    }

    func testPlansOfMutatedImagesReproduceTheFile() throws {
        // Fewer rounds: each accepted image's pages are filled and compared byte by byte.
        var random = SeededGenerator(seed: 0xE1F0_0003)
        let original = B.threeSegments().build()
        var checked = 0
        for _ in 0..<400 {
            var bytes = original
            mutate(&bytes, using: &random)
            guard case .success(let image) = parse(bytes), image.pageCount <= 64 else { continue }
            try assertPlanReproduces(image, file: bytes)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 20)
    }

    // MARK: Helpers

    private func bssOnlyData() -> ELFBuilder {
        var builder = B.oneSegment()
        builder.programHeaders.append(.load(B.r | B.w, offset: 0, address: B.base + 0x3000, fileSize: 0, memorySize: 0x1800))
        return builder
    }

    private func parse(_ bytes: [UInt8]) -> Result<ELFImage, ELFError> {
        bytes.withUnsafeBytes { buffer in
            Result { () throws(ELFError) -> ELFImage in try ELFImage(file: ByteReader(buffer), limits: B.limits) }
        }
    }

    private func mutate(_ bytes: inout [UInt8], using random: inout SeededGenerator) {
        let interesting: [UInt64] = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x1000, 0xFFF, 0x1001, 0xFFFF, 0x1_0000_0000,
                                     B.base, B.base + 0x1234, B.allowed.lowerBound, B.allowed.upperBound,
                                     UInt64(bytes.count), 1 << 63, UInt64.max, UInt64.max - 0xFFF]
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { break }
            switch Int.random(in: 0..<8, using: &random) {
            case 0, 1:  // flip a bit in the headers, where almost every byte matters
                let index = Int.random(in: 0..<min(bytes.count, 64 + 6 * 56), using: &random)
                bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 2:  // any byte anywhere
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 3, 4:  // a boundary value into an 8-, 4- or 2-byte field of the headers
                let width = [2, 4, 8][Int.random(in: 0..<3, using: &random)]
                let limit = min(bytes.count, 64 + 6 * 56) - width
                guard limit > 0 else { break }
                let at = Int.random(in: 0..<limit, using: &random) & ~(width - 1)
                var value = interesting[Int.random(in: 0..<interesting.count, using: &random)]
                if Bool.random(using: &random) { value &+= UInt64.random(in: 0..<16, using: &random) &- 8 }
                for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            case 5:  // truncate
                bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
            case 6:  // extend
                bytes += (0..<Int.random(in: 1..<1000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            default:  // copy one program header over another
                let count = (bytes.count - 64) / 56
                guard count >= 2 else { break }
                let from = 64 + Int.random(in: 0..<min(count, 6), using: &random) * 56
                let to = 64 + Int.random(in: 0..<min(count, 6), using: &random) * 56
                bytes.replaceSubrange(to..<(to + 56), with: bytes[from..<(from + 56)])
            }
        }
    }

    /// Re-checks a returned image against the file and the limits, from first principles.
    private func checkInvariants(_ image: ELFImage, file: [UInt8], round: Int) {
        let limits = B.limits
        let context = "round \(round)"
        XCTAssertFalse(image.segments.isEmpty, context)
        XCTAssertLessThanOrEqual(image.segments.count, limits.maximumLoadSegments, context)
        XCTAssertLessThanOrEqual(image.pageCount, limits.maximumPages, context)
        // The header as the file says it.
        XCTAssertEqual(Array(file.prefix(4)), [0x7F, 0x45, 0x4C, 0x46], context)
        XCTAssertEqual(file[4], 2, context)
        XCTAssertEqual(file[5], 1, context)
        XCTAssertEqual(UInt16(file[16]) | UInt16(file[17]) << 8, 2, context)
        XCTAssertEqual(UInt16(file[18]) | UInt16(file[19]) << 8, 62, context)
        var executableHoldsEntry = false
        for (i, segment) in image.segments.enumerated() {
            let start = segment.virtualRange.lowerBound
            XCTAssertLessThanOrEqual(segment.fileSize, segment.memorySize, context)
            XCTAssertGreaterThan(segment.memorySize, 0, context)
            XCTAssertEqual(segment.virtualRange.upperBound.subtractingReportingOverflow(start).partialValue, segment.memorySize, context)
            XCTAssertFalse(segment.virtualRange.upperBound < start, context)
            if segment.fileSize > 0 {
                let (end, overflow) = segment.fileOffset.addingReportingOverflow(segment.fileSize)
                XCTAssertFalse(overflow, context)
                XCTAssertLessThanOrEqual(end, UInt64(file.count), context)
            }
            let pageStart = start / 4096 * 4096
            let (roundedEnd, overflow) = segment.virtualRange.upperBound.addingReportingOverflow(4095)
            XCTAssertFalse(overflow, context)
            XCTAssertGreaterThanOrEqual(pageStart, limits.allowedRange.lowerBound, context)
            XCTAssertLessThanOrEqual(roundedEnd / 4096 * 4096, limits.allowedRange.upperBound, context)
            XCTAssertFalse(segment.permissions.contains(.writable) && segment.permissions.contains(.executable), context)
            if segment.alignment > 1 {
                XCTAssertEqual(segment.alignment.nonzeroBitCount, 1, context)
                XCTAssertEqual((start &- segment.fileOffset) % segment.alignment, 0, context)
            }
            if i > 0 {
                let previous = image.segments[i - 1]
                XCTAssertLessThan(previous.virtualRange.lowerBound, start, "sorted, " + context)
                XCTAssertLessThanOrEqual((previous.virtualRange.upperBound + 4095) / 4096, start / 4096, "no shared page, " + context)
            }
            if segment.permissions.contains(.executable) && image.entry >= start && image.entry < segment.virtualRange.upperBound {
                executableHoldsEntry = true
            }
        }
        XCTAssertTrue(executableHoldsEntry, context)
        // The plan has one page per page of each segment, in order, with in-file sources.
        var pages = 0
        for page in image.loadPlan {
            pages += 1
            XCTAssertLessThanOrEqual(page.copySource.upperBound, file.count, context)
            XCTAssertEqual(page.copySource.count, page.copyDestination.count, context)
            XCTAssertLessThanOrEqual(page.copyDestination.upperBound, 4096, context)
        }
        XCTAssertEqual(pages, image.pageCount, context)
    }
}
