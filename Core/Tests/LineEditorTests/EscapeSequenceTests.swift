import XCTest
@testable import LineEditor

final class EscapeSequenceTests: XCTestCase {
    /// Sequences no key of the editor sends; each must vanish whole.
    static let unknown = [
        "\u{1B}[Z", "\u{1B}[99~", "\u{1B}[1;5C", "\u{1B}[2~", "\u{1B}[11~", "\u{1B}[15;2~",
        "\u{1B}[1111111111A", "\u{1B}[?25h", "\u{1B}OZ", "\u{1B}Ox", "\u{1B}x", "\u{1B}[3;3~",
        "\u{1B}[ A", "\u{1B}[M",
    ]

    func testUnknownSequencesAreSwallowedWhole() {
        for sequence in Self.unknown {
            var session = EditorSession()
            session.type("a" + sequence + "b\r")
            XCTAssertEqual(session.entered, ["ab"], "sequence \(Array(sequence.utf8))")
            session.type(Keys.up)
            XCTAssertEqual(session.line, "ab")
        }
    }

    func testASequenceCutShortByAControlKeyLetsTheKeyThrough() {
        for start in ["\u{1B}", "\u{1B}[", "\u{1B}[1", "\u{1B}O", "\u{1B}[1;"] {
            var session = EditorSession()
            session.type("cores" + start + "\r")
            XCTAssertEqual(session.entered, ["cores"], "after \(Array(start.utf8))")
            session.type("x" + start + Keys.controlU + "mem" + start + Keys.backspace + "\r")
            XCTAssertEqual(session.entered.last, "me")
        }
    }

    func testAnEscapeInsideASequenceStartsANewOne() {
        var session = EditorSession()
        session.type("uptime\r" + "\u{1B}[1\u{1B}[A")
        XCTAssertEqual(session.line, "uptime")
        session.type("\r\u{1B}\u{1B}[A")                          // ESC ESC [ A, as Alt-Up on some terminals
        XCTAssertEqual(session.line, "uptime")
    }

    func testTheUpArrowNeverBecomesText() {
        var session = EditorSession()
        session.type(Keys.up + "\r")
        XCTAssertEqual(session.entered, [""])
    }

    /// Random bytes, many of them ESC, `[` and digits: the line stays printable ASCII
    /// within the limit, the cursor on it, and the screen shows what the editor holds.
    func testRandomInputKeepsTheLineSane() {
        var random = SplitMix(seed: 15)
        let alphabet = Array("\u{1B}[O0123~;ABCDHF ab\u{7F}\u{08}\t\u{01}\u{05}\u{15}\u{17}\u{03}\r\n\u{C3}".utf8)
        var session = EditorSession(lineLimit: 12, historyLimit: 4)
        session.candidates = { _ in ["ab", "abba", "b0"].map { Array($0.utf8) } }
        for round in 0..<20_000 {
            let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
            session.type(String(decoding: [byte], as: UTF8.self))
            let line = session.editor.line
            XCTAssertLessThanOrEqual(line.count, 12)
            XCTAssertTrue(line.allSatisfy { (0x20..<0x7F).contains($0) }, "round \(round)")
            XCTAssertTrue((0...line.count).contains(session.editor.cursor))
            if session.editor.decoder.state == .ground { session.assertScreenMatches() }
        }
        for case .line(let line) in session.submissions { XCTAssertTrue(line.allSatisfy { (0x20..<0x7F).contains($0) }) }
    }
}

/// A small seeded generator (SplitMix64), so a failure repeats.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1330_11EB
        return z ^ (z >> 31)
    }
}
