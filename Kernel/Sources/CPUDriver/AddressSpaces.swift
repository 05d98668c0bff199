// User address spaces, built and changed only through capabilities.
//
// The capability rules (Core/Sources/Capabilities: retype, map, unmap, delete, revoke)
// decide what every user page-table entry holds and queue it as `MemoryEffect`s; this
// file is the only code that carries them out on real tables. `applyMemoryEffects`
// runs before any user code runs again (`enter`) and before a domain's frames are
// freed (`reap`), so hardware never lags the records where it matters.
//
// TLB: a domain runs on one core, user pages are never global and there are no PCIDs,
// so a stale translation can only sit in this core's TLB for the address space in CR3
// (switching CR3 flushes the others). Removing a page's entry therefore needs one
// `invlpg` of its address here, and removing a table a full flush; when the address
// space being changed is not the one in CR3 (another domain's tables) these are
// merely harmless. Cross-core shootdown arrives with domains that span cores.
//
// Spawn builds a domain's address space the same way: a RAM block of its own, retyped
// into the PML4, the tables below it and the program's frames, mapped by map
// invocations, all in the domain's CSpace (see `AddressSpaceLayout`).
import Arch
import Basics
import ELF
import Capabilities

/// Where a domain's address space lives in its CSpace. The last root slot (63, out of
/// the way of the slots programs use) holds a CNode of its own (sized for the program),
/// whose slots hold, in order: the RAM block everything below was retyped from (only
/// while spawn builds; see below), the PML4, the dispatcher, then the tables and frames
/// spawn made, in the order it made them. The domain may map more with its own RAM (root
/// slot 1) and these tables. The only lasting capability to the RAM block is the kernel's,
/// in its keeper CNode: revoking it at the end tears down every table, frame and mapping
/// the domain had. The domain keeps no copy of the block, since revoking a copy would
/// remove the kernel's too, and the frames would be freed under capabilities that
/// outlive it elsewhere.
/// The slot numbers are the ABI's (`InitialSlot`), which user programs see too.
enum AddressSpaceLayout {
    static let cnodeSlot = InitialSlot.addressSpace
    /// The root slot the RAM block passes through while spawn sets up.
    static let setUpSlot = InitialSlot.setUp
    /// Leaf slots of that CNode.
    static let ram = InitialSlot.addressSpaceRAM
    static let pml4 = InitialSlot.pml4
    /// The domain's dispatcher object (Dispatcher.swift), not part of the address space
    /// but made from the same block.
    static let dispatcher = InitialSlot.dispatcherObject
    static let firstMade = InitialSlot.firstMade

    static func leaf(_ slot: UInt32) -> CapabilityAddress { .leaf(cnodeSlot, slot) }
}

/// Builds one address space through capability invocations on the domain's CSpace.
struct AddressSpaceBuilder {
    let cspace: CSpace
    var nextSlot = AddressSpaceLayout.firstMade
    /// Tables made so far: (level, the virtual address bits above what the table
    /// covers, its slot).
    var tables: [(level: Int, prefix: UInt64, slot: UInt32)] = []

    init(cspace: CSpace) { self.cspace = cspace }

    /// How many tables below the PML4 the given pages need (one per distinct PDPT, PD
    /// and PT prefix).
    static func tablesNeeded(for pages: [UInt64]) -> Int {
        var count = 0
        for shift: UInt64 in [39, 30, 21] {
            var prefixes: [UInt64] = []
            for page in pages where !prefixes.contains(page >> shift) { prefixes.append(page >> shift) }
            count += prefixes.count
        }
        return count
    }

    /// Retypes `count` objects of `type` from the address-space RAM into the next slots
    /// (one retype, one clear of them all). The first slot and the first object's base.
    mutating func make(_ type: CapabilityType, count: Int = 1, in state: CoreState) throws(CapabilityError) -> (slot: UInt32, base: UInt64) {
        let slot = nextSlot
        let made = try state.capabilities.retype(AddressSpaceLayout.leaf(AddressSpaceLayout.ram), to: type,
                                                 size: type == .frame ? CapabilityType.pageBytes : 0, count: count,
                                                 into: AddressSpaceLayout.leaf(slot), in: cspace)
        nextSlot += UInt32(count)
        state.applyMemoryEffects()
        return (slot, made.base)
    }

    /// The slot of the page table that maps `page`, making and mapping the tables on
    /// the way down from the PML4 as needed.
    mutating func pageTable(for page: UInt64, in state: CoreState) throws(CapabilityError) -> UInt32 {
        var parent = AddressSpaceLayout.pml4
        for level in [3, 2, 1] {
            let prefix = page >> UInt64(12 + 9 * level)
            if let found = tables.first(where: { $0.level == level && $0.prefix == prefix }) {
                parent = found.slot
                continue
            }
            let type: CapabilityType = level == 3 ? .pdpt : level == 2 ? .pageDirectory : .pageTable
            let slot = try make(type, in: state).slot
            try state.capabilities.map(AddressSpaceLayout.leaf(slot), into: AddressSpaceLayout.leaf(parent),
                                       entry: prefix & 511, rights: [], in: cspace)
            state.applyMemoryEffects()
            tables.append((level, prefix, slot))
            parent = slot
        }
        return parent
    }

    /// Maps the page capability at `source` in the kernel's CSpace `space` (a program's
    /// shared page, ProgramCache.swift) at `page` with `rights`.
    mutating func mapShared(_ source: CapabilityAddress, in space: CSpace, at page: UInt64, rights: CapabilityRights,
                            in state: CoreState) throws(CapabilityError) {
        let table = try pageTable(for: page, in: state)
        try state.capabilities.map(source, in: space, into: AddressSpaceLayout.leaf(table), in: cspace,
                                   entry: (page >> 12) & 511, rights: rights)
        state.applyMemoryEffects()
    }

    /// Makes one frame per page of `pages` (in one retype, after the tables they need),
    /// lets `fill` write each (given its index in `pages`), and maps it at its address
    /// with its rights. The first frame's slot (the others follow it), or nil when
    /// `fill` refused a page.
    mutating func mapPages(_ pages: [(address: UInt64, rights: CapabilityRights)], in state: CoreState,
                           fill: (Int, UnsafeMutableRawBufferPointer) -> Bool) throws(CapabilityError) -> UInt32? {
        var tables: [UInt32] = []
        for page in pages { tables.append(try pageTable(for: page.address, in: state)) }
        guard !pages.isEmpty else { return nextSlot }
        let (first, base) = try make(.frame, count: pages.count, in: state)
        for (index, page) in pages.enumerated() {
            let frame = first + UInt32(index)
            let memory = UnsafeMutableRawPointer(bitPattern: UInt(base + UInt64(index) * CapabilityType.pageBytes))
            guard fill(index, UnsafeMutableRawBufferPointer(start: memory, count: Int(CapabilityType.pageBytes))) else { return nil }
            try state.capabilities.map(AddressSpaceLayout.leaf(frame), into: AddressSpaceLayout.leaf(tables[index]),
                                       entry: (page.address >> 12) & 511, rights: page.rights, in: cspace)
        }
        state.applyMemoryEffects()
        return first
    }
}

extension CoreState {
    /// Carries out what the capability rules decided (see the top of this file). Inlined:
    /// every entry to user mode asks, and there is seldom anything to do.
    @inline(__always)
    func applyMemoryEffects() {
        if capabilities.hasEffects { applyEffects(capabilities.takeEffects()) }
    }

    /// Drops what this core's TLB may hold of an entry that changed.
    static func dropCached(_ invalidation: TLBInvalidation) {
        switch invalidation {
        case .none: break
        case .page(let address): UserPageTables.invalidate(page: address)
        case .everything: UserPageTables.invalidateAll()
        }
    }

    /// The hardware entry for what the rules put in a table.
    static func pageTableEntry(for object: MappedObject) -> UInt64 {
        switch object {
        case .page(let base, let rights, let isDevice):
            return UserPageTables.pageEntry(PhysicalAddress(base), writable: rights.contains(.write),
                                            executable: rights.contains(.execute), uncached: isDevice)
        case .table(let base):
            return UserPageTables.tableEntry(PhysicalAddress(base))
        }
    }

    func applyEffects(_ effects: [MemoryEffect]) {
        for effect in effects {
            switch effect {
            case .clear(let base, let size, let type):
                UnsafeMutableRawPointer(bitPattern: UInt(base))!.initializeMemory(as: UInt8.self, repeating: 0, count: Int(size))
                if type == .pml4 {
                    for root in stride(from: base, to: base + size, by: Int(CapabilityType.pageBytes)) {
                        UserPageTables.shareKernelSlot(into: PhysicalAddress(root))
                    }
                }
            case .install(let entry, let object):
                UserPageTables.store(Self.pageTableEntry(for: object), in: PhysicalAddress(entry.table), at: entry.entry)
            case .remove(let entry, let invalidation):
                UserPageTables.store(0, in: PhysicalAddress(entry.table), at: entry.entry)
                Self.dropCached(invalidation)
                droppedTranslations.record(invalidation)
            case .change(let entry, let object, let invalidation):
                UserPageTables.store(Self.pageTableEntry(for: object), in: PhysicalAddress(entry.table), at: entry.entry)
                Self.dropCached(invalidation)
                droppedTranslations.record(invalidation)
            }
        }
    }
}
