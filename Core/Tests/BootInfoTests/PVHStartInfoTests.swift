import Basics
import CoreTestSupport
import XCTest
@testable import BootInfo

final class PVHStartInfoTests: XCTestCase {
    private let address = PhysicalAddress(StartInfoBuilder.startInfoAddress)

    private func assertError(_ memory: FixtureMemory, _ expected: BootInfoError, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let info = try PVHStartInfo.parse(at: address, memory: memory)
            XCTFail("expected \(expected), parsed \(info)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    func testVersion1Fields() throws {
        let memory = FixtureMemory([StartInfoBuilder.startInfoAddress: StartInfoBuilder.startInfo(
            flags: 1, modules: 2, moduleList: 0x9000, commandLine: 0x8000, rsdp: 0xF_5A40,
            memoryMap: 0x7000, memoryMapEntries: 6)])
        let info = try PVHStartInfo.parse(at: address, memory: memory)
        XCTAssertEqual(info, PVHStartInfo(
            version: 1, flags: 1, moduleCount: 2, moduleListAddress: PhysicalAddress(0x9000),
            commandLineAddress: PhysicalAddress(0x8000), rsdpAddress: PhysicalAddress(0xF_5A40),
            memoryMapAddress: PhysicalAddress(0x7000), memoryMapEntryCount: 6))
    }

    func testVersion0HasNoMemoryMap() throws {
        let bytes = StartInfoBuilder.startInfo(version: 0, rsdp: 0xF_5A40)
        XCTAssertEqual(bytes.count, 40)
        let memory = FixtureMemory([StartInfoBuilder.startInfoAddress: bytes])
        let info = try PVHStartInfo.parse(at: address, memory: memory)
        XCTAssertEqual(info.version, 0)
        XCTAssertEqual(info.rsdpAddress, PhysicalAddress(0xF_5A40))
        XCTAssertEqual(info.memoryMapEntryCount, 0)
        XCTAssertThrowsError(try info.memoryMap(memory: memory)) { error in
            XCTAssertEqual(error as? BootInfoError, .noMemoryMap)
        }
    }

    func testZeroAddressesAreAbsent() throws {
        let memory = FixtureMemory([StartInfoBuilder.startInfoAddress: StartInfoBuilder.startInfo()])
        let info = try PVHStartInfo.parse(at: address, memory: memory)
        XCTAssertNil(info.commandLineAddress)
        XCTAssertNil(info.rsdpAddress)
    }

    func testBadMagic() {
        let memory = FixtureMemory([StartInfoBuilder.startInfoAddress: StartInfoBuilder.startInfo(magic: 0x2BAD_B002)])
        assertError(memory, .badMagic(0x2BAD_B002))
    }

    func testUnreadableStartInfo() {
        assertError(FixtureMemory(), .unreadable(address))
    }

    func testVersion1CutShort() {
        let bytes = Array(StartInfoBuilder.startInfo(version: 1)[0..<48])
        assertError(FixtureMemory([StartInfoBuilder.startInfoAddress: bytes]), .unreadable(address + 40))
    }

    func testErrorsArePrintable() {
        let errors: [BootInfoError] = [
            .unreadable(PhysicalAddress(1)), .badMagic(2), .noMemoryMap, .tooManyEntries(3),
            .entryOverflows(index: 4), .commandLineTooLong,
        ]
        XCTAssertEqual(errors.compactMap(\.detail), [1, 2, 3, 4])
        for error in errors { XCTAssertTrue(error.message.utf8CodeUnitCount > 10) }
    }

    func testRandomStartInfosGiveSoundValuesOrErrors() {
        // Seeded random start info and maps: every outcome is a value or an error.
        var random = SeededGenerator(seed: 0xB007_0001)
        var read = (infos: 0, maps: 0, commandLines: 0)
        for _ in 0..<2000 {
            var header = StartInfoBuilder.startInfo(
                version: UInt32.random(in: 0...3, using: &random),
                commandLine: Bool.random(using: &random) ? StartInfoBuilder.commandLineAddress : UInt64.random(in: 0...UInt64.max, using: &random),
                memoryMapEntries: UInt32.random(in: 0...40, using: &random) | (Bool.random(using: &random) ? 0 : 0x8000_0000))
            if Int.random(in: 0..<4, using: &random) == 0 { header[Int.random(in: 0..<header.count, using: &random)] &+= 1 }
            let map = (0..<Int.random(in: 0..<1000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let line = (0..<Int.random(in: 0..<5000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            let memory = FixtureMemory([
                StartInfoBuilder.startInfoAddress: header, StartInfoBuilder.memoryMapAddress: map,
                StartInfoBuilder.commandLineAddress: line,
            ])
            guard let info = try? PVHStartInfo.parse(at: address, memory: memory) else { continue }
            read.infos += 1
            if let entries = try? info.memoryMap(memory: memory) {
                read.maps += 1
                let usable = entries.usableRanges
                for (a, b) in zip(usable, usable.dropFirst()) { XCTAssertLessThan(a.end, b.start) }
            }
            if let commandLine = try? info.commandLine(memory: memory) {
                read.commandLines += 1
                XCTAssertLessThan(commandLine.bytes.count, KernelCommandLine.maximumLength)
                XCTAssertNil(commandLine.integer(of: "cores"), "random bytes that say cores=")
            }
        }
        // The checks above are reached.
        XCTAssertGreaterThan(read.maps, 10)
        XCTAssertGreaterThan(read.commandLines, 100)
    }
}
