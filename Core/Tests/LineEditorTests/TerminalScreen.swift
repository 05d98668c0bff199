@testable import LineEditor

/// The line a VT100 terminal shows after the editor's echo: printable bytes overwrite at
/// the cursor, `\n` starts a new line, and ESC [ n D, ESC [ n C and ESC [ K move and
/// erase. Any other byte is recorded as unexpected, so tests see stray output.
struct TerminalScreen {
    var lines: [[UInt8]] = []
    var current: [UInt8] = []
    var column = 0
    var unexpected: [UInt8] = []
    private var pending: [UInt8] = []

    mutating func show(_ bytes: [UInt8]) {
        for byte in bytes { show(byte) }
    }

    private mutating func show(_ byte: UInt8) {
        if !pending.isEmpty {
            pending.append(byte)
            if pending.count == 2, byte != UInt8(ascii: "[") {
                unexpected += pending
                pending.removeAll()
            }
            guard pending.count >= 3, byte >= 0x40 else { return }
            let sequence = pending
            pending.removeAll()
            let number = Int(String(decoding: sequence.dropFirst(2).dropLast(), as: UTF8.self)) ?? 1
            switch byte {
            case UInt8(ascii: "D"): column = max(column - number, 0)
            case UInt8(ascii: "C"): column += number
            case UInt8(ascii: "K") where sequence.count == 3: current = Array(current.prefix(column))
            default: unexpected += sequence
            }
            return
        }
        switch byte {
        case 0x1B: pending = [byte]
        case 0x0A:
            lines.append(current)
            current = []
            column = 0
        case 0x20..<0x7F:
            while current.count < column { current.append(UInt8(ascii: " ")) }
            if column < current.count { current[column] = byte } else { current.append(byte) }
            column += 1
        default: unexpected.append(byte)
        }
    }

    var text: String { String(decoding: current, as: UTF8.self) }
}
