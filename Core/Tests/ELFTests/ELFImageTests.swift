// Valid images parse to the segments and entry they describe; every malformed or
// refused image gets its own exact error.

import Basics
import CoreTestSupport
import XCTest
@testable import ELF

final class ELFImageTests: XCTestCase {
    typealias B = ELFBuilder

    // MARK: Valid images

    func testOneSegment() throws {
        let image = try B.oneSegment().parse()
        XCTAssertEqual(image.entry, B.base + 0x10)
        XCTAssertEqual(image.segments.count, 1)
        let text = image.segments[0]
        XCTAssertEqual(text.virtualRange, B.base..<(B.base + 0x180))
        XCTAssertEqual(text.fileOffset, 0x1000)
        XCTAssertEqual(text.fileSize, 0x180)
        XCTAssertEqual(text.memorySize, 0x180)
        XCTAssertEqual(text.permissions, [.readable, .executable])
        XCTAssertEqual(text.alignment, 0x1000)
        XCTAssertEqual(text.programHeaderIndex, 0)
        XCTAssertEqual(text.pageRange, B.base..<(B.base + 0x1000))
        XCTAssertEqual(image.pageCount, 1)
    }

    func testThreeSegmentsWithBSSAndOtherHeaders() throws {
        let image = try B.threeSegments().parse()
        XCTAssertEqual(image.entry, B.base + 0x1234)
        XCTAssertEqual(image.segments.map(\.programHeaderIndex), [1, 2, 3])
        XCTAssertEqual(image.segments.map(\.permissions), [[.readable, .executable], [.readable], [.readable, .writable]])
        let data = image.segments[2]
        XCTAssertEqual(data.virtualRange, (B.base + 0x5321)..<(B.base + 0x8321))
        XCTAssertEqual(data.fileSize, 0x100)
        XCTAssertEqual(data.memorySize, 0x3000)
        XCTAssertEqual(data.pageRange, (B.base + 0x5000)..<(B.base + 0x9000))
        XCTAssertEqual(image.pageCount, 3 + 1 + 4)
    }

    func testLLDStaticExecutableLayout() throws {
        // The program headers of `clang -static -nostdlib -mcmodel=large -fuse-ld=lld
        // -Wl,--image-base=0x8000400000` on a small C program: segments share file pages
        // but never memory pages.
        let builder = ELFBuilder(
            entry: B.base + 0x1200,
            programHeaders: [
                .load(B.r, offset: 0x40, address: B.base + 0x40, fileSize: 0x1C0, alignment: 8).with(type: 6),  // PT_PHDR
                .load(B.r, offset: 0, address: B.base, fileSize: 0x200),
                .load(B.r | B.x, offset: 0x200, address: B.base + 0x1200, fileSize: 0x32),
                .load(B.r, offset: 0x240, address: B.base + 0x2240, fileSize: 0x6C),
                .load(B.r | B.w, offset: 0x2AC, address: B.base + 0x42AC, fileSize: 4, memorySize: 0x2714),
                .other(0x6474_E551, flags: 6),
            ],
            fileSize: 0x7A8)
        let image = try builder.parse()
        XCTAssertEqual(image.segments.map(\.programHeaderIndex), [1, 2, 3, 4])
        XCTAssertEqual(image.pageCount, 1 + 1 + 1 + 3)
        try assertPlanReproduces(image, file: builder.build())
    }

    func testGNULDStaticExecutableLayout() throws {
        // The same program linked by GNU ld (-Wl,-Ttext-segment=0x8000400000): a pure bss
        // segment with file offset 0, and small segments at odd offsets.
        let builder = ELFBuilder(
            entry: B.base + 0x1000,
            programHeaders: [
                .load(B.r, offset: 0, address: B.base, fileSize: 0x200),
                .load(B.r | B.x, offset: 0x1000, address: B.base + 0x1000, fileSize: 0x32),
                .load(B.r, offset: 0x2000, address: B.base + 0x2000, fileSize: 0x4C),
                .load(B.r | B.w, offset: 0, address: B.base + 0x3000, fileSize: 0, memorySize: 0x2710),
                .load(B.r, offset: 0x2710, address: B.base + 0x6710, fileSize: 0x15),
                .load(B.r | B.w, offset: 0x2725, address: B.base + 0x7725, fileSize: 0xB),
                .other(0x6474_E551, flags: 6),
            ],
            fileSize: 0x2C10)
        let image = try builder.parse()
        XCTAssertEqual(image.segments.count, 6)
        XCTAssertEqual(image.pageCount, 8)
        try assertPlanReproduces(image, file: builder.build())
    }

    func testTwoSegmentsOutOfOrderAreSortedByAddress() throws {
        var builder = B.threeSegments()
        builder.programHeaders.swapAt(1, 3)
        let image = try builder.parse()
        XCTAssertEqual(image.segments.map(\.programHeaderIndex), [3, 2, 1])
        XCTAssertEqual(image.segments.map(\.virtualRange.lowerBound), [B.base + 0x1000, B.base + 0x4000, B.base + 0x5321])
    }

    func testSegmentsOnAdjacentPagesAreAccepted() throws {
        var builder = B.oneSegment()
        builder.programHeaders.append(.load(B.r | B.w, offset: 0x1000, address: B.base + 0x1000, fileSize: 0, memorySize: 0x10))
        XCTAssertEqual(try builder.parse().segments.count, 2)
    }

    func testPureBSSSegmentIgnoresItsOffset() throws {
        var builder = B.oneSegment()
        builder.programHeaders.append(.load(B.r | B.w, offset: 0xFFFF_FFFF_FFFF_F000, address: B.base + 0x10000,
                                            fileSize: 0, memorySize: 0x2000))
        let image = try builder.parse()
        XCTAssertEqual(image.segments[1].fileSize, 0)
        XCTAssertEqual(image.pageCount, 3)
    }

    func testUnknownAndIgnoredProgramHeaderTypes() throws {
        var builder = B.oneSegment()
        // PT_NULL, PT_DYNAMIC, PT_NOTE, PT_SHLIB, PT_PHDR, GNU_EH_FRAME, GNU_STACK (RWX), GNU_RELRO, GNU_PROPERTY, vendor.
        for type: UInt32 in [0, 2, 4, 5, 6, 0x6474_E550, 0x6474_E551, 0x6474_E552, 0x6474_E553, 0x7000_0001, 0xFFFF_FFFF] {
            builder.programHeaders.append(.other(type, flags: 7))
        }
        XCTAssertEqual(try builder.parse().segments.count, 1)
    }

    func testEmptyLoadSegmentIsIgnored() throws {
        var builder = B.oneSegment()
        builder.programHeaders.append(.load(B.r | B.w | B.x, offset: UInt64.max, address: UInt64.max, fileSize: 0, memorySize: 0, alignment: 3))
        XCTAssertEqual(try builder.parse().segments.count, 1)
    }

    func testZeroAndOneAlignmentMeanNoConstraint() throws {
        for alignment: UInt64 in [0, 1] {
            var builder = B.oneSegment()
            builder.programHeaders[0] = .load(B.r | B.x, offset: 0x1001, address: B.base + 0x7, fileSize: 0x10, alignment: alignment)
            builder.entry = B.base + 0x8
            let segment = try builder.parse().segments[0]
            XCTAssertEqual(segment.virtualRange, (B.base + 0x7)..<(B.base + 0x17))
            XCTAssertEqual(segment.fileOffset, 0x1001)
            XCTAssertEqual(segment.alignment, alignment)
        }
    }

    func testSegmentEndingAtTopOfAllowedRange() throws {
        var builder = B.oneSegment()
        builder.programHeaders[0].virtualAddress = B.allowed.upperBound - 0x1000
        builder.entry = B.allowed.upperBound - 0x1000 + 0x17F
        XCTAssertEqual(try builder.parse().segments[0].pageRange, (B.allowed.upperBound - 0x1000)..<B.allowed.upperBound)
        builder.programHeaders[0].virtualAddress = B.allowed.lowerBound
        builder.entry = B.allowed.lowerBound
        XCTAssertEqual(try builder.parse().segments[0].pageRange, B.allowed.lowerBound..<(B.allowed.lowerBound + 0x1000))
    }

    // MARK: Header errors

    func testTruncatedHeader() {
        let bytes = B.oneSegment().build()
        for size in [0, 1, 4, 16, 63] {
            XCTAssertThrowsError(try B.parse(Array(bytes.prefix(size)))) { XCTAssertEqual($0 as? ELFError, .truncatedHeader(size: size)) }
        }
    }

    func testBadMagic() {
        for magic: UInt32 in [0, 0x464C_457E, 0x7F45_4C46, 0x464C_45FF] {
            var builder = B.oneSegment()
            builder.magic = magic
            expect(builder, .badMagic)
        }
    }

    func test32BitClass() {
        var builder = B.oneSegment()
        builder.elfClass = 1
        expect(builder, .notELF64(class: 1))
        builder.elfClass = 0
        expect(builder, .notELF64(class: 0))
    }

    func testBigEndian() {
        var builder = B.oneSegment()
        builder.encoding = 2
        expect(builder, .notLittleEndian(encoding: 2))
    }

    func testBadVersions() {
        var builder = B.oneSegment()
        builder.identVersion = 0
        expect(builder, .badVersion(0))
        builder = B.oneSegment()
        builder.version = 2
        expect(builder, .badVersion(2))
    }

    func testWrongType() {
        for type: UInt16 in [0, 1, 3, 4, 0xFE00] {  // NONE, REL, DYN, CORE, OS-specific
            var builder = B.oneSegment()
            builder.type = type
            expect(builder, .unsupportedType(type))
        }
    }

    func testWrongMachine() {
        for machine: UInt16 in [0, 3, 40, 183, 243] {  // none, i386, ARM, AArch64, RISC-V
            var builder = B.oneSegment()
            builder.machine = machine
            expect(builder, .wrongMachine(machine))
        }
    }

    func testHeaderSizeWrong() {
        var builder = B.oneSegment()
        builder.headerSize = 52
        expect(builder, .badHeaderSize(52))
    }

    func testProgramHeaderEntrySizeWrong() {
        for size: UInt16 in [0, 32, 55, 57, 64] {
            var builder = B.oneSegment()
            builder.programHeaderEntrySize = size
            expect(builder, .badProgramHeaderSize(size))
        }
    }

    func testHugeProgramHeaderCount() {
        for count: UInt16 in [65, 1000, 0xFFFF] {
            var builder = B.oneSegment()
            builder.programHeaderCount = count
            expect(builder, .tooManyProgramHeaders(count: count))
        }
    }

    func testProgramHeaderCountAtLimitButPastFileEnd() {
        var builder = B.oneSegment()
        builder.programHeaderOffset = 0x1000
        builder.programHeaderCount = 64  // 64 * 56 bytes from 0x1000 pass the 0x1180-byte file
        expect(builder, .programHeadersOutsideFile(offset: 0x1000))
    }

    func testZeroProgramHeaders() {
        var builder = B.oneSegment()
        builder.programHeaderCount = 0
        expect(builder, .noLoadableSegments)
    }

    func testProgramHeaderOffsetPastEnd() {
        for offset: UInt64 in [0x1180, 0x1181, 0x1180 - 55, 1 << 40, UInt64.max, UInt64.max - 55] {
            var builder = B.oneSegment()
            builder.programHeaderOffset = offset
            expect(builder, .programHeadersOutsideFile(offset: offset))
        }
    }

    func testProgramHeaderTableMayStartAnywhereInside() throws {
        var builder = B.oneSegment()
        builder.programHeaderOffset = 0x1180 - 56
        builder.fileSize = 0x1180
        XCTAssertEqual(try builder.parse().segments.map(\.virtualRange), [B.base..<(B.base + 0x180)])
    }

    func testInterpreterAndTLSAreRefused() {
        for type: UInt32 in [3, 7] {
            var builder = B.oneSegment()
            builder.programHeaders.insert(.other(type), at: 0)
            expect(builder, .unsupportedProgramHeader(type: type, index: 0))
        }
    }

    // MARK: Segment errors

    func testSegmentFileRangePastEnd() {
        let cases: [(offset: UInt64, size: UInt64)] = [(0x1001, 0x180), (0x1180, 1), (0x2000, 0x10), (UInt64.max, 2), (UInt64.max - 0x7F, 0x180)]
        for (offset, size) in cases {
            var builder = B.oneSegment()
            builder.programHeaders[0] = .load(B.r | B.x, offset: offset, address: B.base + (offset & 0xFFF), fileSize: size, alignment: 1)
            builder.entry = B.base + (offset & 0xFFF)
            expect(builder, .segmentOutsideFile(index: 0))
        }
    }

    func testFileSizeExceedsMemorySize() {
        var builder = B.oneSegment()
        builder.programHeaders[0].memorySize = 0x17F
        expect(builder, .fileSizeExceedsMemorySize(index: 0))
        builder.programHeaders[0].memorySize = 0
        expect(builder, .fileSizeExceedsMemorySize(index: 0))
    }

    func testOverlappingSegments() {
        var builder = B.threeSegments()
        // Same page as the end of the text segment, but disjoint bytes.
        builder.programHeaders[2] = .load(B.r, offset: 0x3400, address: B.base + 0x3400, fileSize: 0x10)
        expect(builder, .overlappingSegments(first: 1, second: 2))
        // Exactly the same range.
        builder = B.threeSegments()
        builder.programHeaders[3] = builder.programHeaders[1]
        builder.programHeaders[3].flags = B.r
        expect(builder, .overlappingSegments(first: 1, second: 3))
        // One inside another, listed first.
        builder = B.threeSegments()
        builder.programHeaders[1] = .load(B.r | B.x, offset: 0x1000, address: B.base + 0x6000, fileSize: 0x10)
        builder.entry = B.base + 0x6000
        expect(builder, .overlappingSegments(first: 1, second: 3))
    }

    func testSegmentOutsideAllowedRange() {
        let cases: [UInt64] = [0, 0x40_0000, B.allowed.lowerBound - 0x1000, B.allowed.lowerBound - 0x100,
                               B.allowed.upperBound - 0x100, B.allowed.upperBound, 0xFFFF_8000_0000_0000]
        for address in cases {
            var builder = B.oneSegment()
            builder.programHeaders[0].virtualAddress = address
            builder.programHeaders[0].alignment = 1
            builder.entry = address
            expect(builder, .segmentOutsideAllowedRange(index: 0))
        }
    }

    func testAddressOverflow() {
        var builder = B.oneSegment()
        builder.programHeaders[0] = .load(B.r | B.x, offset: 0x1000, address: B.base, fileSize: 0x180, memorySize: UInt64.max - 0x10)
        expect(builder, .addressOverflow(index: 0))
        // Ends below 2^64 but its last page would end past it.
        builder.programHeaders[0] = .load(B.r | B.x, offset: 0x1000, address: 0xFFFF_FFFF_FFFF_F000, fileSize: 0x180, memorySize: 0xFFF)
        expect(builder, .addressOverflow(index: 0))
        // Ends exactly at 2^64.
        builder.programHeaders[0] = .load(B.r | B.x, offset: 0x1000, address: 0xFFFF_FFFF_FFFF_F000, fileSize: 0x180, memorySize: 0x1000)
        expect(builder, .addressOverflow(index: 0))
    }

    func testEntryOutsideAnyExecutableSegment() {
        var builder = B.threeSegments()
        for entry in [0, B.base, B.base + 0x1000 - 1, B.base + 0x3345, B.base + 0x4000, B.base + 0x5400, UInt64.max] {
            builder.entry = entry
            expect(builder, .entryNotExecutable(entry: entry))
        }
        builder.entry = B.base + 0x3344  // last byte of the text segment
        XCTAssertNoThrow(try builder.parse())
    }

    func testWritableAndExecutable() {
        for flags in [B.w | B.x, B.r | B.w | B.x] {
            var builder = B.oneSegment()
            builder.programHeaders[0].flags = flags
            expect(builder, .writableAndExecutable(index: 0))
        }
    }

    func testUnknownFlagBitsAreIgnored() throws {
        var builder = B.oneSegment()
        builder.programHeaders[0].flags = B.r | B.x | 0xF00F_FFF8
        XCTAssertEqual(try builder.parse().segments[0].permissions, [.readable, .executable])
    }

    func testBadAlignment() {
        var builder = B.oneSegment()
        builder.programHeaders[0].alignment = 0x1800
        expect(builder, .badAlignment(index: 0))
        builder.programHeaders[0].alignment = 0x1000
        builder.programHeaders[0].virtualAddress = B.base + 0x10
        expect(builder, .badAlignment(index: 0))
    }

    func testTooManyLoadSegments() {
        var builder = B.oneSegment()
        builder.fileSize = 0x2000
        for index in 1..<16 {
            builder.programHeaders.append(.load(B.r, offset: 0, address: B.base + UInt64(index) * 0x1000, fileSize: 0, memorySize: 8))
        }
        XCTAssertNoThrow(try builder.parse())
        builder.programHeaders.append(.load(B.r, offset: 0, address: B.base + 0x20000, fileSize: 0, memorySize: 8))
        expect(builder, .tooManyLoadSegments(index: 16))
        var limits = B.limits
        limits.maximumLoadSegments = 2
        expect(builder, .tooManyLoadSegments(index: 2), limits: limits)
    }

    func testImageTooLarge() {
        var builder = B.oneSegment()
        builder.programHeaders.append(.load(B.r | B.w, offset: 0, address: B.base + 0x1000, fileSize: 0, memorySize: 1 << 40))
        expect(builder, .imageTooLarge(pages: 1 + (1 << 28)))
        var limits = B.limits
        limits.maximumPages = 3
        builder.programHeaders[1].memorySize = 0x2000
        XCTAssertNoThrow(try builder.parse(limits: limits))
        builder.programHeaders[1].memorySize = 0x2001
        expect(builder, .imageTooLarge(pages: 4), limits: limits)
    }

    func testNoLoadableSegments() {
        var builder = B.oneSegment()
        builder.programHeaders = [.other(4), .other(0x6474_E551), .load(B.r, offset: 0, address: B.base, fileSize: 0, memorySize: 0)]
        expect(builder, .noLoadableSegments)
    }

    func testEveryErrorHasAMessageAndTheRightDetail() {
        let cases: [(ELFError, UInt64?)] = [
            (.truncatedHeader(size: 3), 3), (.badMagic, nil), (.notELF64(class: 1), 1), (.notLittleEndian(encoding: 2), 2),
            (.badVersion(9), 9), (.unsupportedType(3), 3), (.wrongMachine(3), 3), (.badHeaderSize(52), 52),
            (.badProgramHeaderSize(32), 32), (.tooManyProgramHeaders(count: 999), 999),
            (.programHeadersOutsideFile(offset: 0x1234), 0x1234), (.unsupportedProgramHeader(type: 3, index: 4), 4),
            (.tooManyLoadSegments(index: 17), 17), (.fileSizeExceedsMemorySize(index: 1), 1),
            (.writableAndExecutable(index: 2), 2), (.segmentOutsideFile(index: 3), 3), (.badAlignment(index: 4), 4),
            (.addressOverflow(index: 5), 5), (.segmentOutsideAllowedRange(index: 6), 6),
            (.overlappingSegments(first: 1, second: 7), 7), (.imageTooLarge(pages: 99), 99), (.noLoadableSegments, nil),
            (.entryNotExecutable(entry: 0xDEAD), 0xDEAD),
        ]
        var messages = Set<String>()
        for (error, detail) in cases {
            XCTAssertEqual(error.detail, detail, "\(error)")
            let message = error.message.description
            XCTAssertTrue(message.hasPrefix("ELF: "), message)
            messages.insert(message)
        }
        XCTAssertEqual(messages.count, cases.count, "every case has its own message")
    }

    private func expect(_ builder: ELFBuilder, _ error: ELFError, limits: ELFLimits = ELFBuilder.limits,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try builder.parse(limits: limits), file: file, line: line) {
            XCTAssertEqual($0 as? ELFError, error, file: file, line: line)
        }
    }
}
