// A unidirectional ring of cache-line message slots in memory shared by exactly two
// cores: one sender, one receiver.
//
// Layout of the shared region (`Ring.bytes(slots:)` bytes, 64-byte aligned):
//   line 0        the receiver's acknowledgement: how many messages it has consumed.
//                 Written only by the receiver.
//   lines 1...n   message slots, seven payload words then the header word.
//                 Written only by the sender.
// Each cache line has exactly one writer, so lines move between the two caches but
// are never written by both (the multikernel's rule for shared memory).
//
// Validity without a "used" bit: the sender numbers messages 1, 2, 3… and a slot holds
// message s when its header's sequence equals s. The receiver knows which sequence it
// expects next, so it never needs to clear a slot. A header that is neither the
// expected sequence nor the slot's previous contents (zero on the first lap, the
// message a lap behind after that) cannot come from a correct sender: the receiver
// reports the channel corrupt. Likewise an acknowledgement that goes backwards or
// claims more than was sent cannot come from a correct receiver.
//
// Flow control is by credit: the sender may have at most `slots` unacknowledged
// messages, so it never overwrites a slot the receiver has not consumed. The receiver
// publishes its count every `slots / 2` messages (and when asked), which keeps the
// acknowledgement line from bouncing on every message. That cannot deadlock: a sender
// blocks only with `slots` messages outstanding, and the receiver publishes before it
// has consumed half of them.
//
// Memory ordering: the sender stores the payload words, then the header with release
// ordering; the receiver loads the header with acquire ordering, then the payload. On
// x86-64 (TSO) both are plain moves, and release/acquire only stop the compiler from
// reordering; on weaker machines they are the needed barriers. The receiver publishes
// its count with release ordering after it has read the payload, and the sender loads
// it with acquire before reusing a slot, so a slot is never overwritten while read.
import Basics
import Synchronization

public enum ChannelError: Error, Equatable {
    /// A slot header that a correct sender cannot have written.
    case corruptSlot(sequence: UInt32, expected: UInt32)
    /// The receiver's acknowledgement claims more than was sent.
    case corruptAcknowledgement(acknowledged: UInt64, sent: UInt64)
}

public enum Ring {
    public static let lineSize = 64
    public static func bytes(slots: Int) -> Int { (slots + 1) * lineSize }
    public static func slots(inBytes bytes: Int) -> Int { bytes / lineSize - 1 }
}

@inline(__always)
func atomicWord(_ base: UnsafeMutableRawPointer, line: Int, word: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
    (base + line * Ring.lineSize + word * 8).assumingMemoryBound(to: Atomic<UInt64>.self)
}

/// The sending end. Its state lives in the sending core's own memory.
public struct RingSender {
    let region: UnsafeMutableRawPointer
    public let slots: Int
    /// Messages sent so far (the last sequence number used).
    public private(set) var sent: UInt64 = 0
    /// The receiver's count as last read.
    var acknowledged: UInt64 = 0
    /// The line message `sent + 1` goes to. Kept rather than computed from `sent`: a
    /// division by `slots` sits on the critical path of every round trip otherwise.
    var nextLine = 1

    /// `region` must be `Ring.bytes(slots:)` bytes, 64-byte aligned and zeroed before
    /// either side uses it; `slots` at least 2.
    public init(region: UnsafeMutableRawPointer, slots: Int) {
        precondition(slots >= 2 && Int(bitPattern: region) % Ring.lineSize == 0)
        self.region = region
        self.slots = slots
    }

    /// Messages that can be sent before the receiver must acknowledge more, as far as
    /// the sender last looked (`send` looks again when this reaches zero).
    public var credit: Int { slots - Int(sent - acknowledged) }

    /// Sends `message`, or returns false without writing anything if the ring is full.
    public mutating func send(_ message: ChannelMessage) throws(ChannelError) -> Bool {
        if sent - acknowledged >= UInt64(slots) {
            let published = atomicWord(region, line: 0, word: 0).pointee.load(ordering: .acquiring)
            // A correct receiver's count only grows, and never past what was sent.
            guard published <= sent, published >= acknowledged else {
                throw .corruptAcknowledgement(acknowledged: published, sent: sent)
            }
            acknowledged = published
            if sent - acknowledged >= UInt64(slots) { return false }
        }
        let sequence = sent + 1
        let line = nextLine
        for i in 0..<ChannelMessage.wordCount {
            atomicWord(region, line: line, word: i).pointee.store(message.words[i], ordering: .relaxed)
        }
        let header = SlotHeader(sequence: UInt32(truncatingIfNeeded: sequence), tag: message.tag)
        atomicWord(region, line: line, word: 7).pointee.store(header.rawValue, ordering: .releasing)
        sent = sequence
        nextLine = line == slots ? 1 : line + 1
        return true
    }
}

/// The receiving end. Its state lives in the receiving core's own memory.
public struct RingReceiver {
    let region: UnsafeMutableRawPointer
    public let slots: Int
    /// Messages consumed so far.
    public private(set) var received: UInt64 = 0
    var published: UInt64 = 0
    /// The line message `received + 1` arrives in (see `RingSender.nextLine`).
    var nextLine = 1

    public init(region: UnsafeMutableRawPointer, slots: Int) {
        precondition(slots >= 2 && Int(bitPattern: region) % Ring.lineSize == 0)
        self.region = region
        self.slots = slots
    }

    /// The next message if one has arrived, nil if the ring is empty.
    public mutating func receive() throws(ChannelError) -> ChannelMessage? {
        let expected = received + 1
        let line = nextLine
        let header = SlotHeader(rawValue: atomicWord(region, line: line, word: 7).pointee.load(ordering: .acquiring))
        let want = UInt32(truncatingIfNeeded: expected)
        if header.sequence != want || !header.reservedBitsAreClear {
            // Empty: on the first lap the slot was never written, so it is all zero (a
            // tag without a sequence is no message a sender wrote); after that it holds
            // the previous lap's message. Checked only when nothing is delivered, so the
            // delivery path costs no more.
            let isEmpty = expected <= UInt64(slots)
                ? header.rawValue == 0
                : header.sequence == UInt32(truncatingIfNeeded: expected - UInt64(slots)) && header.reservedBitsAreClear
            if isEmpty { return nil }
            throw .corruptSlot(sequence: header.sequence, expected: want)
        }
        var message = ChannelMessage(tag: header.tag)
        for i in 0..<ChannelMessage.wordCount {
            message.words[i] = atomicWord(region, line: line, word: i).pointee.load(ordering: .relaxed)
        }
        received = expected
        nextLine = line == slots ? 1 : line + 1
        if received - published >= UInt64(slots / 2) { publish() }
        return message
    }

    /// Whether the next message has arrived, consuming nothing (a slot a correct sender
    /// cannot have written says no here; `receive` reports it).
    public func hasMessage() -> Bool {
        let header = SlotHeader(rawValue: atomicWord(region, line: nextLine, word: 7).pointee.load(ordering: .acquiring))
        return header.sequence == UInt32(truncatingIfNeeded: received + 1) && header.reservedBitsAreClear
    }

    /// Tells the sender about every message consumed so far.
    public mutating func publish() {
        guard published != received else { return }
        atomicWord(region, line: 0, word: 0).pointee.store(received, ordering: .releasing)
        published = received
    }
}
