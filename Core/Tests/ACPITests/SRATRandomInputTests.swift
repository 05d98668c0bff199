// The SRAT parser must answer every input with a value or an error: seeded random blobs
// and mutations of a valid table. A crash or hang fails the run; a failing seed replays.

import Basics
import CoreTestSupport
import XCTest
@testable import ACPI

final class SRATRandomInputTests: XCTestCase {
    func testRandomBlobs() {
        var random = SeededGenerator(seed: 0x5EED_5001)
        var parsed = 0
        for _ in 0..<3000 {
            let bytes = random.tableBlob(signature: "SRAT", maximumCount: 240, minimumLength: 44)
            if (try? parse(bytes)) != nil { parsed += 1 }
        }
        XCTAssertGreaterThan(parsed, 0)
    }

    func testMutatedTables() {
        var random = SeededGenerator(seed: 0x5EED_5002)
        let original = TableBuilder.srat(entries: [
            TableBuilder.apicAffinity(apicID: 0, domain: 0), TableBuilder.apicAffinity(apicID: 1, domain: 1, flags: 0),
            TableBuilder.memoryAffinity(base: 0, length: 0x8000_0000, domain: 0),
            TableBuilder.x2apicAffinity(x2apicID: 300, domain: 1),
            TableBuilder.memoryAffinity(base: 0x8000_0000, length: 0x8000_0000, domain: 1, flags: 3),
        ])
        var outcomes = (parsed: 0, failed: 0)
        var messages = Set<String>()
        for _ in 0..<3000 {
            let bytes = random.mutated(original, maximumTruncation: 30)
            do {
                let srat = try parse(bytes)
                outcomes.parsed += 1
                for memory in srat.memory { XCTAssertLessThanOrEqual(memory.range.start, memory.range.end) }
            } catch {
                outcomes.failed += 1
                messages.insert("\(error.message)")
            }
        }
        XCTAssertGreaterThan(outcomes.parsed, 0)
        XCTAssertGreaterThan(outcomes.failed, 0)
        XCTAssertGreaterThan(messages.count, 3, "mutations reach several checks: \(messages.sorted())")
    }

    func testMutatedMachines() throws {
        // Random damage to the root table or the SRAT, read end to end: a value, nil or an error.
        var random = SeededGenerator(seed: 0x5EED_5003)
        let intact = try parse(TableBuilder.twoNodeSRAT)
        var outcomes = (value: 0, none: 0, error: 0)
        for round in 0..<1000 {
            let memory = TableBuilder.machineWithSRAT(TableBuilder.twoNodeSRAT)
            let target = Bool.random(using: &random) ? TableBuilder.sratAddress : TableBuilder.xsdtAddress
            let original = target == TableBuilder.sratAddress
                ? TableBuilder.twoNodeSRAT
                : TableBuilder.xsdt([TableBuilder.otherTableAddress, TableBuilder.madtAddress, TableBuilder.sratAddress])
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            memory.place(bytes, at: target)
            let result = Result { () throws(ACPIError) -> SRAT? in
                try ACPITables.locate(rsdp: PhysicalAddress(TableBuilder.rsdpAddress), memory: memory).srat(memory: memory)
            }
            let context = "round \(round), table at \(target)"
            let signatureIntact = bytes[0..<4] == original[0..<4]
            switch result {
            case .success(let srat?):
                outcomes.value += 1
                // Damage is read only where it kept the signature and the zero sum.
                XCTAssertTrue(signatureIntact, context)
                XCTAssertEqual(bytes.reduce(0, &+), 0, context)
                if bytes == original { XCTAssertEqual(srat, intact, context) }
            case .success(nil):
                outcomes.none += 1
                // Only an SRAT that no longer says "SRAT" is missed.
                XCTAssertFalse(signatureIntact, context)
                XCTAssertEqual(target, TableBuilder.sratAddress, context)
            case .failure:
                outcomes.error += 1
                XCTAssertNotEqual(bytes, original, context)
            }
        }
        XCTAssertGreaterThan(outcomes.value, 0)
        XCTAssertGreaterThan(outcomes.none, 0)
        XCTAssertGreaterThan(outcomes.error, 900)
    }

    private func parse(_ bytes: [UInt8]) throws(ACPIError) -> SRAT {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ACPIError) -> SRAT in try SRAT(table: ByteReader(raw)) }
        }
        return try result.get()
    }
}
