import XCTest
@testable import SwordfishTool

final class ProgramTemplateTests: XCTestCase {
    func testNamesTheShellCanType() throws {
        XCTAssertNoThrow(try ProgramTemplate(name: "ping-pong2"))
        for bad in ["", "Ping", "2ping", "ping pong", "ping_pong", "grüße", String(repeating: "a", count: 32)] {
            XCTAssertThrowsError(try ProgramTemplate(name: bad), bad)
        }
    }

    func testTheProgramJoinsTheManifestsListInOrder() throws {
        let manifest = "// x\nlet programs = [\"hello\", \"probe\"]\nlet package = 1"
        XCTAssertEqual(try ProgramTemplate(name: "lmp2").addingProgram(toManifest: manifest),
                       "// x\nlet programs = [\"hello\", \"lmp2\", \"probe\"]\nlet package = 1")
        XCTAssertNil(try ProgramTemplate(name: "x").addingProgram(toManifest: "let package = 1"))
    }

    func testTheTemplatesTestMatchesWhatItPrints() throws {
        let template = try ProgramTemplate(name: "demo")
        let tests = try ProgramTest.parse(template.guestTests, program: "demo")
        XCTAssertEqual(tests.map(\.line), ["run demo tests"])
        XCTAssertTrue(template.mainSwift.contains("print(\"demo: hello, \\(who)\")"))
    }

    func testItWritesTheProgramAndRefusesToOverwriteIt() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("swordfish-new-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: "\(root)/User/Sources", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(root)/User/Package.swift", contents: Data("let programs = [\"hello\"]\n".utf8))
        let repository = Repository(root: root)
        let folder = try ProgramTemplate(name: "demo").write(in: repository)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(folder)/main.swift"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(folder)/guest-tests"))
        let manifest = String(decoding: FileManager.default.contents(atPath: "\(root)/User/Package.swift")!, as: UTF8.self)
        XCTAssertEqual(manifest, "let programs = [\"demo\", \"hello\"]\n")
        XCTAssertThrowsError(try ProgramTemplate(name: "demo").write(in: repository))
    }
}
