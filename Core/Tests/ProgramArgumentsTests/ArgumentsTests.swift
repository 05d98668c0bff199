import XCTest
import ABI
import ProgramArguments

final class ArgumentsTests: XCTestCase {
    func testWordsSplitAtRunsOfBlanks() {
        let arguments = Arguments(Array("  ping\t 100  fast ".utf8))
        XCTAssertEqual(arguments.words, ["ping", "100", "fast"])
        XCTAssertEqual(arguments.first, "ping")
        XCTAssertEqual(arguments[2], "fast")
        XCTAssertNil(arguments[3])
        XCTAssertEqual(arguments.rest(from: 1), "100 fast")
        XCTAssertEqual(arguments.rest(from: 5), "")
        XCTAssertTrue(Arguments([]).isEmpty)
        XCTAssertEqual(Arguments(Array("   ".utf8)).count, 0)
    }

    func testNumbersInDecimalAndHexadecimal() {
        let arguments = Arguments(Array("7 0x1F 0XfF 18446744073709551615 18446744073709551616 12a 0x -3 0x10000000000000000".utf8))
        XCTAssertEqual(arguments.number(at: 0), 7)
        XCTAssertEqual(arguments.number(at: 1), 31)
        XCTAssertEqual(arguments.number(at: 2), 255)
        XCTAssertEqual(arguments.number(at: 3), UInt64.max)
        XCTAssertNil(arguments.number(at: 4), "one past UInt64.max")
        XCTAssertNil(arguments.number(at: 5))
        XCTAssertNil(arguments.number(at: 6))
        XCTAssertNil(arguments.number(at: 7), "no signs")
        XCTAssertNil(arguments.number(at: 8), "hexadecimal overflow")
        XCTAssertNil(arguments.number(at: 9), "missing")
        XCTAssertEqual(arguments.integer(at: 1), 31)
        XCTAssertNil(arguments.integer(at: 3), "past Int.max")
    }

    func testUTF8WordsSurvive() {
        XCTAssertEqual(Arguments(Array("grüße ☃".utf8)).words, ["grüße", "☃"])
    }

    func testDomainIDsAreCoreDotLocal() {
        let arguments = Arguments(Array("7.42 0.1 7 7. .42 7.42.1 a.b 65536.1 1.4294967296 -1.2".utf8))
        XCTAssertEqual(arguments.domain(at: 0), SystemDomainID(core: 7, local: 42))
        XCTAssertEqual(arguments.domain(at: 1), SystemDomainID(core: 0, local: 1))
        for index in 2..<11 { XCTAssertNil(arguments.domain(at: index), arguments[index] ?? "missing") }
    }
}
