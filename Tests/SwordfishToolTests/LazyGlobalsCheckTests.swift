import XCTest
@testable import SwordfishTool

/// The kernel ELF may hold no `swift_once` token or initialiser: each would be a global
/// that every core writes.
final class LazyGlobalsCheckTests: XCTestCase {
    func testFindsOneTimeInitialisationSymbols() {
        let table = """
        000000000010f330 T $e4ACPI14TableSignatureV4madt_WZ
        00000000001db040 B $e4ACPI14TableSignatureV4madt_Wz
        00000000001004d0 t $es32_swift_stdlib_Hashing_parameters_WZ
        0000000000100e20 T $es6HasherV5_seedABSi_tcfCTf4nd_n
        0000000000100000 T _start32
        """
        XCTAssertEqual(LazyGlobalsCheck.lazyGlobals(inSymbolTable: table), [
            "$e4ACPI14TableSignatureV4madt_WZ", "$e4ACPI14TableSignatureV4madt_Wz",
            "$es32_swift_stdlib_Hashing_parameters_WZ",
        ])
    }

    func testAcceptsATableWithoutThem() {
        XCTAssertEqual(LazyGlobalsCheck.lazyGlobals(inSymbolTable: "0000000000100000 T _start32\n                 U memcpy\n"), [])
    }

    /// The real check on an object with a lazily initialised global, and on one without.
    func testRunsOnARealObject() throws {
        guard let swiftc = Executables.find("swiftc") else { throw XCTSkip("no swiftc") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lazy-globals-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func object(_ source: String) throws -> String {
            let file = "\(folder)/\(source.count).swift"
            try source.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try Subprocess.run(ShellCommand(swiftc, ["-parse-as-library", "-O", "-c", file, "-o", file + ".o"]),
                                            output: .capture, timeout: .seconds(120))
            XCTAssertEqual(result.status, 0)
            return file + ".o"
        }
        let lazy = try object("public struct S { public static let table = [1, 2, 3].map { $0 * 2 } }\n")
        XCTAssertNotNil(LazyGlobalsCheck.problem(kernel: lazy))
        let constant = try object("public struct S { public static var table: [Int] { [2, 4, 6] } }\n")
        XCTAssertNil(LazyGlobalsCheck.problem(kernel: constant))
    }
}
