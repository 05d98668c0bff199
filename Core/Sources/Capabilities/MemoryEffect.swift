// What the capability rules ask the kernel to do to memory: the one place where this
// portable module and the hardware meet.
//
// The module decides; the kernel only executes. Every operation that gives memory a
// new type, maps something, or takes a mapping away (unmap, and every delete, revoke or
// death that removes a mapped copy) appends effects to a queue in `CoreCapabilities`,
// in the order they must happen. The kernel takes the queue with `takeEffects()` and
// applies it before any user code runs again, and before it frees any frame. Host
// tests apply the same effects to a simulated memory and check that it always equals
// the mapping records.
//
// Why this is enough for the TLB. With one core per domain, no PCIDs and no global
// user pages, a stale translation can only sit in this core's TLB, and only for the
// address space now in CR3 (writing CR3 flushes the rest). A `remove` says what to
// invalidate: the one page when the table is reachable from a PML4 along exactly one
// path, everything when there are several paths (or for a whole table taken out), and
// nothing when no PML4 reaches the table at all: its entries cannot be in any TLB,
// because they stopped being reachable by a `remove` that invalidated them.

/// One entry of a translation table: the table's physical base, its level (4 = PML4,
/// 1 = page table), and the entry's index.
public struct TableEntry: Hashable, Sendable {
    public var table: UInt64
    public var level: Int
    public var entry: Int

    public init(table: UInt64, level: Int, entry: Int) {
        self.table = table
        self.level = level
        self.entry = entry
    }
}

/// What a new entry points at.
public enum MappedObject: Hashable, Sendable {
    /// A 4 KiB page, readable, writable and executable as `rights` say (read is always
    /// there); device memory is mapped uncached.
    case page(base: UInt64, rights: CapabilityRights, isDevice: Bool)
    /// The next-lower translation table.
    case table(base: UInt64)
}

/// What the TLB may still hold after an entry is cleared.
public enum TLBInvalidation: Hashable, Sendable {
    /// Nothing: no PML4 reaches the table.
    case none
    /// One page, at this virtual address.
    case page(UInt64)
    /// Possibly anything (the table is reachable along several paths, or a whole table
    /// was taken out).
    case everything
}

public enum MemoryEffect: Hashable, Sendable {
    /// `base ..< base + size` was retyped from RAM into objects of `type`: zero it before
    /// anyone uses it. For a PML4, the kernel then installs its own shared entries (those
    /// that `CoreCapabilities.isReserved` keeps from user mappings).
    case clear(base: UInt64, size: UInt64, type: CapabilityType)
    /// Write the entry (it is empty).
    case install(TableEntry, MappedObject)
    /// Clear the entry, then invalidate.
    case remove(TableEntry, TLBInvalidation)
    /// Write the entry over the one there (the same page with other rights: `protect`),
    /// then invalidate. Never cleared in between, so no walk on another core that runs
    /// the address space finds it empty.
    case change(TableEntry, MappedObject, TLBInvalidation)
}

extension CoreCapabilities {
    /// The effects of the operations so far, oldest first; the queue is empty afterwards.
    public mutating func takeEffects() -> [MemoryEffect] {
        guard !effects.isEmpty else { return [] }
        defer { effects.removeAll(keepingCapacity: true) }
        return effects
    }

    /// Whether effects are waiting.
    public var hasEffects: Bool { !effects.isEmpty }
}
