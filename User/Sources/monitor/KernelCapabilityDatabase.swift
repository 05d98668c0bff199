// The capability protocols' view of this core's capabilities (`CapabilityDatabase` in
// Core/Sources/CapabilityProtocols), backed by the kernel: a record is an *anchor*, a
// capability the monitor keeps in a CNode of its own (root slot 13, 1,023 slots and a
// scratch one, in memory the kernel grants for it) on behalf of one
// domain (or of the memory service), naming an object whose copies may be on other
// cores. The domain works with its own kernel copies of the anchor; the anchor is what
// keeps the object alive on this core while the protocols count this core as a holder,
// so a domain that deletes its copies, or ends, cannot free memory other cores still
// use.
//
// The calls are invocations on the kernel capability (docs/capabilities.md): `adopt`
// makes an anchor for an object another core named (a copy if this core has it),
// `retypeShared` a frame out of RAM this core holds, `sweep` removes every other copy
// of an anchor's object and everything made from it, with their mappings, `describe`
// names a capability's object. What the kernel removes by a sweep (other anchors
// among them) drops out of the records at once.
import Basics
import CapabilityProtocols
import SwordfishUser

struct KernelCapabilityDatabase: CapabilityDatabase {

    static let root: UInt32 = 13
    static let slotCount: UInt32 = 1024
    /// The holder of the memory service's own records (never a domain's number).
    static let service: UInt32 = .max

    let kernel: Capability
    /// Whether a domain of this core may receive a capability (it runs).
    let domainExists: (UInt32) -> Bool
    /// Every record, by id (its slot).
    private(set) var all: [LocalRecord] = []
    private var freeSlots: [UInt32] = Array((1..<slotCount).reversed())
    /// Records installed since the driver last took them: copies that came for a domain
    /// and frames a retype made.
    var fresh: [RecordID] = []

    init(kernel: Capability, domainExists: @escaping (UInt32) -> Bool) {
        self.kernel = kernel
        self.domainExists = domainExists
    }

    static func anchor(_ id: RecordID) -> Capability { Capability(.leaf(root, id.rawValue)) }
    static let scratch = anchor(RecordID(0))

    func record(_ id: RecordID) -> LocalRecord? { all.first { $0.id == id } }
    func records(coveredBy object: CapabilityObject) -> [LocalRecord] { all.filter { object.covers($0.object) } }
    func records(heldBy domain: UInt32) -> [LocalRecord] { all.filter { $0.holder == domain } }
    /// `domain`'s record of exactly `object` (a domain holds at most one).
    func record(of object: CapabilityObject, heldBy domain: UInt32) -> RecordID? {
        all.first { $0.holder == domain && $0.object == object }?.id
    }

    mutating func install(_ object: CapabilityObject, for domain: UInt32) -> RecordID? {
        guard domain == Self.service || domainExists(domain) else { return nil }
        // A domain holds one record of an object however often it comes: each arrival
        // hands it another kernel copy of the same anchor.
        if domain != Self.service, let held = record(of: object, heldBy: domain) {
            fresh.append(held)
            return held
        }
        guard let slot = freeSlots.popLast() else { return nil }
        let id = RecordID(slot)
        // A copy of what lives here, or a new root for another core's memory; failing
        // that, a frame out of RAM held here (a retype's pieces come in address order).
        var made = invoke(.adopt, UInt64(Self.type(of: object).rawValue), object.base, object.size, Self.anchor(id).address.encoded)
        if made != .success, object.kind == .frame,
           let parent = all.first(where: { $0.object.isAncestor(of: object) }) {
            made = invoke(.retypeShared, Self.anchor(parent.id).address.encoded, object.size,
                          object.base - parent.object.base, Self.anchor(id).address.encoded)
        }
        guard made == .success else {
            freeSlots.append(slot)
            return nil
        }
        all.append(LocalRecord(id: id, object: object, holder: domain))
        fresh.append(id)
        return id
    }

    /// `count` consecutive free slots, lowest first, for capabilities the monitor makes
    /// itself (`made` then records each); nil if there are not so many in a row.
    mutating func reserve(_ count: Int) -> [RecordID]? {
        let sorted = freeSlots.sorted()
        guard let start = sorted.indices.first(where: { $0 + count <= sorted.count && sorted[$0 + count - 1] == sorted[$0] + UInt32(count - 1) })
        else { return nil }
        let taken = Array(sorted[start ..< start + count])
        freeSlots.removeAll { taken.contains($0) }
        return taken.map { RecordID($0) }
    }

    /// Records `object`, which the monitor made in the reserved slot `id`, for `holder`.
    mutating func made(_ object: CapabilityObject, in id: RecordID, for holder: UInt32) {
        all.append(LocalRecord(id: id, object: object, holder: holder))
    }

    mutating func remove(_ id: RecordID) {
        guard let removed = record(id) else { return }
        // The last record of the object (and of anything under it): whatever else this
        // core still holds of it goes too, so nothing outlives this core leaving the
        // holders (a copy a domain passed to another on this core, say).
        if !all.contains(where: { $0.id != id && removed.object.covers($0.object) }) {
            _ = invoke(.sweep, Self.anchor(id).address.encoded)
        }
        _ = try? Self.anchor(id).delete()
        forgetVanished()
    }

    mutating func map(_ id: RecordID) -> Bool { false }            // domains map their own copies

    mutating func sweep(_ object: CapabilityObject, keeping keep: RecordID?) {
        if let keep {
            // Everything else of the object and under it goes with the kernel's revoke
            // of the kept anchor: other anchors, domains' copies, descendants.
            _ = invoke(.sweep, Self.anchor(keep).address.encoded)
        } else {
            for record in records(coveredBy: object) {
                _ = invoke(.sweep, Self.anchor(record.id).address.encoded)
                _ = try? Self.anchor(record.id).delete()
            }
            if invoke(.adopt, UInt64(Self.type(of: object).rawValue), object.base, object.size,
                      Self.scratch.address.encoded) == .success {
                // What no record names: copies this core's domains made among themselves.
                _ = invoke(.sweep, Self.scratch.address.encoded)
                _ = try? Self.scratch.delete()
            }
        }
        forgetVanished()
    }

    /// The object of the capability at `capability` (in the monitor's CSpace), if it is
    /// of a type the protocols carry.
    func object(of capability: Capability) -> CapabilityObject? {
        var words = [UInt64](repeating: 0, count: 3)
        let status = words.withUnsafeMutableBufferPointer { buffer in
            invoke(.describe, capability.address.encoded, UInt64(UInt(bitPattern: buffer.baseAddress)))
        }
        guard status == .success, let type = CapabilityType(rawValue: UInt8(truncatingIfNeeded: words[0])),
              let kind = Self.kind(of: type) else { return nil }
        return CapabilityObject(kind, base: words[1], size: words[2])
    }

    /// The protocols' kind of a capability type: RAM, frames, device frames, I/O port
    /// ranges and interrupt ranges are the objects they carry across cores.
    static func kind(of type: CapabilityType) -> ObjectKind? {
        switch type {
        case .physicalRAM: return .ram
        case .frame: return .frame
        case .deviceFrame: return .deviceFrame
        case .ioPortRange: return .ioPorts
        case .irq: return .interrupts
        default: return nil
        }
    }

    /// Marks the record's object shared, so domains here must ask the monitor to revoke
    /// or retype it; false if it has descendants the protocols do not know.
    func markShared(_ id: RecordID) -> Bool {
        invoke(.markShared, Self.anchor(id).address.encoded, 1) == .success
    }

    /// Clears the mark of a record that is its object's one capability again; the
    /// kernel's status.
    func unmarkShared(_ id: RecordID) -> InvocationStatus {
        invoke(.markShared, Self.anchor(id).address.encoded, 0)
    }

    /// Drops the records whose anchors a sweep removed.
    private mutating func forgetVanished() {
        all.removeAll { record in
            guard Self.anchor(record.id).type == .null else { return false }
            freeSlots.append(record.id.rawValue)
            return true
        }
        fresh.removeAll { id in !all.contains { $0.id == id } }
    }

    /// The capability type of a protocol object (the inverse of `kind(of:)`).
    static func type(of object: CapabilityObject) -> CapabilityType {
        switch object.kind {
        case .ram: return .physicalRAM
        case .frame: return .frame
        case .deviceFrame: return .deviceFrame
        case .ioPorts: return .ioPortRange
        case .interrupts: return .irq
        }
    }

    func invoke(_ operation: CapabilityOperation, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> InvocationStatus {
        InvocationStatus(rawValue: Capability.invokeRaw(kernel.address.encoded, operation.rawValue, a0, a1, a2, a3).status) ?? .unknownOperation
    }
}
