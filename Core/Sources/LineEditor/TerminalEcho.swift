// What the editor writes back to redraw the line: the characters themselves and three
// VT100 controls every terminal emulator knows (cursor left, cursor right, erase to the
// end of the line). The cursor is only ever moved along the line it is on.

enum TerminalEcho {
    /// ESC [ K: erase from the cursor to the end of the line.
    static let eraseToEndOfLine: [UInt8] = [Byte.escape, UInt8(ascii: "["), UInt8(ascii: "K")]

    /// ESC [ n D, or nothing for 0.
    static func cursorLeft(_ columns: Int) -> [UInt8] { move(columns, final: UInt8(ascii: "D")) }

    /// ESC [ n C, or nothing for 0.
    static func cursorRight(_ columns: Int) -> [UInt8] { move(columns, final: UInt8(ascii: "C")) }

    static func move(_ columns: Int, final: UInt8) -> [UInt8] {
        guard columns > 0 else { return [] }
        return [Byte.escape, UInt8(ascii: "[")] + decimal(columns) + [final]
    }

    static func decimal(_ value: Int) -> [UInt8] {
        var digits: [UInt8] = []
        var rest = value
        repeat {
            digits.insert(UInt8(ascii: "0") + UInt8(rest % 10), at: 0)
            rest /= 10
        } while rest > 0
        return digits
    }
}
