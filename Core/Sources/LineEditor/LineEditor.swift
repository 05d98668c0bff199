// A line editor for a shell on a serial terminal: it consumes the bytes a terminal sends,
// one at a time, keeps the line and the cursor, and answers with what to echo so the
// terminal shows the line as it is, and with the line itself once Enter is pressed. It
// knows nothing of commands: Tab asks the caller for the words that may come next.
//
// The line is ASCII, one column per byte, and never longer than `lineLimit`: input past
// the limit is dropped and the line refused at Enter, since running what fitted could
// run something other than what was typed.

public struct LineEditor {
    /// What Enter (or Ctrl-C) hands the caller.
    public enum Submission: Equatable {
        case line([UInt8])
        /// Input was dropped at the limit: nothing may run.
        case tooLong
        /// Ctrl-C gave the line up.
        case cancelled
    }

    /// The answer to one byte: what to write to the terminal, and the line if it ended.
    public struct Reaction: Equatable {
        public var echo: [UInt8] = []
        public var submission: Submission? = nil

        public init(echo: [UInt8] = [], submission: Submission? = nil) {
            self.echo = echo
            self.submission = submission
        }
    }

    /// The words a word may complete to: given the words before it on the line, every
    /// word that may stand there (the editor picks those that start with what is typed).
    public typealias Candidates = (_ wordsBefore: [[UInt8]]) -> [[UInt8]]

    public let prompt: [UInt8]
    public let lineLimit: Int
    public private(set) var line: [UInt8] = []
    /// Where the next character goes: 0 ... line.count.
    public private(set) var cursor = 0
    /// Input was dropped at the limit since the line was started.
    public private(set) var overflowed = false
    var history: History
    var decoder = KeyDecoder()

    public init(prompt: [UInt8], lineLimit: Int, historyLimit: Int) {
        self.prompt = prompt
        self.lineLimit = lineLimit
        self.history = History(limit: historyLimit)
    }

    /// The lines entered so far that Up can bring back, oldest first.
    public var historyEntries: [[UInt8]] { history.entries }

    /// The prompt and the line, with the cursor where it was: what to write to show
    /// them again on a fresh terminal line (after other output).
    public var redrawn: [UInt8] {
        prompt + line + TerminalEcho.cursorLeft(line.count - cursor)
    }

    /// Acts on one byte from the terminal.
    public mutating func consume(_ byte: UInt8, candidates: Candidates) -> Reaction {
        guard let key = decoder.decode(byte) else { return Reaction() }
        return apply(key, candidates: candidates)
    }

    mutating func apply(_ key: Key, candidates: Candidates) -> Reaction {
        switch key {
        case .character(let byte):
            guard line.count < lineLimit else {
                overflowed = true
                return Reaction()
            }
            return Reaction(echo: replace(cursor..<cursor, with: [byte]))
        case .enter:
            let submission: Submission = overflowed ? .tooLong : .line(line)
            if overflowed { history.stopBrowsing() } else { history.record(line) }
            startNewLine()
            return Reaction(echo: [Byte.lineFeed], submission: submission)
        case .interrupt:
            history.stopBrowsing()
            startNewLine()
            return Reaction(echo: Array("^C".utf8) + [Byte.lineFeed], submission: .cancelled)
        case .backspace:
            return Reaction(echo: cursor > 0 ? replace(cursor - 1..<cursor, with: []) : [])
        case .delete:
            return Reaction(echo: cursor < line.count ? replace(cursor..<cursor + 1, with: []) : [])
        case .killToStart:
            return Reaction(echo: replace(0..<cursor, with: []))
        case .killPreviousWord:
            return Reaction(echo: replace(startOfPreviousWord..<cursor, with: []))
        case .left: return Reaction(echo: moveCursor(to: max(cursor - 1, 0)))
        case .right: return Reaction(echo: moveCursor(to: min(cursor + 1, line.count)))
        case .home: return Reaction(echo: moveCursor(to: 0))
        case .end: return Reaction(echo: moveCursor(to: line.count))
        case .up:
            guard let older = history.older(than: line) else { return Reaction() }
            return Reaction(echo: replaceLine(with: older))
        case .down:
            guard let newer = history.newer() else { return Reaction() }
            return Reaction(echo: replaceLine(with: newer))
        case .tab: return Reaction(echo: complete(candidates))
        }
    }

    mutating func startNewLine() {
        line.removeAll()
        cursor = 0
        overflowed = false
    }

    /// Where Ctrl-W deletes from: back over spaces, then over the word before them.
    var startOfPreviousWord: Int {
        var start = cursor
        while start > 0, line[start - 1] == Byte.space { start -= 1 }
        while start > 0, line[start - 1] != Byte.space { start -= 1 }
        return start
    }

    /// Replaces `range` of the line with `bytes` and leaves the cursor after them.
    /// Returns the echo that shows it: from the start of the change, the rest of the
    /// line, erased past its new end if it got shorter, and the cursor moved back.
    mutating func replace(_ range: Range<Int>, with bytes: [UInt8]) -> [UInt8] {
        var echo = moveCursor(to: range.lowerBound)
        line.replaceSubrange(range, with: bytes)
        echo += line[range.lowerBound...]
        if bytes.count < range.count { echo += TerminalEcho.eraseToEndOfLine }
        cursor = range.lowerBound + bytes.count
        echo += TerminalEcho.cursorLeft(line.count - cursor)
        return echo
    }

    /// The whole line becomes `newLine` (from the history), with the cursor at its end.
    /// The line shown is exactly the entry, so input dropped before no longer matters.
    mutating func replaceLine(with newLine: [UInt8]) -> [UInt8] {
        overflowed = false
        return replace(0..<line.count, with: newLine)
    }

    mutating func moveCursor(to position: Int) -> [UInt8] {
        defer { cursor = position }
        return position < cursor ? TerminalEcho.cursorLeft(cursor - position) : TerminalEcho.cursorRight(position - cursor)
    }
}
