// The unit of cross-core communication: one 64-byte cache line, seven payload words
// followed by a header word (the layout of Barrelfish's UMP, `ump_impl.h`). The header
// is written last and makes the slot valid, so a receiver that sees the header sees
// the payload (see Ring.swift for the ordering argument).

/// A message's payload: seven 64-bit words and a 16-bit tag saying what they mean.
public struct ChannelMessage: Equatable, Sendable {
    public static let wordCount = 7
    public var tag: UInt16
    public var words: InlineArray<7, UInt64>

    public init(tag: UInt16, words: InlineArray<7, UInt64> = .init(repeating: 0)) {
        self.tag = tag
        self.words = words
    }

    public init(tag: UInt16, _ w0: UInt64, _ w1: UInt64 = 0, _ w2: UInt64 = 0, _ w3: UInt64 = 0) {
        self.tag = tag
        self.words = .init(repeating: 0)
        words[0] = w0; words[1] = w1; words[2] = w2; words[3] = w3
    }

    public static func == (a: Self, b: Self) -> Bool {
        guard a.tag == b.tag else { return false }
        for i in 0..<wordCount where a.words[i] != b.words[i] { return false }
        return true
    }
}

/// The header word: bits 0–31 the sequence number (1 for the first message sent on the
/// ring, so zeroed memory is never a valid message), bits 32–47 the tag.
struct SlotHeader {
    var rawValue: UInt64
    init(rawValue: UInt64) { self.rawValue = rawValue }
    init(sequence: UInt32, tag: UInt16) { rawValue = UInt64(sequence) | UInt64(tag) << 32 }
    var sequence: UInt32 { UInt32(truncatingIfNeeded: rawValue) }
    var tag: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 32) }
    /// Bits 48–63 are reserved and must be zero; a peer that sets them is broken.
    var reservedBitsAreClear: Bool { rawValue >> 48 == 0 }
}
