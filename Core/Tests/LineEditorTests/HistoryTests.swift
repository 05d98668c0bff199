import XCTest
@testable import LineEditor

final class HistoryTests: XCTestCase {
    func testUpRecallsThePreviousLineAndEnterRunsItAgain() {
        var session = EditorSession()
        session.type("uptime\r" + Keys.up)
        XCTAssertEqual(session.line, "uptime")
        session.assertScreenMatches()
        session.type("\r")
        XCTAssertEqual(session.entered, ["uptime", "uptime"])
        XCTAssertEqual(session.editor.historyEntries, [Array("uptime".utf8)], "a repeat is kept once")
    }

    func testUpAndDownBrowseAndBringBackTheLineBeingTyped() {
        var session = EditorSession()
        session.type("cores\rmem\rdomains\r")
        session.type("half" + Keys.up)
        XCTAssertEqual(session.line, "domains")
        session.type(Keys.up + Keys.up)
        XCTAssertEqual(session.line, "cores")
        session.assertScreenMatches()
        session.type(Keys.down)
        XCTAssertEqual(session.line, "mem")
        session.type(Keys.down + Keys.down)
        XCTAssertEqual(session.line, "half")
        session.assertScreenMatches()
        session.type(Keys.down)                                   // not browsing: nothing
        XCTAssertEqual(session.line, "half")
    }

    func testBrowsingStopsAtTheOldestLine() {
        var session = EditorSession()
        session.type("cores\rmem\r" + String(repeating: Keys.up, count: 5))
        XCTAssertEqual(session.line, "cores")
        session.type(Keys.down)
        XCTAssertEqual(session.line, "mem")
    }

    func testUpWithNoHistoryDoesNothing() {
        var session = EditorSession()
        session.type("abc" + Keys.up)
        XCTAssertEqual(session.line, "abc")
        session.assertScreenMatches()
    }

    func testTheHistoryKeepsOnlyTheNewestLines() {
        var session = EditorSession(historyLimit: 3)
        session.type("one\rtwo\rthree\rfour\rfive\r")
        XCTAssertEqual(session.editor.historyEntries, ["three", "four", "five"].map { Array($0.utf8) })
        session.type(String(repeating: Keys.up, count: 4))
        XCTAssertEqual(session.line, "three")
    }

    func testEmptyLinesAreNotKept() {
        var session = EditorSession()
        session.type("cores\r\r   \r")
        XCTAssertEqual(session.editor.historyEntries, ["cores", "   "].map { Array($0.utf8) })
    }

    func testARecalledLineCanBeEditedAndRunsAsEdited() {
        var session = EditorSession()
        session.type("run hello\r" + Keys.up + " world\r")
        XCTAssertEqual(session.entered, ["run hello", "run hello world"])
        session.type(Keys.up + Keys.up)
        XCTAssertEqual(session.line, "run hello")
    }

    func testALongerLineReplacedByAShorterOneIsErased() {
        var session = EditorSession()
        session.type("mem\r" + "a much longer line" + Keys.home + Keys.up)
        XCTAssertEqual(session.line, "mem")
        session.assertScreenMatches()
    }

    func testRecallingALineForgetsAnOverflow() {
        var session = EditorSession(lineLimit: 5)
        session.type("mem\r" + "abcdefgh" + Keys.up + "\r")
        XCTAssertEqual(session.submissions, [.line(Array("mem".utf8)), .line(Array("mem".utf8))])
    }

    func testARefusedLineEndsBrowsing() {
        var session = EditorSession(lineLimit: 5)
        session.type("mem\r" + Keys.up + "abcdefgh\r" + Keys.up)
        XCTAssertEqual(session.submissions.last, .tooLong)
        XCTAssertEqual(session.line, "mem")
    }

    func testNoHistoryWithALimitOfZero() {
        var session = EditorSession(historyLimit: 0)
        session.type("cores\r" + Keys.up)
        XCTAssertEqual(session.line, "")
    }
}
