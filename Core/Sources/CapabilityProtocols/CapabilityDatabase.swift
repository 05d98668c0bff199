// The local capability database the protocols act on: the few things a monitor must be
// able to ask of, and do to, its own core's capabilities. In the guest the monitor backs
// it with invocations on its kernel capability (User/Sources/monitor/
// KernelCapabilityDatabase.swift); on the host `ModelCapabilityDatabase` stands in for
// the kernel.
//
// The database knows records (one per capability slot: which object, which domain holds
// it, whether it is mapped) and nothing about other cores. Who owns an object, which
// other cores hold copies, locks and the protocols' progress are the state machine's
// own (`CapabilityMonitor`), kept beside the database, so the kernel's side stays the
// per-core database it already is.
import Basics

/// One local capability slot, as the monitor names it to the kernel.
public struct RecordID: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// A capability on this core: the object it names and the domain whose CSpace holds it.
public struct LocalRecord: Hashable, Sendable {
    public var id: RecordID
    public var object: CapabilityObject
    /// The holding domain's number on this core.
    public var holder: UInt32
    /// Whether a page table of the holder maps it (frames and device frames only).
    public var mapped: Bool

    public init(id: RecordID, object: CapabilityObject, holder: UInt32, mapped: Bool = false) {
        self.id = id
        self.object = object
        self.holder = holder
        self.mapped = mapped
    }
}

/// What `CapabilityMonitor` needs from its core's capability database. Every call is
/// local and finishes at once (a kernel invocation); none may fail halfway.
public protocol CapabilityDatabase {
    /// The record, or nil if the slot is empty.
    func record(_ id: RecordID) -> LocalRecord?
    /// The records naming `object` or one of its descendants (what a revoke of `object`
    /// sweeps), in record order.
    func records(coveredBy object: CapabilityObject) -> [LocalRecord]
    /// The records held by `domain`, in record order.
    func records(heldBy domain: UInt32) -> [LocalRecord]
    /// Puts a capability to `object` into a free slot of `domain`; nil if the domain does
    /// not exist (any more) or has no free slot.
    mutating func install(_ object: CapabilityObject, for domain: UInt32) -> RecordID?
    /// Empties the slot, tearing down its mapping first.
    mutating func remove(_ id: RecordID)
    /// Maps the frame (or device frame) in its holder's address space; false if it is
    /// neither.
    mutating func map(_ id: RecordID) -> Bool
    /// A revoke's commit here: removes every record `object` covers but `keep`, and
    /// with them whatever this core holds of the object and its descendants outside
    /// the records (the guest's kernel copies). The default removes the records.
    mutating func sweep(_ object: CapabilityObject, keeping keep: RecordID?)
}

extension CapabilityDatabase {
    /// The records naming exactly `object`.
    public func copies(of object: CapabilityObject) -> [LocalRecord] {
        records(coveredBy: object).filter { $0.object == object }
    }

    public func holds(_ object: CapabilityObject) -> Bool { !copies(of: object).isEmpty }

    public mutating func sweep(_ object: CapabilityObject, keeping keep: RecordID?) {
        for record in records(coveredBy: object) where record.id != keep { remove(record.id) }
    }
}

/// The database as a plain value: records in slot order and the domains that exist. The
/// simulator gives every core one; a guest test could too.
public struct ModelCapabilityDatabase: CapabilityDatabase, Hashable, Sendable {
    public private(set) var records: [LocalRecord] = []
    /// The domains that may receive capabilities, sorted.
    public private(set) var domains: [UInt32]
    public let capacity: Int
    var nextRecord = RecordID(1)
    /// When each record was installed, in the driver's steps (`now` at the time): lets
    /// the simulator tell a record that outlived a revoke from one made after it.
    public private(set) var installedAt: [UInt64] = []
    public var now: UInt64 = 0

    public init(domains: [UInt32], capacity: Int = 256) {
        self.domains = domains.sorted()
        self.capacity = capacity
    }

    public func record(_ id: RecordID) -> LocalRecord? {
        index(of: id).map { records[$0] }
    }

    public func records(coveredBy object: CapabilityObject) -> [LocalRecord] {
        records.filter { object.covers($0.object) }
    }

    public func records(heldBy domain: UInt32) -> [LocalRecord] { records.filter { $0.holder == domain } }

    public mutating func install(_ object: CapabilityObject, for domain: UInt32) -> RecordID? {
        guard domains.contains(domain), records.count < capacity else { return nil }
        let id = nextRecord
        nextRecord = RecordID(nextRecord.rawValue &+ 1)
        records.append(LocalRecord(id: id, object: object, holder: domain))
        installedAt.append(now)
        return id
    }

    public mutating func remove(_ id: RecordID) {
        guard let i = index(of: id) else { return }
        records.remove(at: i)
        installedAt.remove(at: i)
    }

    public mutating func map(_ id: RecordID) -> Bool {
        guard let i = index(of: id), records[i].object.kind == .frame || records[i].object.kind == .deviceFrame else { return false }
        records[i].mapped = true
        return true
    }

    /// When the record was installed.
    public func installed(_ id: RecordID) -> UInt64? { index(of: id).map { installedAt[$0] } }

    /// A domain comes into being (it may receive capabilities from now on).
    public mutating func addDomain(_ domain: UInt32) {
        if !domains.contains(domain) { domains.append(domain); domains.sort() }
    }

    /// A domain has ended: nothing more is installed for it. Its records are the
    /// monitor's to delete (`CapabilityMonitor.domainEnded`).
    public mutating func removeDomain(_ domain: UInt32) { domains.removeAll { $0 == domain } }

    /// Equal contents: the records, the domains and the next slot (not when records were
    /// installed).
    public static func == (a: Self, b: Self) -> Bool {
        a.records == b.records && a.domains == b.domains && a.nextRecord == b.nextRecord
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(records)
        hasher.combine(domains)
        hasher.combine(nextRecord)
    }

    func index(of id: RecordID) -> Int? {
        // Records are appended with rising ids, so the array stays sorted.
        var low = 0, high = records.count
        while low < high {
            let mid = (low + high) / 2
            if records[mid].id < id { low = mid + 1 } else { high = mid }
        }
        return low < records.count && records[low].id == id ? low : nil
    }
}
