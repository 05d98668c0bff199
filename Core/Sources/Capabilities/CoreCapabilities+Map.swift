// Mapping: page-table capabilities as the only way to build an address space, with
// Barrelfish's mapping records (a capability copy records the table and entry where it
// is mapped).
//
// `map` is an invocation on a translation table's capability: put `source` into entry
// `entry`. At the page-table level the source is a 4 KiB Frame or device frame; above
// it, the next-lower table (PT into a page directory, PD into a PDPT, PDPT into the
// PML4). The record lives on the source's capability copy (`CapabilityNode.mapping`)
// and, for the reverse direction, in the table's sorted list of occupied entries
// (`CoreCapabilities.mappedEntries`). One copy is mapped at most once; map another copy to map
// the same memory twice. Deleting the copy, revoking it away or the death of its
// CNode removes the mapping (see `removeNode`); when a table dies, what it mapped is
// simply forgotten (see `drain`).
//
// Checks, in order (the first that fails is the error; nothing changes on a refusal):
//
//  1. the table address resolves and holds a capability (invalidRoot, invalidSlot,
//     notACNode, slotEmpty), of a table type (wrongType) with the write right
//     (insufficientRights);
//  2. the entry exists (entryOutOfRange: 512 entries per table) and is not reserved
//     (entryReserved: the PML4's slot 0 is the kernel's, 256…511 are the upper half);
//  3. map: the entry is empty (entryOccupied); unmap: it is not (entryEmpty);
//  4. map: the source resolves and holds a capability (the resolution errors), whose
//     type fits the table's level (wrongType), a frame is exactly one page
//     (pageSizeMismatch), its capability holds read and every right asked for
//     (insufficientRights: write to map writable, execute to map executable), and
//     this copy is not mapped already (alreadyMapped).
//
// Cost: O(log 512) to find the entry plus O(entries) to insert or remove it; the TLB
// question of a removal is bounded (`reach`).

/// Where one capability copy is mapped (internal form: record indexes).
struct Mapping: Equatable {
    var table: Int
    var entry: Int
}

/// One occupied entry of a table: the capability mapped there.
struct MappedEntry: Equatable {
    var entry: Int
    var node: Int
}

/// Where a capability copy is mapped, as `mapping(at:in:)` reports it.
public struct MappingRecord: Hashable, Sendable {
    public var table: ObjectID
    /// The table's physical base (tables are 4 KiB of RAM, so live tables' bases differ).
    public var tableBase: UInt64
    public var entry: Int
}

struct MapPlan {
    var table: Int
    var level: Int
    var entry: Int
    var sourceNode: Int
    var mapped: MappedObject
}

extension CoreCapabilities {
    /// Entries per translation table.
    public static let tableEntries = 512

    /// Whether user mappings may never use this entry of a table at `level`: in the PML4,
    /// slot 0 (the kernel's shared identity map) and the upper half.
    public static func isReserved(entry: Int, level: Int) -> Bool {
        level == 4 && (entry == 0 || entry >= tableEntries / 2)
    }

    /// Maps the capability at `source` into entry `entry` of the table at `table`, with
    /// `rights` (read is implied; ignored when the source is a table). O(entries).
    public mutating func map(_ source: CapabilityAddress, into table: CapabilityAddress, entry: UInt64,
                             rights: CapabilityRights, in cspace: CSpace) throws(CapabilityError) {
        try map(source, in: cspace, into: table, in: cspace, entry: entry, rights: rights)
    }

    /// The same with the source in another CSpace of this core: how the kernel maps a
    /// page into a domain's table from a capability the domain cannot name (a program's
    /// shared read-only page), so that the domain cannot unmap, delete or revoke it.
    public mutating func map(_ source: CapabilityAddress, in sourceSpace: CSpace, into table: CapabilityAddress,
                             in tableSpace: CSpace, entry: UInt64, rights: CapabilityRights) throws(CapabilityError) {
        let plan = try decodeMap(source, in: sourceSpace, into: table, in: tableSpace, entry: entry, rights: rights)
        let position = mappedPosition(in: plan.table, entry: plan.entry).index
        mappedEntries[plan.table].insert(MappedEntry(entry: plan.entry, node: plan.sourceNode), at: position)
        nodes[plan.sourceNode].mapping = Mapping(table: plan.table, entry: plan.entry)
        effects.append(.install(TableEntry(table: objects[plan.table].base, level: plan.level, entry: plan.entry),
                                plan.mapped))
    }

    /// Clears entry `entry` of the table at `table`: the capability mapped there stays,
    /// unmapped. O(entries).
    public mutating func unmap(entry: UInt64, from table: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) {
        let (object, level) = try decodeTable(table, in: cspace)
        let index = try checkEntry(entry, level: level)
        let position = mappedPosition(in: object, entry: index)
        guard position.found else { throw .entryEmpty }
        removeMapping(of: mappedEntries[object][position.index].node)
    }

    /// Gives the page mapped at entry `entry` of the page table at `table` the rights
    /// `rights` (read is implied), in place: fewer (write taken away, the `mprotect`
    /// of docs/spanning.md) or more, up to its capability's. Errors: those of the table
    /// (wrongType for a table above a page table), entryOutOfRange, entryEmpty,
    /// insufficientRights. O(entries).
    public mutating func protect(entry: UInt64, in table: CapabilityAddress, rights: CapabilityRights,
                                 in cspace: CSpace) throws(CapabilityError) {
        let (object, level) = try decodeTable(table, in: cspace)
        guard level == 1 else { throw .wrongType(objects[object].type) }
        let index = try checkEntry(entry, level: level)
        let position = mappedPosition(in: object, entry: index)
        guard position.found else { throw .entryEmpty }
        let node = mappedEntries[object][position.index].node
        let wanted = rights.union(.read)
        guard nodes[node].rights.isSuperset(of: wanted) else { throw .insufficientRights }
        let page = objects[nodes[node].object]
        effects.append(.change(TableEntry(table: objects[object].base, level: level, entry: index),
                               .page(base: page.base, rights: wanted, isDevice: page.type == .deviceFrame),
                               invalidation(of: object, entry: index, level: level)))
    }

    /// Where the capability at `address` is mapped; nil if it is not. Errors: those of
    /// resolution, slotEmpty. O(1).
    public func mapping(at address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> MappingRecord? {
        let node = try occupiedNode(at: address, in: cspace)
        guard let mapping = nodes[node].mapping else { return nil }
        return MappingRecord(table: id(of: mapping.table), tableBase: objects[mapping.table].base, entry: mapping.entry)
    }

    // MARK: Decode

    func decodeMap(_ source: CapabilityAddress, in sourceSpace: CSpace, into table: CapabilityAddress, in tableSpace: CSpace,
                   entry: UInt64, rights: CapabilityRights) throws(CapabilityError) -> MapPlan {
        let (object, level) = try decodeTable(table, in: tableSpace)
        let index = try checkEntry(entry, level: level)
        guard !mappedPosition(in: object, entry: index).found else { throw .entryOccupied }
        let sourceNode = try occupiedNode(at: source, in: sourceSpace)
        let sourceRecord = objects[nodes[sourceNode].object]
        let mapped: MappedObject
        if level == 1 {
            guard sourceRecord.type.rules.mapping == .page else { throw .wrongType(sourceRecord.type) }
            guard sourceRecord.size == CapabilityType.pageBytes else { throw .pageSizeMismatch }
            let wanted = rights.union(.read)
            guard nodes[sourceNode].rights.isSuperset(of: wanted) else { throw .insufficientRights }
            mapped = .page(base: sourceRecord.base, rights: wanted, isDevice: sourceRecord.type == .deviceFrame)
        } else {
            guard sourceRecord.type.installsInto == objects[object].type else { throw .wrongType(sourceRecord.type) }
            mapped = .table(base: sourceRecord.base)
        }
        guard nodes[sourceNode].mapping == nil else { throw .alreadyMapped }
        return MapPlan(table: object, level: level, entry: index, sourceNode: sourceNode, mapped: mapped)
    }

    /// The table object and its level behind a capability with the write right.
    func decodeTable(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> (Int, Int) {
        let node = try occupiedNode(at: address, in: cspace)
        let object = nodes[node].object
        guard case .table(let level) = objects[object].type.rules.mapping else { throw .wrongType(objects[object].type) }
        guard nodes[node].rights.contains(.write) else { throw .insufficientRights }
        return (object, level)
    }

    func checkEntry(_ entry: UInt64, level: Int) throws(CapabilityError) -> Int {
        guard entry < UInt64(Self.tableEntries) else { throw .entryOutOfRange }
        guard !Self.isReserved(entry: Int(entry), level: level) else { throw .entryReserved }
        return Int(entry)
    }

    // MARK: Records

    /// Where `entry` is, or would go, in a table's sorted list of occupied entries.
    func mappedPosition(in table: Int, entry: Int) -> (index: Int, found: Bool) {
        let mapped = mappedEntries[table]
        var low = 0, high = mapped.count
        while low < high {
            let middle = (low + high) / 2
            if mapped[middle].entry < entry { low = middle + 1 } else { high = middle }
        }
        return (low, low < mapped.count && mapped[low].entry == entry)
    }

    /// Takes a mapped copy out of its table and tells the kernel to clear the entry.
    mutating func removeMapping(of node: Int) {
        guard let mapping = nodes[node].mapping else { return }
        let position = mappedPosition(in: mapping.table, entry: mapping.entry)
        mappedEntries[mapping.table].remove(at: position.index)
        nodes[node].mapping = nil
        guard case .table(let level) = objects[mapping.table].type.rules.mapping else { return }
        effects.append(.remove(TableEntry(table: objects[mapping.table].base, level: level, entry: mapping.entry),
                               invalidation(of: mapping.table, entry: mapping.entry, level: level)))
    }

    /// What the TLB may hold of entry `entry` of `table` (at `level`) once it changes.
    func invalidation(of table: Int, entry: Int, level: Int) -> TLBInvalidation {
        var budget = Self.reachBudget
        switch reach(of: table, budget: &budget) {
        case .unreachable: return .none
        case .aliased: return .everything
        case .at(let base): return level == 1 ? .page(base + UInt64(entry) << 12) : .everything
        }
    }

    /// How many mapped copies `reach` may look at before it gives up and answers
    /// `aliased` (which only costs a full TLB flush): bounds the work of one removal.
    static let reachBudget = 64

    enum Reach: Equatable {
        case unreachable
        /// Reachable along one path; the virtual address the table's entry 0 translates.
        case at(UInt64)
        case aliased
    }

    /// Whether a PML4 reaches a table, along how many paths, and at which address.
    /// At most three levels deep, and at most `budget` mapped copies looked at.
    func reach(of table: Int, budget: inout Int) -> Reach {
        guard case .table(let level) = objects[table].type.rules.mapping else { return .unreachable }
        if level == 4 { return .at(0) }
        var found = Reach.unreachable
        var copy = objects[table].firstCopy
        while let node = copy {
            copy = nodes[node].nextCopy
            guard let mapping = nodes[node].mapping else { continue }
            budget -= 1
            guard budget >= 0 else { return .aliased }
            switch reach(of: mapping.table, budget: &budget) {
            case .unreachable: continue
            case .aliased: return .aliased
            case .at(let base):
                if found != .unreachable { return .aliased }
                found = .at(base + UInt64(mapping.entry) << UInt64(12 + 9 * level))
            }
        }
        return found
    }
}
