import XCTest
import CoreTestSupport
import Basics
@testable import BootInfo

final class BootImageTests: XCTestCase {
    /// An image as `swordfish build` writes it.
    func image(_ programs: [(String, [UInt8])]) -> [UInt8] {
        var bytes = Array("SFIMAGE1".utf8)
        bytes += withUnsafeBytes(of: UInt32(programs.count).littleEndian, Array.init) + [0, 0, 0, 0]
        var offset = 16 + programs.count * 64
        var data: [UInt8] = []
        for (name, contents) in programs {
            var field = Array(name.utf8)
            field += Array(repeating: 0, count: 48 - field.count)
            bytes += field
            bytes += withUnsafeBytes(of: UInt64(offset).littleEndian, Array.init)
            bytes += withUnsafeBytes(of: UInt64(contents.count).littleEndian, Array.init)
            data += contents
            offset += contents.count
        }
        return bytes + data
    }

    func parse(_ bytes: [UInt8]) -> Result<[String], BootInfoError> {
        bytes.withUnsafeBytes { raw in
            Result { () throws(BootInfoError) -> [String] in
                try BootImage(ByteReader(raw)).programs.map { String(decoding: $0.name, as: UTF8.self) + ":" + String($0.bytes.count) }
            }
        }
    }

    func testParsesEveryProgram() {
        XCTAssertEqual(try parse(image([("hello", [1, 2, 3]), ("probe", Array(repeating: 9, count: 100))])).get(), ["hello:3", "probe:100"])
        XCTAssertEqual(try parse(image([])).get(), [])
    }

    /// An entry whose name holds a `/` is a file (User/Files), never a program: a
    /// spawn cannot start it, and `file(named:)` finds only files.
    func testFilesAreApartFromPrograms() {
        let bytes = image([("hello", [1]), ("www/index.html", [2, 3]), ("probe", [4])])
        bytes.withUnsafeBytes { raw in
            guard let image = try? BootImage(ByteReader(raw)) else { return XCTFail("the image did not parse") }
            XCTAssertEqual(image.programs.map { String(decoding: $0.name, as: UTF8.self) }, ["hello", "probe"])
            XCTAssertEqual(image.files.map { String(decoding: $0.name, as: UTF8.self) }, ["www/index.html"])
            XCTAssertNil(image.program(named: Array("www/index.html".utf8)))
            XCTAssertNil(image.file(named: Array("hello".utf8)))
            XCTAssertEqual(image.file(named: Array("www/index.html".utf8)).map { Array($0.bytes.bytes) }, [2, 3])
        }
    }

    func testRefusesMalformedImages() {
        XCTAssertEqual(parse(Array("NOTANIMG".utf8) + [0, 0, 0, 0, 0, 0, 0, 0]), .failure(.badImageMagic))
        XCTAssertEqual(parse(Array("SFIMAGE1".utf8)), .failure(.badImageMagic))
        var bytes = image([("hello", [1, 2, 3])])
        bytes[16 + 48] = 0xFF                                           // offset far past the end
        XCTAssertEqual(parse(bytes), .failure(.badImageEntry(index: 0)))
        bytes = image([("hello", [1, 2, 3])])
        bytes.removeLast()                                              // truncated program
        XCTAssertEqual(parse(bytes), .failure(.badImageEntry(index: 0)))
        bytes = image([("hello", [1])])
        for i in 16..<(16 + 48) { bytes[i] = 0x41 }                     // name without NUL
        XCTAssertEqual(parse(bytes), .failure(.badImageEntry(index: 0)))
        bytes = image([("hello", [1]), ("probe", [2])])
        bytes[16 + 64] = 0                                              // empty name
        XCTAssertEqual(parse(bytes), .failure(.badImageEntry(index: 1)))
        bytes = image([("hello", [1])])
        bytes[8] = 0xFF; bytes[9] = 0xFF                                // absurd count
        XCTAssertEqual(parse(bytes), .failure(.badImageEntry(index: 65535)))
    }

    func testRandomMutationsGiveTheImageOrTheRightError() {
        let valid = image([("hello", Array(repeating: 7, count: 40)), ("probe", [1, 2])])
        var seed: UInt64 = 11
        var outcomes = (parsed: 0, badMagic: 0, badEntry: 0)
        for round in 0..<5_000 {
            var bytes = valid
            for _ in 0..<3 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                bytes[Int(seed >> 33) % bytes.count] = UInt8(truncatingIfNeeded: seed >> 17)
            }
            // The header and entries, read again here.
            func field(_ offset: Int, _ width: Int) -> UInt64 {
                (0..<width).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
            }
            let magicIntact = bytes[0..<8].elementsEqual("SFIMAGE1".utf8)
            let count = Int(field(8, 4))
            bytes.withUnsafeBytes { raw in
                do throws(BootInfoError) {
                    let image = try BootImage(ByteReader(raw))
                    outcomes.parsed += 1
                    XCTAssertTrue(magicIntact, "round \(round)")
                    XCTAssertEqual(image.entries.count, count, "round \(round)")
                    XCTAssertEqual(image.programs.count + image.files.count, count, "round \(round)")
                    for (i, program) in image.entries.enumerated() {
                        let entry = 16 + i * 64
                        let name = bytes[entry..<(entry + 48)].prefix { $0 != 0 }
                        XCTAssertFalse(name.isEmpty, "round \(round)")
                        XCTAssertEqual(program.name, Array(name), "round \(round)")
                        let offset = Int(field(entry + 48, 8)), size = Int(field(entry + 56, 8))
                        XCTAssertEqual(Array(program.bytes.bytes), Array(bytes[offset..<(offset + size)]), "round \(round)")
                    }
                } catch .badImageMagic {
                    outcomes.badMagic += 1
                    XCTAssertFalse(magicIntact, "round \(round)")
                } catch .badImageEntry(let index) {
                    outcomes.badEntry += 1
                    XCTAssertTrue(magicIntact, "round \(round)")
                    XCTAssertTrue(Int(index) < count || count > BootImage.maximumPrograms, "round \(round)")
                } catch {
                    XCTFail("round \(round): \(error)")
                }
            }
        }
        XCTAssertGreaterThan(outcomes.parsed, 1000)
        XCTAssertGreaterThan(outcomes.badMagic, 100)
        XCTAssertGreaterThan(outcomes.badEntry, 100)
    }
}
