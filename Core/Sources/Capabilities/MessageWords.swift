// The words of a same-core message (`MessageLayout.words` of them), held inline: a
// send decodes its registers into one of these instead of an array, so sending and
// receiving allocate nothing (docs/benchmarks.md, "Path lengths").
import ABI

public struct MessageWords: RandomAccessCollection, MutableCollection, Equatable, Sendable, ExpressibleByArrayLiteral {
    private var storage: (UInt64, UInt64, UInt64)

    public init(_ first: UInt64, _ second: UInt64, _ third: UInt64) { storage = (first, second, third) }

    /// Three words (the tests' literals); missing ones are 0, extra ones ignored.
    public init(arrayLiteral words: UInt64...) {
        self.init(words.count > 0 ? words[0] : 0, words.count > 1 ? words[1] : 0, words.count > 2 ? words[2] : 0)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { MessageLayout.words }

    public subscript(index: Int) -> UInt64 {
        get {
            precondition(indices.contains(index))
            return withUnsafeBytes(of: storage) { $0.load(fromByteOffset: index * 8, as: UInt64.self) }
        }
        set {
            precondition(indices.contains(index))
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: newValue, toByteOffset: index * 8, as: UInt64.self) }
        }
    }

    public static func == (a: Self, b: Self) -> Bool { a.storage == b.storage }
}
