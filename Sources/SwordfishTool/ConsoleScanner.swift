/// Splits the serial console's byte stream into lines and notices the shell prompt, which
/// ends no line: it waits for input on the line it is on.
public struct ConsoleScanner: Sendable {
    /// What the guest shell prints when it is ready for a command.
    public static let prompt: [UInt8] = Array("swordfish> ".utf8)

    public enum Event: Equatable, Sendable {
        /// A complete line, without its `\n` or trailing `\r`.
        case line(String)
        /// The prompt appeared at the end of the current line.
        case prompt
    }

    private var partialLine: [UInt8] = []
    private var promptSeenOnPartialLine = false

    public init() {}

    public mutating func consume<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [Event] {
        var events: [Event] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                var line = partialLine[...]
                while line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                events.append(.line(String(decoding: line, as: UTF8.self)))
                partialLine.removeAll(keepingCapacity: true)
                promptSeenOnPartialLine = false
                continue
            }
            partialLine.append(byte)
            if !promptSeenOnPartialLine, partialLine.count >= Self.prompt.count,
               partialLine.suffix(Self.prompt.count).elementsEqual(Self.prompt) {
                promptSeenOnPartialLine = true
                events.append(.prompt)
            }
        }
        return events
    }

    /// The unfinished last line, when the console ends without a newline.
    public mutating func finish() -> [Event] {
        guard !partialLine.isEmpty else { return [] }
        defer { partialLine.removeAll() }
        return [.line(String(decoding: partialLine, as: UTF8.self))]
    }
}

extension String {
    /// The lines of console text: split at each `\n`, without it or any `\r` before it.
    ///
    /// Split by bytes, because in a Swift string `\r\n` is one `Character`, which a
    /// split on `"\n"` would not see.
    public var lines: [String] {
        utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            var line = line
            while line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            return String(decoding: line, as: UTF8.self)
        }
    }
}
