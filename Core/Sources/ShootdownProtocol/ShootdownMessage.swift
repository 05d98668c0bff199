// The two messages of the shootdown protocol, declared once: `encode` and
// `init?(decoding:coreCount:)` are the two ends, both tested on the host. A message is
// one channel slot (seven payload words and a tag); a slot from another core is
// untrusted, so anything that does not decode to exactly what a correct monitor sends
// (unknown tag or kind, ticket 0, a core outside the system, an address space 0, a
// range that is not whole user pages, bits no field uses) is nil, and the monitor counts
// and drops it. Decoding is canonical: whatever decodes re-encodes to the same slot.
//
// Layouts (w0…w6 the payload words; the operation is its ticket in bits 0–31 of w0 and
// its root core in bits 32–39; a core set is one word, bit n for core n):
//
//   invalidate   w0 operation | kind << 40, w1 address space, w2 first page's address,
//                w3 page count, w4 participants
//   acknowledge  w0 operation, w1 stopped participants below the sender
import Basics
import CapabilityProtocols
import Channel
import PageTables

public enum ShootdownMessage: Hashable, Sendable {
    /// Down the tree: drop every translation of `change`; `participants` (the cores using
    /// the address space that the root knew to be running) fix the tree, so each core
    /// computes its parent and children from the message alone.
    case invalidate(ShootdownOperation, AddressSpaceChange, participants: CoreMask)
    /// Up the tree: the sender and every core below it have invalidated, except the
    /// `stopped` ones, which stopped before they could.
    case acknowledge(ShootdownOperation, stopped: CoreMask)

    /// 'T' (TLB) in the high byte: apart from the capability protocol's 'C', the
    /// monitors' 'M' and the kernels' small numbers.
    public enum Tag: UInt16, CaseIterable, Sendable {
        case invalidate = 0x5401, acknowledge
    }

    public var tag: Tag {
        switch self {
        case .invalidate: return .invalidate
        case .acknowledge: return .acknowledge
        }
    }

    public var operation: ShootdownOperation {
        switch self {
        case .invalidate(let operation, _, _), .acknowledge(let operation, _): return operation
        }
    }

    public func encode() -> ChannelMessage {
        var m = ChannelMessage(tag: tag.rawValue)
        m.words[0] = UInt64(operation.ticket) | UInt64(UInt8(truncatingIfNeeded: operation.root.rawValue)) << 32
        switch self {
        case .invalidate(_, let change, let participants):
            m.words[0] |= UInt64(change.kind.rawValue) << 40
            m.words[1] = UInt64(change.space.rawValue)
            m.words[2] = change.range.start.rawValue
            m.words[3] = change.range.pages
            m.words[4] = participants.rawValue
        case .acknowledge(_, let stopped):
            m.words[1] = stopped.rawValue
        }
        return m
    }

    /// The message in `message`, or nil if it is not one a correct monitor of a system
    /// of `coreCount` cores (at most 64) sends.
    public init?(decoding message: ChannelMessage, coreCount: Int) {
        guard let tag = Tag(rawValue: message.tag), coreCount >= 1, coreCount <= CoreMask.maximumCores else { return nil }
        let w = message.words
        func unused(from first: Int) -> Bool {
            for i in first..<ChannelMessage.wordCount where w[i] != 0 { return false }
            return true
        }
        func cores(_ i: Int) -> CoreMask? {
            w[i] & ~CoreMask.all(coreCount).rawValue == 0 ? CoreMask(rawValue: w[i]) : nil
        }
        let ticket = UInt32(truncatingIfNeeded: w[0])
        let root = (w[0] >> 32) & 0xFF
        guard ticket != 0, root < UInt64(coreCount) else { return nil }
        let operation = ShootdownOperation(root: CoreID(Int(root)), ticket: ticket)

        switch tag {
        case .invalidate:
            guard w[0] >> 48 == 0, let kind = ShootdownKind(rawValue: UInt8(truncatingIfNeeded: w[0] >> 40)),
                  w[1] >> 32 == 0, let participants = cores(4), unused(from: 5) else { return nil }
            let change = AddressSpaceChange(space: AddressSpaceID(UInt32(w[1])),
                                            range: VirtualRange(start: VirtualAddress(w[2]), pages: w[3]), kind: kind)
            guard change.isValid else { return nil }
            self = .invalidate(operation, change, participants: participants)
        case .acknowledge:
            guard w[0] >> 40 == 0, let stopped = cores(1), unused(from: 2) else { return nil }
            self = .acknowledge(operation, stopped: stopped)
        }
    }
}
