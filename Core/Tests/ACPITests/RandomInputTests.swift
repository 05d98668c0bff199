// Parsers must answer every input with a value or an error. These tests feed seeded
// random blobs and mutations of valid tables; a crash or hang fails the run, and a
// failing seed replays exactly.

import Basics
import CoreTestSupport
import XCTest
@testable import ACPI

final class RandomInputTests: XCTestCase {
    func testRandomBlobsAsMADT() {
        var random = SeededGenerator(seed: 0x5EED_0001)
        var parsed = 0
        for _ in 0..<3000 {
            let bytes = random.tableBlob(signature: "APIC", maximumCount: 200, minimumLength: 40)
            if (try? parseMADT(bytes)) != nil { parsed += 1 }
        }
        XCTAssertGreaterThan(parsed, 0)
    }

    func testMutatedMADTs() {
        var random = SeededGenerator(seed: 0x5EED_0002)
        let original = TableBuilder.madt(entries: [
            TableBuilder.localAPIC(uid: 0, apicID: 0), TableBuilder.localAPIC(uid: 1, apicID: 1, flags: 0),
            TableBuilder.ioAPIC(id: 2, address: 0xFEC0_0000, gsiBase: 0),
            TableBuilder.localAPICOverride(address: 0xFEE0_0000),
            TableBuilder.interruptSourceOverride(source: 0, gsi: 2),
            TableBuilder.interruptSourceOverride(source: 9, gsi: 9, flags: 0xD),
            TableBuilder.x2APIC(x2apicID: 300, uid: 3), TableBuilder.x2APIC(x2apicID: 301, uid: 4, flags: 2),
        ])
        var outcomes = (parsed: 0, failed: 0)
        var messages = Set<String>()
        for round in 0..<3000 {
            let bytes = random.mutated(original, maximumTruncation: 20)
            do {
                let madt = try parseMADT(bytes)
                outcomes.parsed += 1
                // The bootstrap core, then each enabled APIC ID not yet listed, up to four.
                var expected = [APICID(0)]
                for processor in madt.processors where processor.isEnabled && expected.count < 4
                    && !expected.contains(processor.apicID) {
                    expected.append(processor.apicID)
                }
                let list = CoreList.make(madt: .success(madt), bootstrap: APICID(0), limit: 4)
                XCTAssertEqual(list.apicIDs, expected, "round \(round)")
                // Every ISA IRQ routes somewhere without trapping, whatever the overrides say.
                for irq in UInt8(0) ..< 16 { _ = madt.route(isaIRQ: irq) }
                _ = madt.ioAPIC(handling: 2)
            } catch {
                outcomes.failed += 1
                messages.insert("\(error.message)")
            }
        }
        XCTAssertGreaterThan(outcomes.parsed, 0)
        XCTAssertGreaterThan(outcomes.failed, 0)
        XCTAssertGreaterThan(messages.count, 3, "mutations reach several checks: \(messages.sorted())")
    }

    func testMutatedMachines() {
        // Random damage anywhere in the RSDP, root tables or MADT, parsed end to end.
        var random = SeededGenerator(seed: 0x5EED_0003)
        let addresses = [TableBuilder.rsdpAddress, TableBuilder.xsdtAddress, TableBuilder.rsdtAddress, TableBuilder.madtAddress]
        let originals = TableBuilder.standardMachineContents()
        for _ in 0..<1000 {
            let memory = TableBuilder.standardMachine()
            let target = addresses[Int.random(in: 0..<addresses.count, using: &random)]
            var bytes = originals[target]!
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            memory.place(bytes, at: target)
            let result = Result { () throws(ACPIError) -> MADT in
                try ACPITables.locate(rsdp: PhysicalAddress(TableBuilder.rsdpAddress), memory: memory).madt(memory: memory)
            }
            let list = CoreList.make(madt: result, bootstrap: APICID(0), limit: 8)
            XCTAssertEqual(list.apicIDs.first, APICID(0))
        }
    }

    private func parseMADT(_ bytes: [UInt8]) throws(ACPIError) -> MADT {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ACPIError) -> MADT in try MADT(table: ByteReader(raw)) }
        }
        return try result.get()
    }
}
