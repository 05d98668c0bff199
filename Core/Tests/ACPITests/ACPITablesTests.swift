import Basics
import CoreTestSupport
import XCTest
@testable import ACPI

final class ACPITablesTests: XCTestCase {
    private let rsdpAddress = PhysicalAddress(TableBuilder.rsdpAddress)

    private func assertLocateFails(_ memory: FixtureMemory, _ expected: ACPIError, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let tables = try ACPITables.locate(rsdp: rsdpAddress, memory: memory)
            XCTFail("expected \(expected), got \(tables)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    func testPrefersXSDT() throws {
        let memory = TableBuilder.standardMachine()
        let tables = try ACPITables.locate(rsdp: rsdpAddress, memory: memory)
        XCTAssertTrue(tables.usesXSDT)
        XCTAssertEqual(tables.tableAddresses, [PhysicalAddress(0x3000), PhysicalAddress(0x4000)])
    }

    func testUsesRSDTForVersion1() throws {
        let memory = TableBuilder.standardMachine()
        memory.place(TableBuilder.rsdp(revision: 0, rsdt: UInt32(TableBuilder.rsdtAddress)), at: TableBuilder.rsdpAddress)
        let tables = try ACPITables.locate(rsdp: rsdpAddress, memory: memory)
        XCTAssertFalse(tables.usesXSDT)
        XCTAssertEqual(tables.tableAddresses, [PhysicalAddress(0x3000), PhysicalAddress(0x4000)])
        XCTAssertEqual(try tables.madt(memory: memory).processors.count, 3)
    }

    func testUsesRSDTWhenXSDTAddressIsZero() throws {
        let memory = TableBuilder.standardMachine()
        memory.place(TableBuilder.rsdp(revision: 2, rsdt: UInt32(TableBuilder.rsdtAddress), xsdt: 0), at: TableBuilder.rsdpAddress)
        XCTAssertFalse(try ACPITables.locate(rsdp: rsdpAddress, memory: memory).usesXSDT)
    }

    func testNoRootTable() {
        let memory = TableBuilder.standardMachine()
        memory.place(TableBuilder.rsdp(revision: 2, rsdt: 0, xsdt: 0), at: TableBuilder.rsdpAddress)
        assertLocateFails(memory, .noRootTable)
    }

    func testRSDPErrorsPassThrough() {
        let memory = TableBuilder.standardMachine()
        var rsdp = TableBuilder.rsdp(revision: 2, rsdt: 0x2000, xsdt: 0x1000)
        rsdp[3] = 0
        memory.place(rsdp, at: TableBuilder.rsdpAddress)
        assertLocateFails(memory, .badRSDPSignature(rsdpAddress))
    }

    func testXSDTInUnmappedMemory() {
        let memory = TableBuilder.standardMachine()
        memory.place(TableBuilder.rsdp(revision: 2, rsdt: 0x2000, xsdt: 0x9_0000), at: TableBuilder.rsdpAddress)
        assertLocateFails(memory, .unreadable(PhysicalAddress(0x9_0000)))
    }

    func testXSDTBadChecksum() {
        let memory = TableBuilder.standardMachine()
        var xsdt = TableBuilder.xsdt([0x3000, 0x4000])
        xsdt[40] &+= 1
        memory.place(xsdt, at: TableBuilder.xsdtAddress)
        assertLocateFails(memory, .badChecksum(.xsdt))
    }

    func testXSDTWrongSignature() {
        let memory = TableBuilder.standardMachine()
        memory.place(TableBuilder.rsdt([0x3000]), at: TableBuilder.xsdtAddress)
        assertLocateFails(memory, .badSignature(expected: .xsdt, found: .rsdt))
    }

    func testXSDTLengthSmallerThanHeader() {
        let memory = TableBuilder.standardMachine()
        var xsdt = TableBuilder.xsdt([0x3000])
        xsdt[4] = 20
        TableBuilder.fixChecksum(&xsdt, at: 9, over: 0..<20)
        memory.place(xsdt, at: TableBuilder.xsdtAddress)
        assertLocateFails(memory, .badLength(.xsdt, length: 20))
    }

    func testXSDTLengthImplausiblyLarge() {
        let memory = TableBuilder.standardMachine()
        var xsdt = TableBuilder.xsdt([0x3000])
        xsdt.replaceSubrange(4..<8, with: [0xFF, 0xFF, 0xFF, 0xFF])
        memory.place(xsdt, at: TableBuilder.xsdtAddress)
        assertLocateFails(memory, .badLength(.xsdt, length: 0xFFFF_FFFF))
    }

    func testXSDTTruncated() {
        let memory = TableBuilder.standardMachine()
        var xsdt = TableBuilder.xsdt([0x3000, 0x4000])
        xsdt[4] = 60  // claims one more pointer than the 52 bytes supplied
        TableBuilder.fixChecksum(&xsdt, at: 9)
        memory.place(xsdt, at: TableBuilder.xsdtAddress)
        assertLocateFails(memory, .truncated(.xsdt, length: 60))
    }

    func testXSDTEntryAreaNotWholePointers() {
        let memory = TableBuilder.standardMachine()
        let xsdt = TableBuilder.table("XSDT", body: [0, 0x30, 0, 0])
        memory.place(xsdt, at: TableBuilder.xsdtAddress)
        assertLocateFails(memory, .badEntryArea(.xsdt, length: 40))
    }

    func testRSDTEntryAreaNotWholePointers() {
        let memory = TableBuilder.standardMachine()
        memory.place(TableBuilder.rsdp(revision: 0, rsdt: UInt32(TableBuilder.rsdtAddress)), at: TableBuilder.rsdpAddress)
        memory.place(TableBuilder.table("RSDT", body: [0, 0x30]), at: TableBuilder.rsdtAddress)
        assertLocateFails(memory, .badEntryArea(.rsdt, length: 38))
    }

    func testEmptyRootTable() throws {
        let memory = TableBuilder.standardMachine()
        memory.place(TableBuilder.xsdt([]), at: TableBuilder.xsdtAddress)
        let tables = try ACPITables.locate(rsdp: rsdpAddress, memory: memory)
        XCTAssertEqual(tables.tableAddresses, [])
        XCTAssertNil(try tables.find("APIC", memory: memory))
        XCTAssertThrowsError(try tables.madt(memory: memory)) { error in
            XCTAssertEqual(error as? ACPIError, .tableNotFound(.madt))
        }
    }

    func testFindReturnsExactlyTheTable() throws {
        let memory = TableBuilder.standardMachine()
        let tables = try ACPITables.locate(rsdp: rsdpAddress, memory: memory)
        let facp = try XCTUnwrap(try tables.find("FACP", memory: memory))
        XCTAssertEqual(facp.count, 136)
        XCTAssertTrue(facp.matches("FACP", at: 0))
        XCTAssertNil(try tables.find("HPET", memory: memory))
    }

    func testFindSkipsZeroAndUnreadableEntries() throws {
        let memory = TableBuilder.standardMachine()
        memory.place(TableBuilder.xsdt([0, 0xDEAD_0000, TableBuilder.madtAddress]), at: TableBuilder.xsdtAddress)
        let tables = try ACPITables.locate(rsdp: rsdpAddress, memory: memory)
        XCTAssertEqual(try tables.madt(memory: memory).processors.count, 3)
    }

    func testFindReportsBrokenMatchingTable() throws {
        let memory = TableBuilder.standardMachine()
        var madt = TableBuilder.standardMADT
        madt[50] &+= 1
        memory.place(madt, at: TableBuilder.madtAddress)
        let tables = try ACPITables.locate(rsdp: rsdpAddress, memory: memory)
        XCTAssertThrowsError(try tables.find("APIC", memory: memory)) { error in
            XCTAssertEqual(error as? ACPIError, .badChecksum(.madt))
        }
    }

    func testFindReportsTruncatedMatchingTable() throws {
        let memory = TableBuilder.standardMachine()
        var madt = TableBuilder.standardMADT
        madt.removeLast(4)  // header still claims the full length
        memory.place(madt, at: TableBuilder.madtAddress)
        let tables = try ACPITables.locate(rsdp: rsdpAddress, memory: memory)
        XCTAssertThrowsError(try tables.madt(memory: memory)) { error in
            XCTAssertEqual(error as? ACPIError, .truncated(.madt, length: UInt32(TableBuilder.standardMADT.count)))
        }
    }

    func testSignaturePacking() {
        XCTAssertEqual(TableSignature("APIC").rawValue, 0x4349_5041)
        XCTAssertEqual(TableSignature("APIC").bytes, Array("APIC".utf8))
        XCTAssertEqual(TableSignature("A").rawValue, 0x41)
    }

    func testEveryErrorHasAMessage() {
        let errors: [ACPIError] = [
            .unreadable(PhysicalAddress(1)), .badRSDPSignature(PhysicalAddress(2)), .badRSDPChecksum,
            .badRSDPExtendedChecksum, .badRSDPLength(3), .noRootTable,
            .badSignature(expected: .madt, found: .rsdt), .badLength(.madt, length: 4),
            .truncated(.madt, length: 5), .badChecksum(.xsdt), .badEntryArea(.rsdt, length: 6),
            .tableNotFound(.madt), .zeroLengthEntry(offset: 7), .entryOverrunsTable(offset: 8),
            .entryTooShort(offset: 9),
        ]
        for error in errors {
            XCTAssertTrue(error.message.utf8CodeUnitCount > 10)
        }
        XCTAssertEqual(errors.compactMap(\.detail), [1, 2, 3, UInt64(TableSignature.rsdt.rawValue), 4, 5,
                                                     UInt64(TableSignature.xsdt.rawValue), 6,
                                                     UInt64(TableSignature.madt.rawValue), 7, 8, 9])
    }
}
