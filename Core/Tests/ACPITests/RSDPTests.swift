import Basics
import CoreTestSupport
import XCTest
@testable import ACPI

final class RSDPTests: XCTestCase {
    private let address = PhysicalAddress(TableBuilder.rsdpAddress)

    private func parse(_ bytes: [UInt8]) throws(ACPIError) -> RSDP {
        let memory = FixtureMemory([TableBuilder.rsdpAddress: bytes])
        return try RSDP.parse(at: address, memory: memory)
    }

    private func assertError(_ bytes: [UInt8], _ expected: ACPIError, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let rsdp = try parse(bytes)
            XCTFail("expected \(expected), parsed \(rsdp)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    func testVersion1HasOnlyRSDT() throws {
        let rsdp = try parse(TableBuilder.rsdp(revision: 0, rsdt: 0x2000))
        XCTAssertEqual(rsdp, RSDP(revision: 0, rsdtAddress: PhysicalAddress(0x2000), xsdtAddress: nil))
    }

    func testVersion1IsReadFromTwentyBytesOnly() throws {
        // An ACPI 1.0 RSDP may sit at the very end of mapped memory.
        let bytes = TableBuilder.rsdp(revision: 0, rsdt: 0x2000)
        XCTAssertEqual(bytes.count, 20)
        XCTAssertEqual(try parse(bytes).rsdtAddress, PhysicalAddress(0x2000))
    }

    func testVersion2HasXSDT() throws {
        let rsdp = try parse(TableBuilder.rsdp(revision: 2, rsdt: 0x2000, xsdt: 0x1_0000_1000))
        XCTAssertEqual(rsdp.revision, 2)
        XCTAssertEqual(rsdp.rsdtAddress, PhysicalAddress(0x2000))
        XCTAssertEqual(rsdp.xsdtAddress, PhysicalAddress(0x1_0000_1000))
    }

    func testZeroAddressesAreAbsent() throws {
        let rsdp = try parse(TableBuilder.rsdp(revision: 2, rsdt: 0, xsdt: 0))
        XCTAssertNil(rsdp.rsdtAddress)
        XCTAssertNil(rsdp.xsdtAddress)
    }

    func testBadSignature() {
        var bytes = TableBuilder.rsdp(revision: 0, rsdt: 0x2000)
        bytes[0] = UInt8(ascii: "X")
        TableBuilder.fixChecksum(&bytes, at: 8)
        assertError(bytes, .badRSDPSignature(address))
    }

    func testBadVersion1Checksum() {
        var bytes = TableBuilder.rsdp(revision: 0, rsdt: 0x2000)
        bytes[16] &+= 1
        assertError(bytes, .badRSDPChecksum)
    }

    func testBadExtendedChecksum() {
        var bytes = TableBuilder.rsdp(revision: 2, rsdt: 0x2000, xsdt: 0x1000)
        bytes[24] &+= 1  // XSDT address: outside the first 20 bytes, so only the extended sum breaks
        assertError(bytes, .badRSDPExtendedChecksum)
    }

    func testVersion2LengthTooSmall() {
        var bytes = TableBuilder.rsdp(revision: 2, rsdt: 0x2000, xsdt: 0x1000)
        bytes[20] = 20
        TableBuilder.fixChecksum(&bytes, at: 32)
        assertError(bytes, .badRSDPLength(20))
    }

    func testVersion2LengthPastReadableMemory() {
        var bytes = TableBuilder.rsdp(revision: 2, rsdt: 0x2000, xsdt: 0x1000)
        bytes[20] = 200
        TableBuilder.fixChecksum(&bytes, at: 32)
        assertError(bytes, .unreadable(address + 20))
    }

    func testVersion2CutShort() {
        let bytes = Array(TableBuilder.rsdp(revision: 2, rsdt: 0x2000, xsdt: 0x1000)[0..<22])
        assertError(bytes, .unreadable(address + 20))
    }

    func testUnmappedRSDP() {
        let memory = FixtureMemory()
        XCTAssertThrowsError(try RSDP.parse(at: address, memory: memory)) { error in
            XCTAssertEqual(error as? ACPIError, .unreadable(address))
        }
    }
}
