import Basics
import CoreTestSupport
import XCTest
@testable import BootInfo

final class KernelCommandLineTests: XCTestCase {
    private func commandLine(_ text: String) -> KernelCommandLine { KernelCommandLine(Array(text.utf8)) }

    private func read(_ memory: FixtureMemory) throws(BootInfoError) -> KernelCommandLine {
        try PVHStartInfo.parse(at: PhysicalAddress(StartInfoBuilder.startInfoAddress), memory: memory).commandLine(memory: memory)
    }

    func testWords() {
        let line = commandLine("  verbose\tcores=4 \n  test=smp ")
        XCTAssertEqual(line.words, [Array("verbose".utf8), Array("cores=4".utf8), Array("test=smp".utf8)])
    }

    func testFlags() {
        let line = commandLine("verbose quiet=1 x")
        XCTAssertTrue(line.contains(flag: "verbose"))
        XCTAssertTrue(line.contains(flag: "x"))
        XCTAssertFalse(line.contains(flag: "verb"))
        XCTAssertFalse(line.contains(flag: "quiet"))
        XCTAssertFalse(commandLine("").contains(flag: "verbose"))
    }

    func testValues() {
        let line = commandLine("test=smp cores=4 empty= cores=8 a=b=c verbose")
        XCTAssertEqual(line.value(of: "test"), Array("smp".utf8))
        XCTAssertEqual(line.value(of: "cores"), Array("8".utf8), "the last occurrence wins")
        XCTAssertEqual(line.value(of: "empty"), [])
        XCTAssertEqual(line.value(of: "a"), Array("b=c".utf8))
        XCTAssertNil(line.value(of: "verbose"))
        XCTAssertNil(line.value(of: "core"))
        XCTAssertNil(line.value(of: "tes"))
    }

    func testIntegers() {
        let line = commandLine("cores=12 mem=0x4000 neg=-3 bad=12x empty= hexonly=0x big=9223372036854775808 min=-9223372036854775808 upper=0XfF")
        XCTAssertEqual(line.integer(of: "cores"), 12)
        XCTAssertEqual(line.integer(of: "mem"), 0x4000)
        XCTAssertEqual(line.integer(of: "neg"), -3)
        XCTAssertEqual(line.integer(of: "min"), Int.min)
        XCTAssertEqual(line.integer(of: "upper"), 255)
        XCTAssertNil(line.integer(of: "bad"))
        XCTAssertNil(line.integer(of: "empty"))
        XCTAssertNil(line.integer(of: "hexonly"))
        XCTAssertNil(line.integer(of: "big"))
        XCTAssertNil(line.integer(of: "absent"))
    }

    func testReadFromMemory() throws {
        let memory = StartInfoBuilder.machine([(0, 0x1000, 1)], commandLine: Array("verbose cores=2\0garbage".utf8))
        let line = try read(memory)
        XCTAssertEqual(line.bytes, Array("verbose cores=2".utf8))
        XCTAssertEqual(line.integer(of: "cores"), 2)
    }

    func testMissingCommandLineIsEmpty() throws {
        let line = try read(StartInfoBuilder.machine([(0, 0x1000, 1)]))
        XCTAssertEqual(line.bytes, [])
        XCTAssertEqual(line.words, [])
    }

    func testStringEndingAtEdgeOfMemory() throws {
        // The NUL is the last readable byte: reading must not ask for a full 4096.
        let memory = StartInfoBuilder.machine([(0, 0x1000, 1)], commandLine: [0x61, 0])
        XCTAssertEqual(try read(memory).bytes, [0x61])
    }

    func testLongestAllowed() throws {
        let memory = StartInfoBuilder.machine([(0, 0x1000, 1)], commandLine: [UInt8](repeating: 0x61, count: 4095) + [0])
        XCTAssertEqual(try read(memory).bytes.count, 4095)
    }

    func testNoTerminatorWithin4096Bytes() {
        let memory = StartInfoBuilder.machine([(0, 0x1000, 1)], commandLine: [UInt8](repeating: 0x61, count: 5000))
        XCTAssertThrowsError(try read(memory)) { error in
            XCTAssertEqual(error as? BootInfoError, .commandLineTooLong)
        }
    }

    func testRunsIntoUnreadableMemory() {
        let memory = StartInfoBuilder.machine([(0, 0x1000, 1)], commandLine: Array("abc".utf8))
        XCTAssertThrowsError(try read(memory)) { error in
            XCTAssertEqual(error as? BootInfoError, .unreadable(PhysicalAddress(StartInfoBuilder.commandLineAddress + 3)))
        }
    }
}
