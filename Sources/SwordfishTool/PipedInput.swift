/// Piped input for the guest shell, cut into what `swordfish run` sends and when.
///
/// A line waits for a prompt, so that the guest's one-byte UART never overflows and a
/// script reads as a transcript. A Ctrl-C at the start of a line cannot wait: the program
/// it is meant to interrupt prints no prompt while it runs. So it goes at once, once
/// everything before it has gone, unchanged, as a terminal sends it. A Ctrl-C inside a
/// line is sent with its line, since the shell is then at a prompt anyway.
struct PipedInput {
    enum Piece: Equatable {
        /// Bytes up to and including a newline (or the unterminated end of the input).
        case line([UInt8])
        /// One Ctrl-C.
        case interrupt
    }

    static let interrupt: UInt8 = 0x03
    private var partialLine: [UInt8] = []

    /// The pieces `bytes` complete, in input order.
    mutating func consume<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [Piece] {
        var pieces: [Piece] = []
        for byte in bytes {
            if byte == Self.interrupt, partialLine.isEmpty {
                pieces.append(.interrupt)
                continue
            }
            partialLine.append(byte)
            if byte == UInt8(ascii: "\n") {
                pieces.append(.line(partialLine))
                partialLine.removeAll()
            }
        }
        return pieces
    }

    /// The last line, when the input ends without a newline.
    mutating func finish() -> [Piece] {
        guard !partialLine.isEmpty else { return [] }
        defer { partialLine.removeAll() }
        return [.line(partialLine)]
    }
}
