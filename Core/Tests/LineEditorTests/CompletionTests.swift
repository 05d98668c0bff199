import XCTest
@testable import LineEditor

final class CompletionTests: XCTestCase {
    static let commands = ["help", "halt", "cores", "run", "uptime"].map { Array($0.utf8) }
    static let programs = ["hello", "threads", "probe", "init"].map { Array($0.utf8) }

    /// Commands first, program names after `run`.
    func session(lineLimit: Int = 40) -> EditorSession {
        var session = EditorSession(lineLimit: lineLimit)
        session.candidates = { words in words.isEmpty ? Self.commands : words == [Array("run".utf8)] ? Self.programs : [] }
        return session
    }

    func testAUniquePrefixCompletesTheCommandAndAddsASpace() {
        var session = session()
        session.type("hel\t")
        XCTAssertEqual(session.line, "help ")
        XCTAssertEqual(session.completionContexts, [[]])
        session.assertScreenMatches()
    }

    func testAProgramNameCompletesAfterRun() {
        var session = session()
        session.type("run hel\t")
        XCTAssertEqual(session.line, "run hello ")
        XCTAssertEqual(session.completionContexts, [["run"]])
        session.assertScreenMatches()
    }

    func testAmbiguousPrefixesAreListedAndThePromptAndLineRedrawn() {
        var session = session()
        session.type("run ab h\t")
        XCTAssertEqual(session.line, "run ab h")                // `run ab` offers nothing
        session.type(Keys.controlU + "h\t")
        XCTAssertEqual(session.line, "h", "help and halt share only the h")
        XCTAssertEqual(session.screen.lines.suffix(2), [Array("> h".utf8), Array("help  halt".utf8)])
        session.assertScreenMatches()
    }

    func testAmbiguousCandidatesExtendToWhatTheyShare() {
        var session = EditorSession()
        session.candidates = { _ in ["threads", "thread-test", "probe"].map { Array($0.utf8) } }
        session.type("t\t")
        XCTAssertEqual(session.line, "thread")
        XCTAssertEqual(session.screen.lines.last, Array("threads  thread-test".utf8))
        session.assertScreenMatches()
    }

    func testNoCandidateLeavesTheLineAlone() {
        var session = session()
        session.type("xyz\t")
        XCTAssertEqual(session.line, "xyz")
        XCTAssertEqual(session.screen.lines, [])
        session.assertScreenMatches()
    }

    func testCompletingInTheMiddleOfTheLine() {
        var session = session()
        session.type("run thr args" + String(repeating: Keys.left, count: 5) + "\t")
        XCTAssertEqual(session.line, "run threads args", "no second space before the next word")
        XCTAssertEqual(session.editor.cursor, 11)
        session.assertScreenMatches()
    }

    func testRepeatedCandidatesCountOnce() {
        var session = EditorSession()
        session.candidates = { _ in ["mem", "mem"].map { Array($0.utf8) } }
        session.type("m\t")
        XCTAssertEqual(session.line, "mem ")
    }

    func testACompletionThatDoesNotFitIsNotMade() {
        var session = session(lineLimit: 8)
        session.type("run thr\t")
        XCTAssertEqual(session.line, "run thr")
        session.type("\r")
        XCTAssertEqual(session.entered, ["run thr"])
    }
}
