import XCTest
@testable import LineEditor

final class EditingTests: XCTestCase {
    func testTypedTextIsEchoedAndEnterSubmitsIt() {
        var session = EditorSession()
        session.type("cores")
        XCTAssertEqual(session.line, "cores")
        session.assertScreenMatches()
        session.type("\r")
        XCTAssertEqual(session.submissions, [.line(Array("cores".utf8))])
        XCTAssertEqual(session.screen.lines.last, Array("> cores".utf8))
        XCTAssertEqual(session.line, "")
        session.assertScreenMatches()
    }

    func testCarriageReturnAndLineFeedAreOneEnter() {
        var session = EditorSession()
        session.type("a\r\nb\nc\r\rd\n\n")
        XCTAssertEqual(session.submissions.map { if case .line(let l) = $0 { l } else { [] } },
                       ["a", "b", "c", "", "d", ""].map { Array($0.utf8) })
    }

    func testBackspaceAndDELDeleteBeforeTheCursor() {
        var session = EditorSession()
        session.type("memx" + Keys.backspace)
        XCTAssertEqual(session.line, "mem")
        session.type("y" + Keys.del)
        XCTAssertEqual(session.line, "mem")
        session.type(Keys.left + Keys.backspace)
        XCTAssertEqual(session.line, "mm")
        XCTAssertEqual(session.editor.cursor, 1)
        session.assertScreenMatches()
        session.type(Keys.home + Keys.backspace)                  // nothing before the cursor
        XCTAssertEqual(session.line, "mm")
        session.assertScreenMatches()
    }

    func testLeftAndRightMoveAndTypingInserts() {
        var session = EditorSession()
        session.type("cors" + Keys.left + "e")
        XCTAssertEqual(session.line, "cores")
        XCTAssertEqual(session.editor.cursor, 4)
        session.assertScreenMatches()
        session.type(Keys.right + Keys.right + Keys.right)        // stops at the end
        XCTAssertEqual(session.editor.cursor, 5)
        session.type(String(repeating: Keys.left, count: 7))    // stops at the start
        XCTAssertEqual(session.editor.cursor, 0)
        session.type("x")
        XCTAssertEqual(session.line, "xcores")
        session.assertScreenMatches()
        session.type("\r")
        XCTAssertEqual(session.entered, ["xcores"])
    }

    func testEveryFormOfHomeAndEnd() {
        let homes = [Keys.home, "\u{1B}OH", "\u{1B}[1~", "\u{1B}[7~", Keys.controlA]
        let ends = [Keys.end, "\u{1B}OF", "\u{1B}[4~", "\u{1B}[8~", Keys.controlE]
        for home in homes {
            var session = EditorSession()
            session.type("uptime" + home)
            XCTAssertEqual(session.editor.cursor, 0, "home as \(Array(home.utf8))")
            session.assertScreenMatches()
        }
        for end in ends {
            var session = EditorSession()
            session.type("uptime" + Keys.home + end)
            XCTAssertEqual(session.editor.cursor, 6, "end as \(Array(end.utf8))")
            session.assertScreenMatches()
        }
    }

    func testCursorKeysInApplicationMode() {
        var session = EditorSession()
        session.type("ab\u{1B}ODx\u{1B}OCy\r")
        XCTAssertEqual(session.entered, ["axby"])
        session.type("\u{1B}OA")
        XCTAssertEqual(session.line, "axby")
        session.type("\u{1B}OB")
        XCTAssertEqual(session.line, "")
    }

    func testDeleteRemovesTheCharacterAtTheCursor() {
        var session = EditorSession()
        session.type("domXains" + String(repeating: Keys.left, count: 5) + Keys.delete)
        XCTAssertEqual(session.line, "domains")
        XCTAssertEqual(session.editor.cursor, 3)
        session.assertScreenMatches()
        session.type(Keys.end + Keys.delete)                      // nothing at the cursor
        XCTAssertEqual(session.line, "domains")
        session.assertScreenMatches()
    }

    func testControlUKillsToTheStartAndKeepsTheRest() {
        var session = EditorSession()
        session.type("garbage words" + Keys.controlU)
        XCTAssertEqual(session.line, "")
        session.assertScreenMatches()
        session.type("xx uptime" + String(repeating: Keys.left, count: 6) + Keys.controlU)
        XCTAssertEqual(session.line, "uptime")
        XCTAssertEqual(session.editor.cursor, 0)
        session.assertScreenMatches()
    }

    func testControlWKillsThePreviousWord() {
        var session = EditorSession()
        session.type("run hello  there  " + Keys.controlW)
        XCTAssertEqual(session.line, "run hello  ")
        session.assertScreenMatches()
        session.type(Keys.controlW)
        XCTAssertEqual(session.line, "run ")
        session.type("probe x" + Keys.left + Keys.left + Keys.controlW)   // the word before the cursor only
        XCTAssertEqual(session.line, "run  x")
        XCTAssertEqual(session.editor.cursor, 4)
        session.assertScreenMatches()
        session.type(Keys.home + Keys.controlW)
        XCTAssertEqual(session.line, "run  x")
    }

    func testControlCGivesTheLineUp() {
        var session = EditorSession()
        session.type("half a comm" + Keys.controlC)
        XCTAssertEqual(session.submissions, [.cancelled])
        XCTAssertEqual(session.screen.lines.last, Array("> half a comm^C".utf8))
        XCTAssertEqual(session.line, "")
        XCTAssertEqual(session.editor.historyEntries, [])
        session.assertScreenMatches()
    }

    func testALineTooLongIsRefusedNotCut() {
        var session = EditorSession(lineLimit: 10)
        session.type("oncore 1 hello" + "\r")
        XCTAssertEqual(session.submissions, [.tooLong])
        XCTAssertEqual(session.screen.lines.last, Array("> oncore 1 h".utf8))
        XCTAssertEqual(session.editor.historyEntries, [])
        session.type("cores\r")                                   // the next line is a line of its own
        XCTAssertEqual(session.submissions.last, .line(Array("cores".utf8)))
    }

    func testDeletingAfterAnOverflowStillRefusesTheLine() {
        var session = EditorSession(lineLimit: 4)
        session.type("abcdef" + Keys.backspace + Keys.backspace + "\r")
        XCTAssertEqual(session.submissions, [.tooLong])
    }

    func testOtherBytesAreIgnored() {
        var session = EditorSession()
        session.type("a\u{07}\u{00}\u{02}b\u{C3}\u{A9}c\r")
        XCTAssertEqual(session.entered, ["abc"])
    }
}
