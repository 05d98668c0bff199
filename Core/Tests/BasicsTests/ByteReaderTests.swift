import XCTest
@testable import Basics

final class ByteReaderTests: XCTestCase {
    func testLoadsLittleEndianAndRefusesShortReads() {
        let data: [UInt8] = [0x78, 0x56, 0x34, 0x12, 0xAA]
        data.withUnsafeBytes { raw in
            let reader = ByteReader(raw)
            XCTAssertEqual(reader.load(UInt32.self, at: 0), 0x1234_5678)
            XCTAssertEqual(reader.load(UInt8.self, at: 4), 0xAA)
            XCTAssertNil(reader.load(UInt32.self, at: 2))
            XCTAssertNil(reader.load(UInt8.self, at: 5))
            XCTAssertNil(reader.load(UInt8.self, at: -1))
            XCTAssertNil(reader.slice(at: 3, length: 3))
            XCTAssertEqual(reader.slice(at: 1, length: 4)?.load(UInt8.self, at: 3), 0xAA)
        }
    }

    func testSignatureAndChecksum() {
        let data: [UInt8] = Array("APIC".utf8)
        data.withUnsafeBytes { raw in
            let reader = ByteReader(raw)
            XCTAssertTrue(reader.matches("APIC", at: 0))
            XCTAssertFalse(reader.matches("FACP", at: 0))
            XCTAssertFalse(reader.matches("APIC", at: 2))
            XCTAssertEqual(reader.checksum, UInt8((0x41 + 0x50 + 0x49 + 0x43) & 0xFF))
        }
    }

    func testNormalizedRangesAreSortedAndMerged() {
        func r(_ a: UInt64, _ b: UInt64) -> PhysicalRange { PhysicalRange(start: PhysicalAddress(a), end: PhysicalAddress(b)) }
        XCTAssertEqual([r(50, 60), r(0, 10), r(10, 20), r(5, 8), r(30, 30), r(55, 70)].normalized, [r(0, 20), r(50, 70)])
        XCTAssertEqual([PhysicalRange]().normalized, [])
    }

    func testAlignment() {
        XCTAssertEqual(PhysicalAddress(0x1234).alignedDown(to: 0x1000), PhysicalAddress(0x1000))
        XCTAssertEqual(PhysicalAddress(0x1234).alignedUp(to: 0x1000), PhysicalAddress(0x2000))
        XCTAssertEqual(PhysicalAddress(UInt64.max).alignedUp(to: 0x1000).rawValue, UInt64.max & ~0xFFF)
        XCTAssertTrue(PhysicalRange(start: PhysicalAddress(0), end: PhysicalAddress(10))
            .overlaps(PhysicalRange(start: PhysicalAddress(9), end: PhysicalAddress(20))))
    }
}
