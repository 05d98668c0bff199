// A network link over a channel (docs/network.md, "IP loopback across cores"): each side
// writes the frames it sends into a byte ring in pages of its own that the peer maps,
// and tells the peer where they are with small channel messages (descriptors); the peer
// copies each frame out and tells the sender how far it may reuse the ring (a release).
// This is the portable part: where a frame goes in the ring, and the messages, each
// checked. The peer is untrusted: anything it says that a correct peer cannot say is an
// error, after which the link is dropped; nothing it says makes this side read outside
// the ring.

/// What a correct peer cannot send.
public enum FrameLinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A kind of message that does not exist, or bits set that must be clear.
    case malformed
    /// A frame of no bytes or longer than `FrameRing.maximumFrame`.
    case badLength
    /// Frames past what the ring holds beyond the last release this side sent.
    case overrun
    /// A release behind the last one, or past what was sent.
    case badRelease

    public var description: String {
        switch self {
        case .malformed: return "malformed"
        case .badLength: return "badLength"
        case .overrun: return "overrun"
        case .badRelease: return "badRelease"
        }
    }
}

/// The placement rule both sides follow. Positions count bytes since the link started
/// and only grow; a frame lies at its position modulo the capacity, whole: one that
/// would cross the ring's end starts at the next turn instead.
public struct FrameRing: Equatable, Sendable {
    /// The longest frame the link carries: an Ethernet frame of 1500 bytes of payload and
    /// its 14-byte header fit with room to spare.
    public static let maximumFrame = 2048

    /// The ring's bytes (at least `maximumFrame`).
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity >= Self.maximumFrame)
        self.capacity = capacity
    }

    /// Where a frame of `length` bytes starts when the previous one ended at `position`.
    public func start(of length: Int, after position: UInt64) -> UInt64 {
        let offset = Int(position % UInt64(capacity))
        return offset + length > capacity ? position + UInt64(capacity - offset) : position
    }

    /// The offset in the ring of a position.
    public func offset(_ position: UInt64) -> Int { Int(position % UInt64(capacity)) }
}

/// The sending side's ring: where the next frame goes, and the releases the peer sends.
public struct FrameSender: Equatable, Sendable {
    public let ring: FrameRing
    /// The end of the last frame placed.
    public private(set) var produced: UInt64 = 0
    /// How far the peer has released the ring.
    public private(set) var released: UInt64 = 0

    public init(ring: FrameRing) { self.ring = ring }

    /// The offset where a frame of `length` bytes is to be written, or nil if the ring
    /// has no room for it until the peer releases more. `length` must be 1…maximumFrame.
    public mutating func place(_ length: Int) -> Int? {
        precondition(length > 0 && length <= FrameRing.maximumFrame)
        let start = ring.start(of: length, after: produced)
        guard start + UInt64(length) - released <= UInt64(ring.capacity) else { return nil }
        produced = start + UInt64(length)
        return ring.offset(start)
    }

    /// Whether every frame placed has been released.
    public var isIdle: Bool { released == produced }

    /// The peer's release up to `position`.
    public mutating func release(upTo position: UInt64) throws(FrameLinkError) {
        guard position >= released, position <= produced else { throw .badRelease }
        released = position
    }
}

/// The receiving side's view of the peer's ring: where each frame it announces is,
/// checked, and how far to release.
public struct FrameReceiver: Equatable, Sendable {
    public let ring: FrameRing
    /// The end of the last frame taken.
    public private(set) var consumed: UInt64 = 0
    /// The last release sent to the peer.
    public private(set) var acknowledged: UInt64 = 0

    public init(ring: FrameRing) { self.ring = ring }

    /// The offset of the next frame, which the peer says is `length` bytes long: within
    /// the ring whatever the peer says.
    public mutating func take(_ length: Int) throws(FrameLinkError) -> Int {
        guard length > 0, length <= FrameRing.maximumFrame else { throw .badLength }
        let start = ring.start(of: length, after: consumed)
        let end = start + UInt64(length)
        // A correct peer never writes past what this side released.
        guard end - acknowledged <= UInt64(ring.capacity) else { throw .overrun }
        consumed = end
        return ring.offset(start)
    }

    /// Bytes taken but not yet released to the peer.
    public var unacknowledged: UInt64 { consumed - acknowledged }

    /// The release to send now (everything taken), and records it as sent.
    public mutating func acknowledge() -> UInt64 {
        acknowledged = consumed
        return consumed
    }
}

/// A message of the link: three words, the most a connection's message carries.
public enum FrameLinkMessage: Equatable, Sendable {
    /// Up to `FrameLinkMessage.framesPerMessage` frames, in order, by their lengths.
    case frames(FrameBatch)
    /// The sender may reuse its ring up to this position.
    case release(UInt64)
    /// The peer is done with the link (and with its program).
    case close

    static let framesKind: UInt64 = 1
    static let releaseKind: UInt64 = 2
    static let closeKind: UInt64 = 3
    /// Four 16-bit lengths in each of words 1 and 2.
    public static let framesPerMessage = 8

    public var words: [UInt64] {
        switch self {
        case .frames(let batch):
            return [Self.framesKind | UInt64(batch.count) << 8, batch.packed.0, batch.packed.1]
        case .release(let position):
            return [Self.releaseKind, position, 0]
        case .close:
            return [Self.closeKind, 0, 0]
        }
    }

    /// Reads a message the peer sent: anything a correct peer does not send is an error.
    public init(words: [UInt64]) throws(FrameLinkError) {
        guard words.count == 3 else { throw .malformed }
        switch words[0] & 0xFF {
        case Self.framesKind:
            let count = Int(words[0] >> 8)
            guard count >= 1, count <= Self.framesPerMessage else { throw .malformed }
            let batch = FrameBatch(count: count, packed: (words[1], words[2]))
            // The lengths past `count` must be zero, and every one within bounds.
            for index in count..<Self.framesPerMessage where batch.rawLength(at: index) != 0 { throw .malformed }
            for index in 0..<count {
                let length = batch.rawLength(at: index)
                guard length > 0, length <= FrameRing.maximumFrame else { throw .badLength }
            }
            self = .frames(batch)
        case Self.releaseKind:
            guard words[0] >> 8 == 0, words[2] == 0 else { throw .malformed }
            self = .release(words[1])
        case Self.closeKind:
            guard words[0] >> 8 == 0, words[1] == 0, words[2] == 0 else { throw .malformed }
            self = .close
        default:
            throw .malformed
        }
    }
}

/// The lengths of up to eight frames, packed 16 bits each.
public struct FrameBatch: Equatable, Sendable {
    public private(set) var count: Int
    var packed: (UInt64, UInt64)

    init(count: Int, packed: (UInt64, UInt64)) {
        self.count = count
        self.packed = packed
    }

    public init() { self.init(count: 0, packed: (0, 0)) }

    public var isFull: Bool { count == FrameLinkMessage.framesPerMessage }
    public var isEmpty: Bool { count == 0 }

    /// Adds a frame's length (1…maximumFrame) if the batch is not full.
    public mutating func append(_ length: Int) {
        precondition(!isFull && length > 0 && length <= FrameRing.maximumFrame)
        let shift = UInt64(16 * (count % 4))
        if count < 4 { packed.0 |= UInt64(length) << shift } else { packed.1 |= UInt64(length) << shift }
        count += 1
    }

    func rawLength(at index: Int) -> Int {
        let word = index < 4 ? packed.0 : packed.1
        return Int(truncatingIfNeeded: (word >> UInt64(16 * (index % 4))) & 0xFFFF)
    }

    /// The length of frame `index` (below `count`).
    public func length(at index: Int) -> Int { rawLength(at: index) }

    public static func == (a: FrameBatch, b: FrameBatch) -> Bool {
        a.count == b.count && a.packed.0 == b.packed.0 && a.packed.1 == b.packed.1
    }
}
