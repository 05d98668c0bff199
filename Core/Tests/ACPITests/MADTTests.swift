import Basics
import CoreTestSupport
import XCTest
@testable import ACPI

final class MADTTests: XCTestCase {
    private func parse(_ bytes: [UInt8]) throws(ACPIError) -> MADT {
        let memory = FixtureMemory([0: bytes])
        guard let reader = memory.bytes(at: PhysicalAddress(0), count: bytes.count) else { throw .unreadable(PhysicalAddress(0)) }
        return try MADT(table: reader)
    }

    private func assertError(_ bytes: [UInt8], _ expected: ACPIError, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let madt = try parse(bytes)
            XCTFail("expected \(expected), parsed \(madt)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    func testStandardTable() throws {
        let madt = try parse(TableBuilder.standardMADT)
        XCTAssertEqual(madt.localAPICAddress, PhysicalAddress(0xFEE0_0000))
        XCTAssertEqual(madt.flags, .pcatCompatible)
        XCTAssertEqual(madt.processors, [
            MADT.Processor(apicID: APICID(0), processorUID: 0, isEnabled: true, isOnlineCapable: false, isX2APIC: false),
            MADT.Processor(apicID: APICID(1), processorUID: 1, isEnabled: true, isOnlineCapable: false, isX2APIC: false),
            MADT.Processor(apicID: APICID(0x100), processorUID: 2, isEnabled: true, isOnlineCapable: false, isX2APIC: true),
        ])
        XCTAssertEqual(madt.ioAPICs, [MADT.IOAPIC(id: 0, address: PhysicalAddress(0xFEC0_0000), globalInterruptBase: 0)])
    }

    func testInterruptSourceOverrides() throws {
        let madt = try parse(TableBuilder.madt(entries: [
            TableBuilder.ioAPIC(id: 0, address: 0xFEC0_0000, gsiBase: 0),
            TableBuilder.interruptSourceOverride(source: 0, gsi: 2),
            TableBuilder.interruptSourceOverride(source: 9, gsi: 9, flags: 0xD),   // level, active high
            TableBuilder.interruptSourceOverride(source: 10, gsi: 20, flags: 0xF), // level, active low
            TableBuilder.interruptSourceOverride(source: 11, gsi: 11, flags: 0xA), // both reserved
            TableBuilder.interruptSourceOverride(bus: 1, source: 5, gsi: 30),
        ]))
        XCTAssertEqual(madt.interruptOverrides.count, 5)
        XCTAssertEqual(madt.interruptOverrides[0], MADT.InterruptSourceOverride(bus: 0, sourceIRQ: 0, globalInterrupt: 2, flags: 0))
        XCTAssertEqual(madt.interruptOverrides.map(\.polarity), [.conformsToBus, .activeHigh, .activeLow, nil, .conformsToBus])
        XCTAssertEqual(madt.interruptOverrides.map(\.triggerMode), [.conformsToBus, .level, .level, nil, .conformsToBus])
        XCTAssertEqual(madt.route(isaIRQ: 0), InterruptRoute(globalInterrupt: 2, activeLow: false, levelTriggered: false))
        XCTAssertEqual(madt.route(isaIRQ: 9), InterruptRoute(globalInterrupt: 9, activeLow: false, levelTriggered: true))
        XCTAssertEqual(madt.route(isaIRQ: 10), InterruptRoute(globalInterrupt: 20, activeLow: true, levelTriggered: true))
        // Reserved encodings fall back to the ISA convention; other buses are not ISA.
        XCTAssertEqual(madt.route(isaIRQ: 11), InterruptRoute(globalInterrupt: 11, activeLow: false, levelTriggered: false))
        XCTAssertEqual(madt.route(isaIRQ: 5), InterruptRoute(globalInterrupt: 5, activeLow: false, levelTriggered: false))
        XCTAssertEqual(madt.route(isaIRQ: 8), InterruptRoute(globalInterrupt: 8, activeLow: false, levelTriggered: false))
    }

    func testFirstOverrideOfAnIRQCounts() throws {
        let madt = try parse(TableBuilder.madt(entries: [
            TableBuilder.interruptSourceOverride(source: 4, gsi: 14),
            TableBuilder.interruptSourceOverride(source: 4, gsi: 15),
        ]))
        XCTAssertEqual(madt.route(isaIRQ: 4).globalInterrupt, 14)
    }

    func testIOAPICForAGlobalInterrupt() throws {
        let madt = try parse(TableBuilder.madt(entries: [
            TableBuilder.ioAPIC(id: 5, address: 0xFEC0_1000, gsiBase: 24),
            TableBuilder.ioAPIC(id: 4, address: 0xFEC0_0000, gsiBase: 0),
        ]))
        XCTAssertEqual(madt.ioAPIC(handling: 2)?.id, 4)
        XCTAssertEqual(madt.ioAPIC(handling: 24)?.id, 5)
        XCTAssertEqual(madt.ioAPIC(handling: 100)?.id, 5)
        XCTAssertNil(try parse(TableBuilder.madt(entries: [])).ioAPIC(handling: 0))
    }

    func testThroughACPITables() throws {
        let memory = TableBuilder.standardMachine()
        let tables = try ACPITables.locate(rsdp: PhysicalAddress(TableBuilder.rsdpAddress), memory: memory)
        XCTAssertEqual(try tables.madt(memory: memory), try parse(TableBuilder.standardMADT))
    }

    func testProcessorFlags() throws {
        let madt = try parse(TableBuilder.madt(flags: 0, entries: [
            TableBuilder.localAPIC(uid: 0, apicID: 0, flags: 0),
            TableBuilder.localAPIC(uid: 1, apicID: 1, flags: 2),
            TableBuilder.x2APIC(x2apicID: 7, uid: 9, flags: 3),
        ]))
        XCTAssertEqual(madt.flags, [])
        XCTAssertEqual(madt.processors.map(\.isEnabled), [false, false, true])
        XCTAssertEqual(madt.processors.map(\.isOnlineCapable), [false, true, true])
        XCTAssertEqual(madt.processors.map(\.processorUID), [0, 1, 9])
    }

    func testLocalAPICAddressOverride() throws {
        let madt = try parse(TableBuilder.madt(entries: [
            TableBuilder.localAPIC(uid: 0, apicID: 0),
            TableBuilder.localAPICOverride(address: 0x1_2345_6000),
            TableBuilder.localAPICOverride(address: 0x9999_0000),
        ]))
        XCTAssertEqual(madt.localAPICAddress, PhysicalAddress(0x1_2345_6000))
    }

    func testSeveralIOAPICs() throws {
        let madt = try parse(TableBuilder.madt(entries: [
            TableBuilder.ioAPIC(id: 4, address: 0xFEC0_0000, gsiBase: 0),
            TableBuilder.ioAPIC(id: 5, address: 0xFEC0_1000, gsiBase: 24),
        ]))
        XCTAssertEqual(madt.ioAPICs.map(\.id), [4, 5])
        XCTAssertEqual(madt.ioAPICs.map(\.globalInterruptBase), [0, 24])
    }

    func testNoEntries() throws {
        let madt = try parse(TableBuilder.madt(entries: []))
        XCTAssertEqual(madt.processors, [])
        XCTAssertEqual(madt.ioAPICs, [])
    }

    func testLongerEntriesAreAccepted() throws {
        var entry = TableBuilder.localAPIC(uid: 3, apicID: 4)
        entry[1] = 10
        entry += [0xAA, 0xBB]
        let madt = try parse(TableBuilder.madt(entries: [entry, TableBuilder.localAPIC(uid: 5, apicID: 6)]))
        XCTAssertEqual(madt.processors.map(\.apicID), [APICID(4), APICID(6)])
    }

    func testUnknownTypesAreSkipped() throws {
        let madt = try parse(TableBuilder.madt(entries: [
            [0x7F, 2], [0x10, 5, 1, 2, 3], TableBuilder.localAPIC(uid: 0, apicID: 2),
        ]))
        XCTAssertEqual(madt.processors.map(\.apicID), [APICID(2)])
    }

    func testZeroLengthEntry() {
        assertError(TableBuilder.madt(entries: [TableBuilder.localAPIC(uid: 0, apicID: 0), [0, 0, 0, 0]]),
                    .zeroLengthEntry(offset: 52))
    }

    func testLengthOneEntry() {
        assertError(TableBuilder.madt(entries: [[0x40, 1]]), .zeroLengthEntry(offset: 44))
    }

    func testEntryRunningPastTheEnd() {
        var entry = TableBuilder.x2APIC(x2apicID: 1, uid: 1)
        entry[1] = 40
        assertError(TableBuilder.madt(entries: [TableBuilder.localAPIC(uid: 0, apicID: 0), entry]),
                    .entryOverrunsTable(offset: 52))
    }

    func testLoneTypeByteAtTheEnd() {
        assertError(TableBuilder.madt(entries: [[0]]), .entryOverrunsTable(offset: 44))
    }

    func testEntriesShorterThanTheirType() {
        for (type, goodLength) in [(UInt8(0), 8), (1, 12), (2, 10), (5, 12), (9, 16)] {
            var entry = [UInt8](repeating: 0, count: goodLength - 1)
            entry[0] = type
            entry[1] = UInt8(goodLength - 1)
            assertError(TableBuilder.madt(entries: [entry]), .entryTooShort(offset: 44))
        }
    }

    func testEntriesEndAtHeaderLengthNotBufferEnd() throws {
        // Bytes after `length` (here: an invalid zero-length entry) are not part of the table.
        let bytes = TableBuilder.madt(entries: [TableBuilder.localAPIC(uid: 0, apicID: 0)]) + [0, 0, 0, 0]
        XCTAssertEqual(try parse(bytes).processors.count, 1)
    }

    func testHeaderChecks() {
        assertError(Array(TableBuilder.standardMADT[0..<43]), .badLength(.madt, length: 43))
        assertError(TableBuilder.table("FACP", body: [UInt8](repeating: 0, count: 8)),
                    .badSignature(expected: .madt, found: TableSignature("FACP")))
        var short = TableBuilder.madt(entries: [])
        short[4] = 40
        assertError(short, .badLength(.madt, length: 40))
        var long = TableBuilder.madt(entries: [])
        long[4] = 100
        assertError(long, .truncated(.madt, length: 100))
    }
}
