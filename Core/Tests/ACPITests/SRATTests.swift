import Basics
import CoreTestSupport
import XCTest
@testable import ACPI

extension TableBuilder {
    static let sratAddress: UInt64 = 0x5000

    /// A §5.2.16 SRAT: header, the reserved u32 (1) and u64, then `entries`.
    static func srat(revision: UInt8 = 3, entries: [[UInt8]]) -> [UInt8] {
        var body: [UInt8] = []
        body.appendLittleEndian(UInt32(1))
        body.appendLittleEndian(UInt64(0))
        for entry in entries { body += entry }
        return table("SRAT", revision: revision, body: body)
    }

    /// Type 0, Processor Local APIC/SAPIC Affinity (16 bytes).
    static func apicAffinity(apicID: UInt8, domain: UInt32, flags: UInt32 = 1) -> [UInt8] {
        var bytes: [UInt8] = [0, 16, UInt8(truncatingIfNeeded: domain), apicID]
        bytes.appendLittleEndian(flags)
        bytes.append(0)  // local SAPIC EID
        bytes += [UInt8(truncatingIfNeeded: domain >> 8), UInt8(truncatingIfNeeded: domain >> 16),
                  UInt8(truncatingIfNeeded: domain >> 24)]
        bytes.appendLittleEndian(UInt32(0))  // clock domain
        return bytes
    }

    /// Type 1, Memory Affinity (40 bytes).
    static func memoryAffinity(base: UInt64, length: UInt64, domain: UInt32, flags: UInt32 = 1) -> [UInt8] {
        var bytes: [UInt8] = [1, 40]
        bytes.appendLittleEndian(domain)
        bytes += [0, 0]
        bytes.appendLittleEndian(base)
        bytes.appendLittleEndian(length)
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(flags)
        bytes.appendLittleEndian(UInt64(0))
        return bytes
    }

    /// Type 2, Processor Local x2APIC Affinity (24 bytes).
    static func x2apicAffinity(x2apicID: UInt32, domain: UInt32, flags: UInt32 = 1) -> [UInt8] {
        var bytes: [UInt8] = [2, 24, 0, 0]
        bytes.appendLittleEndian(domain)
        bytes.appendLittleEndian(x2apicID)
        bytes.appendLittleEndian(flags)
        bytes.appendLittleEndian(UInt32(0))  // clock domain
        bytes.appendLittleEndian(UInt32(0))
        return bytes
    }

    /// Two nodes as QEMU's `-numa` builds them: CPUs 0–1 and 2–3, 1 GiB each, plus a
    /// disabled entry and a hot-pluggable region.
    static let twoNodeSRAT = srat(entries: [
        apicAffinity(apicID: 0, domain: 0), apicAffinity(apicID: 1, domain: 0),
        apicAffinity(apicID: 2, domain: 1), apicAffinity(apicID: 3, domain: 1),
        memoryAffinity(base: 0, length: 0xA_0000, domain: 0),
        memoryAffinity(base: 0x10_0000, length: 0x3FF0_0000, domain: 0),
        memoryAffinity(base: 0x4000_0000, length: 0x4000_0000, domain: 1),
        memoryAffinity(base: 0, length: 0, domain: 0, flags: 0),
        memoryAffinity(base: 0x1_0000_0000, length: 0x1_0000_0000, domain: 1, flags: 3),
    ])

    static func machineWithSRAT(_ srat: [UInt8]) -> FixtureMemory {
        var contents = standardMachineContents()
        contents[xsdtAddress] = xsdt([otherTableAddress, madtAddress, sratAddress])
        contents[sratAddress] = srat
        return FixtureMemory(contents)
    }
}

final class SRATTests: XCTestCase {
    private func parse(_ bytes: [UInt8]) throws(ACPIError) -> SRAT {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ACPIError) -> SRAT in try SRAT(table: ByteReader(raw)) }
        }
        return try result.get()
    }

    private func assertError(_ bytes: [UInt8], _ expected: ACPIError, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let srat = try parse(bytes)
            XCTFail("expected \(expected), parsed \(srat)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    private func range(_ start: UInt64, _ end: UInt64) -> PhysicalRange {
        PhysicalRange(start: PhysicalAddress(start), end: PhysicalAddress(end))
    }

    func testTwoNodes() throws {
        let srat = try parse(TableBuilder.twoNodeSRAT)
        XCTAssertEqual(srat.processors, [
            SRAT.ProcessorAffinity(apicID: APICID(0), domain: 0, isX2APIC: false),
            SRAT.ProcessorAffinity(apicID: APICID(1), domain: 0, isX2APIC: false),
            SRAT.ProcessorAffinity(apicID: APICID(2), domain: 1, isX2APIC: false),
            SRAT.ProcessorAffinity(apicID: APICID(3), domain: 1, isX2APIC: false),
        ])
        XCTAssertEqual(srat.memory, [
            SRAT.MemoryAffinity(range: range(0, 0xA_0000), domain: 0),
            SRAT.MemoryAffinity(range: range(0x10_0000, 0x4000_0000), domain: 0),
            SRAT.MemoryAffinity(range: range(0x4000_0000, 0x8000_0000), domain: 1),
            SRAT.MemoryAffinity(range: range(0x1_0000_0000, 0x2_0000_0000), domain: 1, isHotPluggable: true),
        ])
        XCTAssertEqual(srat.domain(of: APICID(3)), 1)
        XCTAssertNil(srat.domain(of: APICID(4)))
        XCTAssertEqual(srat.processorDomains.map { $0.domain }, [0, 0, 1, 1])
    }

    func testThroughACPITables() throws {
        let memory = TableBuilder.machineWithSRAT(TableBuilder.twoNodeSRAT)
        let tables = try ACPITables.locate(rsdp: PhysicalAddress(TableBuilder.rsdpAddress), memory: memory)
        XCTAssertEqual(try tables.srat(memory: memory), try parse(TableBuilder.twoNodeSRAT))
        XCTAssertEqual(try tables.madt(memory: memory).processors.count, 3)
    }

    func testAbsentSRATIsNil() throws {
        let memory = TableBuilder.standardMachine()
        let tables = try ACPITables.locate(rsdp: PhysicalAddress(TableBuilder.rsdpAddress), memory: memory)
        XCTAssertNil(try tables.srat(memory: memory))
    }

    func testCorruptSRATIsAnError() throws {
        var srat = TableBuilder.twoNodeSRAT
        srat[60] &+= 1
        let memory = TableBuilder.machineWithSRAT(srat)
        let tables = try ACPITables.locate(rsdp: PhysicalAddress(TableBuilder.rsdpAddress), memory: memory)
        XCTAssertThrowsError(try tables.srat(memory: memory)) { error in
            XCTAssertEqual(error as? ACPIError, .badChecksum(.srat))
        }
    }

    func testX2APICAndWideDomains() throws {
        let srat = try parse(TableBuilder.srat(entries: [
            TableBuilder.apicAffinity(apicID: 7, domain: 0x0302_0100 | 5),
            TableBuilder.x2apicAffinity(x2apicID: 0x1_0000, domain: 0xDEAD_BEEF),
            TableBuilder.memoryAffinity(base: 0x1000, length: 0x1000, domain: 0x1_0002, flags: 5),
        ]))
        XCTAssertEqual(srat.processors, [
            SRAT.ProcessorAffinity(apicID: APICID(7), domain: 0x0302_0105, isX2APIC: false),
            SRAT.ProcessorAffinity(apicID: APICID(0x1_0000), domain: 0xDEAD_BEEF, isX2APIC: true),
        ])
        XCTAssertEqual(srat.memory, [SRAT.MemoryAffinity(range: range(0x1000, 0x2000), domain: 0x1_0002, isNonVolatile: true)])
    }

    func testRevisionOneHasEightBitDomains() throws {
        // ACPI 2.0's SRAT (revision 1) had one domain byte; the rest was reserved.
        let srat = try parse(TableBuilder.srat(revision: 1, entries: [
            TableBuilder.apicAffinity(apicID: 1, domain: 0x0302_0105),
            TableBuilder.memoryAffinity(base: 0, length: 0x1000, domain: 0x1_0002),
        ]))
        XCTAssertEqual(srat.processors.map { $0.domain }, [5])
        XCTAssertEqual(srat.memory.map { $0.domain }, [2])
    }

    func testDisabledEntriesAreSkipped() throws {
        let srat = try parse(TableBuilder.srat(entries: [
            TableBuilder.apicAffinity(apicID: 0, domain: 0, flags: 0),
            TableBuilder.apicAffinity(apicID: 1, domain: 0, flags: 2),
            TableBuilder.x2apicAffinity(x2apicID: 2, domain: 0, flags: 0),
            TableBuilder.memoryAffinity(base: 0, length: 0x1000, domain: 0, flags: 2),
            TableBuilder.x2apicAffinity(x2apicID: 3, domain: 4),
        ]))
        XCTAssertEqual(srat.processors.map { $0.apicID }, [APICID(3)])
        XCTAssertEqual(srat.memory, [])
    }

    func testRangesPastTheTopAreCutOff() throws {
        let srat = try parse(TableBuilder.srat(entries: [
            TableBuilder.memoryAffinity(base: 0xFFFF_FFFF_FFFF_0000, length: 0x10_0000, domain: 0),
        ]))
        XCTAssertEqual(srat.memory.map { $0.range }, [range(0xFFFF_FFFF_FFFF_0000, UInt64.max)])
    }

    func testUnknownAndLongerEntries() throws {
        var longer = TableBuilder.apicAffinity(apicID: 9, domain: 1)
        longer[1] = 20
        longer += [0xAA, 0xBB, 0xCC, 0xDD]
        var gicc = [UInt8](repeating: 0, count: 18)  // a GICC entry (type 3), not read
        gicc[0] = 3
        gicc[1] = 18
        let srat = try parse(TableBuilder.srat(entries: [gicc, longer, [0x7F, 2], TableBuilder.apicAffinity(apicID: 4, domain: 2)]))
        XCTAssertEqual(srat.processors.map { $0.apicID }, [APICID(9), APICID(4)])
    }

    func testNoEntries() throws {
        XCTAssertEqual(try parse(TableBuilder.srat(entries: [])), SRAT(processors: [], memory: []))
    }

    func testZeroLengthEntry() {
        assertError(TableBuilder.srat(entries: [TableBuilder.apicAffinity(apicID: 0, domain: 0), [0, 0, 0, 0]]),
                    .badSRATEntry(.zeroLength, offset: 64))
        assertError(TableBuilder.srat(entries: [[1, 1]]), .badSRATEntry(.zeroLength, offset: 48))
    }

    func testEntryRunningPastTheEnd() {
        var entry = TableBuilder.x2apicAffinity(x2apicID: 1, domain: 1)
        entry[1] = 30
        assertError(TableBuilder.srat(entries: [TableBuilder.apicAffinity(apicID: 0, domain: 0), entry]),
                    .badSRATEntry(.overrunsTable, offset: 64))
        assertError(TableBuilder.srat(entries: [[2]]), .badSRATEntry(.overrunsTable, offset: 48))
    }

    func testEntriesShorterThanTheirType() {
        for (type, goodLength) in [(UInt8(0), 16), (1, 40), (2, 24)] {
            var entry = [UInt8](repeating: 0xFF, count: goodLength - 1)
            entry[0] = type
            entry[1] = UInt8(goodLength - 1)
            assertError(TableBuilder.srat(entries: [entry]), .badSRATEntry(.tooShort, offset: 48))
        }
    }

    func testEntriesEndAtHeaderLength() throws {
        let bytes = TableBuilder.srat(entries: [TableBuilder.apicAffinity(apicID: 0, domain: 0)]) + [0, 0, 0, 0]
        XCTAssertEqual(try parse(bytes).processors.count, 1)
    }

    func testHeaderChecks() {
        assertError(Array(TableBuilder.twoNodeSRAT[0..<47]), .badLength(.srat, length: 47))
        assertError(TableBuilder.madt(entries: [TableBuilder.localAPIC(uid: 0, apicID: 0)]),
                    .badSignature(expected: .srat, found: .madt))
        var short = TableBuilder.srat(entries: [])
        short[4] = 44
        assertError(short, .badLength(.srat, length: 44))
        var long = TableBuilder.srat(entries: [])
        long[4] = 100
        assertError(long, .truncated(.srat, length: 100))
    }

    func testErrorMessages() {
        let errors: [ACPIError] = [.badSRATEntry(.zeroLength, offset: 1), .badSRATEntry(.overrunsTable, offset: 2),
                                   .badSRATEntry(.tooShort, offset: 3)]
        XCTAssertEqual(errors.map { $0.detail }, [1, 2, 3])
        for error in errors { XCTAssertTrue(error.message.utf8CodeUnitCount > 10) }
        XCTAssertEqual(Set(errors.map { "\($0.message)" }).count, 3)
        XCTAssertEqual(TableSignature.srat, TableSignature("SRAT"))
    }
}
