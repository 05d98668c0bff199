// The kernel command line (`-append` in QEMU), kept as bytes: Embedded Swift has no
// cheap String comparison, and options are ASCII anyway. Options are whitespace-separated
// words, either a bare flag (`verbose`) or `key=value` (`cores=4`).

import Basics

public struct KernelCommandLine: Equatable, Sendable {
    /// The longest command line accepted, counting its NUL terminator.
    public static let maximumLength = 4096

    /// The whole command line, without the terminator.
    public let bytes: [UInt8]
    /// `bytes` split at ASCII spaces, tabs and line breaks; never contains empty words.
    public let words: [[UInt8]]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var words: [[UInt8]] = []
        var current: [UInt8] = []
        for byte in bytes {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                if !current.isEmpty { words.append(current) }
                current = []
            } else {
                current.append(byte)
            }
        }
        if !current.isEmpty { words.append(current) }
        self.words = words
    }

    /// True if some word is exactly `flag` (`verbose` matches `verbose`, not `verbose=1`).
    public func contains(flag: StaticString) -> Bool {
        flag.withUTF8Buffer { flag in words.contains { $0.elementsEqual(flag) } }
    }

    /// The text after `key=` in the last word that starts with it (later options override
    /// earlier ones); empty for `key=`; nil if no word has that form.
    public func value(of key: StaticString) -> [UInt8]? {
        key.withUTF8Buffer { key -> [UInt8]? in
            for word in words.reversed() where word.count > key.count && word[key.count] == 0x3D {
                if word[0..<key.count].elementsEqual(key) { return Array(word[(key.count + 1)...]) }
            }
            return nil
        }
    }

    /// `value(of:)` read as a decimal integer (optionally negative) or as hexadecimal
    /// after `0x`; nil if absent, malformed or out of range for Int.
    public func integer(of key: StaticString) -> Int? {
        guard let text = value(of: key) else { return nil }
        return parseInteger(text)
    }
}

private func parseInteger(_ text: [UInt8]) -> Int? {
    var digits = text[...]
    var negative = false
    var radix = 10
    if digits.first == 0x2D {  // "-"
        negative = true
        digits = digits.dropFirst()
    } else if digits.count > 2, digits.first == 0x30, digits.dropFirst().first == 0x78 || digits.dropFirst().first == 0x58 {
        radix = 16  // "0x" / "0X"
        digits = digits.dropFirst(2)
    }
    guard !digits.isEmpty else { return nil }
    var value = 0
    for byte in digits {
        let digit: Int
        switch byte {
        case 0x30...0x39: digit = Int(byte - 0x30)
        case 0x61...0x66 where radix == 16: digit = Int(byte - 0x61 + 10)
        case 0x41...0x46 where radix == 16: digit = Int(byte - 0x41 + 10)
        default: return nil
        }
        // Accumulate towards the sign so Int.min parses without overflow.
        let (shifted, overflow1) = value.multipliedReportingOverflow(by: radix)
        let (next, overflow2) = negative
            ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
        guard !overflow1, !overflow2 else { return nil }
        value = next
    }
    return value
}

extension PVHStartInfo {
    /// Reads the NUL-terminated command line. No command line (a zero address) is an
    /// empty one. Bytes are read one at a time so a string that ends just before
    /// unbacked memory still reads; a string with no NUL in its first
    /// `KernelCommandLine.maximumLength` bytes is `.commandLineTooLong`.
    public func commandLine<M: PhysicalMemoryReader>(memory: M) throws(BootInfoError) -> KernelCommandLine {
        guard let address = commandLineAddress else { return KernelCommandLine([]) }
        var bytes: [UInt8] = []
        for index in 0..<KernelCommandLine.maximumLength {
            let byteAddress = address + UInt64(index)
            guard byteAddress >= address, let reader = memory.bytes(at: byteAddress, count: 1) else {
                throw .unreadable(byteAddress)
            }
            let byte = reader.field(UInt8.self, at: 0)
            if byte == 0 { return KernelCommandLine(bytes) }
            bytes.append(byte)
        }
        throw .commandLineTooLong
    }
}
