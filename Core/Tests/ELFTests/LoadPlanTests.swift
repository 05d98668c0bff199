// The load plan must reproduce the image exactly: every byte of every mapped page is
// either the file byte the segment puts there or zero, and pages carry their
// segment's permissions.

import Basics
import CoreTestSupport
import XCTest
@testable import ELF

final class LoadPlanTests: XCTestCase {
    typealias B = ELFBuilder

    func testUnalignedStartAndBSSTail() throws {
        // Starts 0x123 into a page, 0x2345 file bytes, memory up to 0x5000 bytes: the first
        // page is zero then file bytes, the third mixes file bytes and bss, the last two
        // pages are all bss.
        let builder = ELFBuilder(
            entry: B.base + 0x200,
            programHeaders: [.load(B.r | B.x, offset: 0x1123, address: B.base + 0x123, fileSize: 0x2345, memorySize: 0x5000)],
            fileSize: 0x4000)
        let file = builder.build()
        let image = try B.parse(file)
        let plan = image.loadPlan
        XCTAssertEqual(plan.count, 6)  // [base, base + 0x6000) covers 0x123 ..< 0x5123
        XCTAssertEqual(plan.map(\.virtualAddress), (0..<6).map { B.base + UInt64($0) * 0x1000 })

        XCTAssertEqual(plan[0].copyDestination, 0x123..<0x1000)
        XCTAssertEqual(plan[0].copySource, 0x1123..<0x2000)
        XCTAssertEqual(plan[0].zeroedBefore, 0..<0x123)
        XCTAssertEqual(plan[1].copyDestination, 0..<0x1000)
        XCTAssertEqual(plan[2].copyDestination, 0..<0x468)  // file bytes end at 0x123 + 0x2345 = 0x2468
        XCTAssertEqual(plan[2].zeroedAfter, 0x468..<0x1000)
        XCTAssertEqual(plan[3].copyDestination, 0..<0)
        XCTAssertEqual(plan[3].zeroedAfter, 0..<0x1000)

        try assertPlanReproduces(image, file: file)
    }

    func testThreeSegmentPlan() throws {
        let builder = B.threeSegments()
        let file = builder.build()
        let image = try B.parse(file)
        let plan = image.loadPlan
        XCTAssertEqual(plan.count, image.pageCount)
        XCTAssertEqual(plan.map(\.permissions), Array(repeating: [.readable, .executable], count: 3)
            + [[.readable]] + Array(repeating: [.readable, .writable], count: 4))
        try assertPlanReproduces(image, file: file)
    }

    func testSegmentSmallerThanAPageInTheMiddleOfIt() throws {
        let builder = ELFBuilder(
            entry: B.base + 0x800,
            programHeaders: [.load(B.r | B.x, offset: 0x1800, address: B.base + 0x800, fileSize: 0x10, memorySize: 0x20)],
            fileSize: 0x1810)
        let file = builder.build()
        let image = try B.parse(file)
        XCTAssertEqual(image.loadPlan.count, 1)
        XCTAssertEqual(image.loadPlan[0].copyDestination, 0x800..<0x810)
        XCTAssertEqual(image.loadPlan[0].copySource, 0x1800..<0x1810)
        try assertPlanReproduces(image, file: file)
    }

    func testFillRefusesShortFrameAndWrongFile() throws {
        let file = B.oneSegment().build()
        let page = try B.parse(file).loadPlan[0]
        let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { frame.deallocate() }
        frame.initializeMemory(as: UInt8.self, repeating: 0xAA)
        XCTAssertFalse(page.fill(UnsafeMutableRawBufferPointer(rebasing: frame[0..<4095]), from: ByteReader(UnsafeRawBufferPointer(frame))))
        Array(file.prefix(0x1100)).withUnsafeBytes { short in
            XCTAssertFalse(page.fill(frame, from: ByteReader(short)))
        }
        XCTAssertTrue(frame.allSatisfy { $0 == 0xAA }, "a refused fill writes nothing")
    }

    func testPlanOfEmptyAndLargeImages() {
        let none = LoadPlan(segments: [])
        XCTAssertTrue(none.isEmpty)
        // A bss of 2^18 pages costs no memory in the plan.
        let bss = LoadSegment(
            virtualRange: B.base..<(B.base + (1 << 30)), fileOffset: 0, fileSize: 0, memorySize: 1 << 30,
            permissions: [.readable, .writable], alignment: 0x1000, programHeaderIndex: 0)
        let plan = LoadPlan(segments: [bss])
        XCTAssertEqual(plan.count, 1 << 18)
        XCTAssertEqual(plan[(1 << 18) - 1].virtualAddress, B.base + (1 << 30) - 0x1000)
        XCTAssertTrue(plan[12345].copyDestination.isEmpty)
    }
}

/// Executes `image`'s plan into fresh frames full of junk and checks every byte of
/// every page against the segments, computed independently from the plan.
func assertPlanReproduces(_ image: ELFImage, file bytes: [UInt8], line: UInt = #line) throws {
    let plan = image.loadPlan
    XCTAssertEqual(plan.count, image.pageCount, line: line)
    let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
    defer { frame.deallocate() }
    var previous: UInt64? = nil
    try bytes.withUnsafeBytes { buffer in
        for page in plan {
            XCTAssertEqual(page.virtualAddress % 4096, 0, line: line)
            if let previous { XCTAssertLessThan(previous, page.virtualAddress, "pages ascend", line: line) }
            previous = page.virtualAddress
            XCTAssertEqual(page.copySource.count, page.copyDestination.count, line: line)
            let segment = try XCTUnwrap(image.segments.first { $0.pageRange.contains(page.virtualAddress) }, line: line)
            XCTAssertEqual(page.permissions, segment.permissions, line: line)

            frame.initializeMemory(as: UInt8.self, repeating: 0xAA)
            XCTAssertTrue(page.fill(frame, from: ByteReader(buffer)), line: line)
            for offset in 0..<4096 {
                let address = page.virtualAddress + UInt64(offset)
                var expected: UInt8 = 0
                if address >= segment.virtualRange.lowerBound && address < segment.virtualRange.lowerBound + segment.fileSize {
                    expected = bytes[Int(segment.fileOffset + (address - segment.virtualRange.lowerBound))]
                }
                if frame[offset] != expected {
                    XCTFail("page \(page.virtualAddress) byte \(offset): \(frame[offset]) != \(expected)", line: line)
                    return
                }
            }
        }
    }
}
