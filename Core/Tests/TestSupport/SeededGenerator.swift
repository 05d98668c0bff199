// What the Core test suites share: a seeded generator so every random-input test replays
// exactly, and fixture memory for the parsers of firmware tables and boot information.

/// SplitMix64: a tiny deterministic generator.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (slightly biased for huge ranges, which tests do not use).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    /// True `numerator` times in `denominator`.
    public mutating func chance(_ numerator: Int, in denominator: Int) -> Bool { below(denominator) < numerator }
    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

extension SeededGenerator {
    /// Random bytes, up to `maximumCount`; half of the blobs long enough for an ACPI
    /// header get `signature` and a plausible length, so parsers walk their entries.
    public mutating func tableBlob(signature: String, maximumCount: Int, minimumLength: UInt32) -> [UInt8] {
        let count = Int.random(in: 0..<maximumCount, using: &self)
        var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
        if count >= Int(minimumLength) + 4 && Bool.random(using: &self) {
            bytes.replaceSubrange(0..<4, with: Array(signature.utf8))
            let length = UInt32.random(in: minimumLength...UInt32(count + 8), using: &self)
            withUnsafeBytes(of: length.littleEndian) { bytes.replaceSubrange(4..<8, with: $0) }
        }
        return bytes
    }

    /// `table` with one to four bytes after its 36-byte header changed, and one time in
    /// eight up to `maximumTruncation` bytes cut off its end.
    public mutating func mutated(_ table: [UInt8], maximumTruncation: Int) -> [UInt8] {
        var bytes = table
        for _ in 0..<Int.random(in: 1...4, using: &self) {
            bytes[Int.random(in: 36..<bytes.count, using: &self)] = UInt8.random(in: 0...255, using: &self)
        }
        if Int.random(in: 0..<8, using: &self) == 0 {
            bytes.removeLast(Int.random(in: 0..<maximumTruncation, using: &self))
        }
        return bytes
    }
}
