// A program's arguments, as the shell's `run`, `oncore` and spawn pass them: one line
// of bytes after the program's name, split into words at spaces and tabs. Programs ask
// for words as strings and numbers (decimal, or hexadecimal after 0x) and get nil for a
// word that is missing or not a number, so each program stops writing its own parser.
import ABI

/// The words a program was started with.
public struct Arguments: Equatable, Sendable {
    /// The words, in order, without the blanks between them.
    public let words: [String]

    /// Splits `line` (UTF-8) into words.
    public init(_ line: [UInt8]) {
        words = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
            .map { String(decoding: $0, as: UTF8.self) }
    }

    public var count: Int { words.count }
    public var isEmpty: Bool { words.isEmpty }
    /// The first word: for most programs, what to do.
    public var first: String? { words.first }

    /// Word `index`, nil past the end.
    public subscript(index: Int) -> String? {
        words.indices.contains(index) ? words[index] : nil
    }

    /// Word `index` as an unsigned number: decimal, or hexadecimal after `0x`; nil if it
    /// is missing, not a number or too large.
    public func number(at index: Int) -> UInt64? {
        guard let word = self[index] else { return nil }
        return Self.number(word)
    }

    /// Word `index` as an `Int` (decimal or `0x` hexadecimal, no sign); nil as for `number(at:)`.
    public func integer(at index: Int) -> Int? {
        number(at: index).flatMap { $0 <= UInt64(Int.max) ? Int($0) : nil }
    }

    /// Word `index` as a domain's system-wide id written `core.local` (as `ps` shows
    /// it); nil if it is missing or not that.
    public func domain(at index: Int) -> SystemDomainID? {
        guard let word = self[index] else { return nil }
        let parts = word.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 2, let core = Self.number(String(decoding: parts[0], as: UTF8.self)),
              let local = Self.number(String(decoding: parts[1], as: UTF8.self)),
              core <= UInt64(UInt16.max), local <= UInt64(UInt32.max) else { return nil }
        return SystemDomainID(core: Int(core), local: UInt32(local))
    }

    /// The words from `index` on, joined by single spaces (a message to print, a line to pass on).
    public func rest(from index: Int) -> String {
        guard index < words.count else { return "" }
        var text = ""
        for (offset, word) in words[index...].enumerated() { text += (offset == 0 ? "" : " ") + word }
        return text
    }

    static func number(_ word: String) -> UInt64? {
        var digits = Substring(word)
        var radix: UInt64 = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            digits = digits.dropFirst(2)
            radix = 16
        }
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits.utf8 {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            let (sum, carry) = shifted.addingReportingOverflow(digit)
            guard !overflow, !carry else { return nil }
            value = sum
        }
        return value
    }
}
