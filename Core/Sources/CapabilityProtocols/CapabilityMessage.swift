// The messages the capability protocols exchange between monitors, declared once:
// `encode` and `init?(decoding:coreCount:memoryLimit:)` are the two ends, both tested
// on the host. Like `MonitorMessage`, a message is one channel slot (seven payload
// words and a tag); a slot from another core is untrusted, so anything that does not
// decode to exactly what a correct monitor sends (unknown tag or kind, an object not
// valid for its kind: memory not page-aligned or beyond memory, a device frame that
// names RAM, ports past 65,535, interrupts past their space; a core outside the
// system, bits no field uses)
// is nil, and the monitor counts and drops it. Decoding is canonical: whatever decodes
// re-encodes to the same slot.
//
// Layouts (w0…w6 the payload words; "object" is the object's kind in bits 32–39 of w0,
// its base in w1 and its size in w2; a ticket is bits 0–31 of w0; a revoke's root core
// is bits 40–47 of w0; a core set is one word, bit n for core n):
//
//   copyRequest     w0 ticket | object, w1–w2 object, w3 target core | target domain << 32
//   copyDeliver     w0 ticket | object, w1–w2 object, w3 epoch | domain << 32
//   copyInstalled   w0 ticket, w1 status
//   copyDeleted     w0 object, w1–w2 object
//   retypeRequest   w0 ticket | object, w1–w2 object, w3 count
//   retypeDone      w0 ticket, w1 status
//   revokeRequest   w0 ticket | object, w1–w2 object, w3 record to keep
//   revokeMark      w0 ticket | object | root, w1–w2 object, w3 targets
//   revokeReady     w0 ticket | root
//   revokeCommit    w0 ticket | object | root, w1–w2 object, w3 targets,
//                   w4 record to keep | (its core + 1) << 32 (0: keep none)
//   revokeDone      w0 ticket | root
//   moveOwnership   w0 ticket | object, w1–w2 object, w3 copies, w4 descendants, w5 epoch
//   moveAnswer      w0 ticket, w1 1 if accepted, 0 if not
//   ownerChanged    w0 epoch | object, w1–w2 object
//   requestAnswer   w0 ticket, w1 status, w2 epoch the asker now owns the object at (or 0)
import Basics
import Channel

public enum CapabilityMessage: Equatable, Sendable {
    /// To the owner, from a holder: copy the object to `domain` on core `to`.
    case copyRequest(CapabilityTicket, CapabilityObject, to: CoreID, domain: UInt32)
    /// From the owner (the sender), which has recorded the receiver as a holder: install
    /// a copy for `domain`; the owner's epoch comes along.
    case copyDeliver(CapabilityTicket, CapabilityObject, epoch: OwnershipEpoch, domain: UInt32)
    /// To the owner: the copy is installed (`done`) or could not be (`noRoom`).
    case copyInstalled(CapabilityTicket, CapabilityStatus)
    /// To the owner, from a core whose last record of the object went: it holds no copy.
    case copyDeleted(CapabilityObject)
    /// To the owner, from a holder: may it retype its copy into `count` frames?
    case retypeRequest(CapabilityTicket, CapabilityObject, count: Int)
    /// To the owner, after a granted retype: the frames exist (`done`) or the record
    /// had gone (`noSuchCapability`).
    case retypeDone(CapabilityTicket, CapabilityStatus)
    /// To the owner, from a holder: revoke the object, keeping the asker's `keep` record.
    case revokeRequest(CapabilityTicket, CapabilityObject, keep: RecordID)
    /// Down the revoke's tree: mark every record the object covers; `targets` are the
    /// cores taking part, from which each core computes its children.
    case revokeMark(CapabilityTicket, CapabilityObject, root: CoreID, targets: CoreMask)
    /// Up the tree: this core and every core below it have marked and nothing they own
    /// that is marked has an operation in flight.
    case revokeReady(CapabilityTicket, root: CoreID)
    /// Down the tree: delete every record the object covers, except `keep` on `keepCore`.
    case revokeCommit(CapabilityTicket, CapabilityObject, root: CoreID, targets: CoreMask, keepCore: CoreID?, keep: RecordID)
    /// Up the tree: this core and every core below it have deleted.
    case revokeDone(CapabilityTicket, root: CoreID)
    /// From the owner deleting its last copy: become the owner at `epoch`, with these
    /// other holders and cores that retyped the object.
    case moveOwnership(CapabilityTicket, CapabilityObject, copies: CoreMask, descendants: CoreMask, epoch: OwnershipEpoch)
    /// To the old owner: accepted, or refused because the receiver holds no copy.
    case moveAnswer(CapabilityTicket, accepted: Bool)
    /// From the new owner (the sender) to every holder.
    case ownerChanged(CapabilityObject, epoch: OwnershipEpoch)
    /// The owner's answer to a copy, retype or revoke request. For a revoke, a non-zero
    /// epoch hands the object's ownership to the asker (it keeps the last copy).
    case requestAnswer(CapabilityTicket, CapabilityStatus, epoch: OwnershipEpoch?)

    /// 'C' in the high byte: apart from the monitors' 'M' and the kernels' tags.
    public enum Tag: UInt16, CaseIterable, Sendable {
        case copyRequest = 0x4301, copyDeliver, copyInstalled, copyDeleted
        case retypeRequest, retypeDone, revokeRequest, revokeMark, revokeReady, revokeCommit, revokeDone
        case moveOwnership, moveAnswer, ownerChanged, requestAnswer
    }

    public var tag: Tag {
        switch self {
        case .copyRequest: return .copyRequest
        case .copyDeliver: return .copyDeliver
        case .copyInstalled: return .copyInstalled
        case .copyDeleted: return .copyDeleted
        case .retypeRequest: return .retypeRequest
        case .retypeDone: return .retypeDone
        case .revokeRequest: return .revokeRequest
        case .revokeMark: return .revokeMark
        case .revokeReady: return .revokeReady
        case .revokeCommit: return .revokeCommit
        case .revokeDone: return .revokeDone
        case .moveOwnership: return .moveOwnership
        case .moveAnswer: return .moveAnswer
        case .ownerChanged: return .ownerChanged
        case .requestAnswer: return .requestAnswer
        }
    }

    public func encode() -> ChannelMessage {
        var m = ChannelMessage(tag: tag.rawValue)
        func put(_ label: UInt64, _ object: CapabilityObject) {
            m.words[0] = label | UInt64(object.kind.rawValue) << 32
            m.words[1] = object.base
            m.words[2] = object.size
        }
        func ticket(_ t: CapabilityTicket) -> UInt64 { UInt64(t.rawValue) }
        func root(_ c: CoreID) -> UInt64 { UInt64(UInt8(truncatingIfNeeded: c.rawValue)) << 40 }
        switch self {
        case .copyRequest(let t, let object, let to, let domain):
            put(ticket(t), object)
            m.words[3] = UInt64(UInt32(truncatingIfNeeded: to.rawValue)) | UInt64(domain) << 32
        case .copyDeliver(let t, let object, let epoch, let domain):
            put(ticket(t), object)
            m.words[3] = UInt64(epoch.rawValue) | UInt64(domain) << 32
        case .copyInstalled(let t, let status), .retypeDone(let t, let status):
            m.words[0] = ticket(t)
            m.words[1] = UInt64(status.rawValue)
        case .copyDeleted(let object):
            put(0, object)
        case .retypeRequest(let t, let object, let count):
            put(ticket(t), object)
            m.words[3] = UInt64(UInt32(truncatingIfNeeded: count))
        case .revokeRequest(let t, let object, let keep):
            put(ticket(t), object)
            m.words[3] = UInt64(keep.rawValue)
        case .revokeMark(let t, let object, let r, let targets):
            put(ticket(t) | root(r), object)
            m.words[3] = targets.rawValue
        case .revokeReady(let t, let r), .revokeDone(let t, let r):
            m.words[0] = ticket(t) | root(r)
        case .revokeCommit(let t, let object, let r, let targets, let keepCore, let keep):
            put(ticket(t) | root(r), object)
            m.words[3] = targets.rawValue
            if let keepCore {
                m.words[4] = UInt64(keep.rawValue) | UInt64(UInt32(truncatingIfNeeded: keepCore.rawValue + 1)) << 32
            }
        case .moveOwnership(let t, let object, let copies, let descendants, let epoch):
            put(ticket(t), object)
            m.words[3] = copies.rawValue
            m.words[4] = descendants.rawValue
            m.words[5] = UInt64(epoch.rawValue)
        case .moveAnswer(let t, let accepted):
            m.words[0] = ticket(t)
            m.words[1] = accepted ? 1 : 0
        case .ownerChanged(let object, let epoch):
            put(UInt64(epoch.rawValue), object)
        case .requestAnswer(let t, let status, let epoch):
            m.words[0] = ticket(t)
            m.words[1] = UInt64(status.rawValue)
            m.words[2] = UInt64(epoch?.rawValue ?? 0)
        }
        return m
    }

    /// The message in `message`, or nil if it is not one a correct monitor of a system of
    /// `coreCount` cores (at most 64) with `memoryLimit` bytes of memory, RAM at `ram`
    /// (as far as the receiver knows), sends.
    public init?(decoding message: ChannelMessage, coreCount: Int, memoryLimit: UInt64, ram: [Range<UInt64>] = []) {
        guard let tag = Tag(rawValue: message.tag), coreCount >= 1, coreCount <= CoreMask.maximumCores else { return nil }
        let w = message.words
        func unused(from first: Int) -> Bool {
            for i in first..<ChannelMessage.wordCount where w[i] != 0 { return false }
            return true
        }
        let t = CapabilityTicket(UInt32(truncatingIfNeeded: w[0]))
        let everyCore = CoreMask.all(coreCount)
        /// The object in w0–w2, if valid; bits of w0 above the kind must be clear unless
        /// the message has a root there.
        func object(withRoot: Bool = false) -> CapabilityObject? {
            guard let kind = ObjectKind(rawValue: UInt8(truncatingIfNeeded: w[0] >> 32)),
                  w[0] >> (withRoot ? 48 : 40) == 0 else { return nil }
            let object = CapabilityObject(kind, base: w[1], size: w[2])
            return object.isValid(memoryLimit: memoryLimit, ram: ram) ? object : nil
        }
        func core(_ value: UInt64) -> CoreID? { value < UInt64(coreCount) ? CoreID(Int(value)) : nil }
        func rootCore() -> CoreID? { core((w[0] >> 40) & 0xFF) }
        func status(_ i: Int) -> CapabilityStatus? { w[i] > 0xFF ? nil : CapabilityStatus(rawValue: UInt8(w[i])) }
        func mask(_ i: Int) -> CoreMask? { w[i] & ~everyCore.rawValue == 0 ? CoreMask(rawValue: w[i]) : nil }
        let ticketOnly = w[0] >> 32 == 0
        /// Ready and done carry the ticket and the root, nothing else in w0.
        let ticketAndRoot = w[0] >> 48 == 0 && (w[0] >> 32) & 0xFF == 0

        switch tag {
        case .copyRequest:
            guard let o = object(), let to = core(w[3] & 0xFFFF_FFFF), unused(from: 4) else { return nil }
            self = .copyRequest(t, o, to: to, domain: UInt32(w[3] >> 32))
        case .copyDeliver:
            let epoch = OwnershipEpoch(UInt32(truncatingIfNeeded: w[3]))
            guard let o = object(), epoch.rawValue != 0, unused(from: 4) else { return nil }
            self = .copyDeliver(t, o, epoch: epoch, domain: UInt32(w[3] >> 32))
        case .copyInstalled, .retypeDone:
            guard ticketOnly, let s = status(1), s != .notOwner, unused(from: 2) else { return nil }
            self = tag == .copyInstalled ? .copyInstalled(t, s) : .retypeDone(t, s)
        case .copyDeleted:
            guard w[0] & 0xFFFF_FFFF == 0, let o = object(), unused(from: 3) else { return nil }
            self = .copyDeleted(o)
        case .retypeRequest:
            guard let o = object(), w[3] >= 1, w[3] <= UInt64(CapabilityObject.maximumRetypeCount), unused(from: 4) else { return nil }
            self = .retypeRequest(t, o, count: Int(w[3]))
        case .revokeRequest:
            guard let o = object(), w[3] >> 32 == 0, unused(from: 4) else { return nil }
            self = .revokeRequest(t, o, keep: RecordID(UInt32(w[3])))
        case .revokeMark:
            guard let o = object(withRoot: true), let r = rootCore(), let targets = mask(3), unused(from: 4) else { return nil }
            self = .revokeMark(t, o, root: r, targets: targets)
        case .revokeReady, .revokeDone:
            guard ticketAndRoot, let r = rootCore(), unused(from: 1) else { return nil }
            self = tag == .revokeReady ? .revokeReady(t, root: r) : .revokeDone(t, root: r)
        case .revokeCommit:
            guard let o = object(withRoot: true), let r = rootCore(), let targets = mask(3), unused(from: 5) else { return nil }
            let keepField = w[4] >> 32
            if keepField == 0 {
                guard w[4] == 0 else { return nil }
                self = .revokeCommit(t, o, root: r, targets: targets, keepCore: nil, keep: RecordID(0))
            } else {
                guard let keepCore = core(keepField - 1) else { return nil }
                self = .revokeCommit(t, o, root: r, targets: targets, keepCore: keepCore, keep: RecordID(UInt32(truncatingIfNeeded: w[4])))
            }
        case .moveOwnership:
            let epoch = OwnershipEpoch(UInt32(truncatingIfNeeded: w[5]))
            guard let o = object(), let copies = mask(3), let descendants = mask(4), w[5] >> 32 == 0, epoch.rawValue != 0,
                  unused(from: 6) else { return nil }
            self = .moveOwnership(t, o, copies: copies, descendants: descendants, epoch: epoch)
        case .moveAnswer:
            guard ticketOnly, w[1] <= 1, unused(from: 2) else { return nil }
            self = .moveAnswer(t, accepted: w[1] == 1)
        case .ownerChanged:
            let epoch = OwnershipEpoch(UInt32(truncatingIfNeeded: w[0]))
            guard epoch.rawValue != 0, let o = object(), unused(from: 3) else { return nil }
            self = .ownerChanged(o, epoch: epoch)
        case .requestAnswer:
            guard ticketOnly, let s = status(1), w[2] >> 32 == 0, unused(from: 3) else { return nil }
            self = .requestAnswer(t, s, epoch: w[2] == 0 ? nil : OwnershipEpoch(UInt32(w[2])))
        }
    }
}
