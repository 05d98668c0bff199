import XCTest
@testable import LineEditor

/// An editor fed text as a terminal would send it, with its echo shown on a screen.
struct EditorSession {
    static let prompt = "> "
    var editor: LineEditor
    var screen = TerminalScreen()
    var submissions: [LineEditor.Submission] = []
    /// What Tab offers, given the words before the one completed.
    var candidates: ([[UInt8]]) -> [[UInt8]] = { _ in [] }
    /// The words before the word completed, at each Tab.
    var completionContexts: [[String]] = []

    init(lineLimit: Int = 40, historyLimit: Int = 8) {
        editor = LineEditor(prompt: Array(Self.prompt.utf8), lineLimit: lineLimit, historyLimit: historyLimit)
        screen.show(editor.redrawn)
    }

    mutating func type(_ text: String) {
        for byte in text.utf8 {
            var asked: [[UInt8]]? = nil
            let reaction = editor.consume(byte) { words in
                asked = words
                return candidates(words)
            }
            if let asked { completionContexts.append(asked.map { String(decoding: $0, as: UTF8.self) }) }
            screen.show(reaction.echo)
            if let submission = reaction.submission {
                submissions.append(submission)
                screen.show(editor.redrawn)             // the shell's next prompt
            }
        }
    }

    var line: String { String(decoding: editor.line, as: UTF8.self) }

    /// The lines Enter submitted, in order.
    var entered: [String] {
        submissions.compactMap { if case .line(let bytes) = $0 { String(decoding: bytes, as: UTF8.self) } else { nil } }
    }

    /// The terminal shows the prompt and the line, with its cursor at the editor's, and
    /// nothing the screen does not understand was written.
    func assertScreenMatches(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(screen.text, Self.prompt + self.line, "screen", file: file, line: line)
        XCTAssertEqual(screen.column, Self.prompt.utf8.count + editor.cursor, "cursor column", file: file, line: line)
        XCTAssertEqual(screen.unexpected, [], "unexpected bytes in the echo", file: file, line: line)
    }
}

/// Keys as terminals send them.
enum Keys {
    static let up = "\u{1B}[A", down = "\u{1B}[B", right = "\u{1B}[C", left = "\u{1B}[D"
    static let home = "\u{1B}[H", end = "\u{1B}[F", delete = "\u{1B}[3~"
    static let controlA = "\u{01}", controlC = "\u{03}", controlE = "\u{05}"
    static let controlU = "\u{15}", controlW = "\u{17}", backspace = "\u{08}", del = "\u{7F}"
}
