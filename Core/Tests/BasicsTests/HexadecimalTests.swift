import XCTest
import Basics

final class HexadecimalTests: XCTestCase {
    func testDigits() {
        XCTAssertEqual(hexadecimal(0), "0x0")
        XCTAssertEqual(hexadecimal(0x1000), "0x1000")
        XCTAssertEqual(hexadecimal(0x8000_0000_0000), "0x800000000000")
        XCTAssertEqual(hexadecimal(.max), "0xffffffffffffffff")
        XCTAssertEqual(hexadecimal(0xabcdef9), "0xabcdef9")
    }
}
