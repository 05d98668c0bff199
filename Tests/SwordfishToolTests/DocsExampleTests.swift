import XCTest
@testable import SwordfishTool

/// docs/user-programs.md shows whole programs; each block marked
/// `<!-- example: <path> -->` must be that file exactly, and the file must have guest
/// tests, so an example in the docs is built and run by every `swordfish test`.
final class DocsExampleTests: XCTestCase {
    private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Each marked block: the path the marker names and the block's text.
    static func examples(in markdown: String) -> [(path: String, code: String)] {
        var found: [(String, String)] = []
        let lines = markdown.lines
        var index = 0
        while index < lines.count {
            let line = lines[index]
            if line.hasPrefix("<!-- example: "), line.hasSuffix(" -->"), index + 1 < lines.count, lines[index + 1].hasPrefix("```") {
                let path = String(line.dropFirst("<!-- example: ".count).dropLast(" -->".count))
                var end = index + 2
                while end < lines.count, lines[end] != "```" { end += 1 }
                found.append((path, lines[(index + 2)..<end].joined(separator: "\n") + "\n"))
                index = end
            }
            index += 1
        }
        return found
    }

    func testEveryExampleIsAProgramWithGuestTests() throws {
        let docs = try String(contentsOfFile: "\(root)/docs/user-programs.md", encoding: .utf8)
        let examples = Self.examples(in: docs)
        XCTAssertFalse(examples.isEmpty, "no marked examples")
        for (path, code) in examples {
            let file = try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8)
            XCTAssertEqual(code, file, "\(path) and its copy in docs/user-programs.md differ")
            let folder = URL(fileURLWithPath: "\(root)/\(path)").deletingLastPathComponent()
            let tests = try ProgramTest.parse(String(contentsOf: folder.appendingPathComponent("guest-tests"), encoding: .utf8),
                                              program: folder.lastPathComponent)
            XCTAssertFalse(tests.isEmpty, "\(path) has no guest tests")
        }
    }

    func testAMarkedBlockIsFound() {
        let markdown = "text\n<!-- example: a/b.swift -->\n```swift\nlet x = 1\n```\nmore\n"
        let examples = Self.examples(in: markdown)
        XCTAssertEqual(examples.map(\.path), ["a/b.swift"])
        XCTAssertEqual(examples.first?.code, "let x = 1\n")
    }
}
