// The physical memory map the loader passes in the PVH start info: e820-style entries
// that say which physical ranges are RAM and which belong to firmware or devices. The
// memory allocator is seeded from `usableRanges`, so this is where untrusted firmware
// data becomes "memory the kernel may hand out": overlaps resolve towards not using
// memory, and partial pages are never handed out.

import Basics

/// The e820 type of a memory map entry (`XEN_HVM_MEMMAP_TYPE_*`, the same numbers as
/// the address range types of ACPI 6.5 chapter 15, "System Address Map Interfaces").
public enum MemoryKind: Equatable, Sendable {
    /// Type 1: RAM the OS may use.
    case usable
    /// Type 2: in use or reserved by the system.
    case reserved
    /// Type 3: ACPI tables; usable once the OS has read them.
    case acpiReclaimable
    /// Type 4: ACPI non-volatile storage, must be preserved.
    case acpiNonVolatile
    /// Type 5: memory with detected errors.
    case unusable
    /// Any other type (6 disabled, 7 persistent memory, vendor types, ...).
    case other(UInt32)

    public init(e820Type: UInt32) {
        switch e820Type {
        case 1: self = .usable
        case 2: self = .reserved
        case 3: self = .acpiReclaimable
        case 4: self = .acpiNonVolatile
        case 5: self = .unusable
        default: self = .other(e820Type)
        }
    }
}

/// One entry of the memory map.
public struct MemoryMapEntry: Equatable, Sendable {
    public var range: PhysicalRange
    public var kind: MemoryKind
    public init(range: PhysicalRange, kind: MemoryKind) {
        self.range = range
        self.kind = kind
    }
}

/// `struct hvm_memmap_table_entry`: `u64 addr, u64 size, u32 type, u32 reserved`.
private let memoryMapEntrySize = 24

extension PVHStartInfo {
    /// The memory map, sorted by start address (then end), with zero-size entries dropped.
    ///
    /// An entry whose `address + size` wraps past 2^64 is reported as
    /// `.entryOverflows` rather than clipped: such an entry is corrupt, and clipping a
    /// corrupt *usable* entry would invent RAM up to the top of the address space.
    /// Version 0 start info, or a map with no entries, is `.noMemoryMap`.
    public func memoryMap<M: PhysicalMemoryReader>(memory: M) throws(BootInfoError) -> [MemoryMapEntry] {
        guard version >= 1, memoryMapEntryCount > 0, memoryMapAddress.rawValue != 0 else {
            throw .noMemoryMap
        }
        guard memoryMapEntryCount <= Self.maximumMemoryMapEntries else {
            throw .tooManyEntries(memoryMapEntryCount)
        }
        let count = Int(memoryMapEntryCount)
        guard let table = memory.bytes(at: memoryMapAddress, count: count * memoryMapEntrySize) else {
            throw .unreadable(memoryMapAddress)
        }

        var entries: [MemoryMapEntry] = []
        entries.reserveCapacity(count)
        for index in 0..<count {
            let offset = index * memoryMapEntrySize
            let start = table.field(UInt64.self, at: offset)
            let size = table.field(UInt64.self, at: offset + 8)
            let type = table.field(UInt32.self, at: offset + 16)
            if size == 0 { continue }
            let (end, overflow) = start.addingReportingOverflow(size)
            // An entry ending exactly at 2^64 wraps to 0 too; it cannot be represented
            // as a half-open range, so it is refused like any other wrap.
            guard !overflow else { throw .entryOverflows(index: UInt32(index)) }
            entries.append(MemoryMapEntry(
                range: PhysicalRange(start: PhysicalAddress(start), end: PhysicalAddress(end)),
                kind: MemoryKind(e820Type: type)))
        }
        entries.sort { a, b in
            a.range.start != b.range.start ? a.range.start < b.range.start : a.range.end < b.range.end
        }
        return entries
    }
}

extension Array where Element == MemoryMapEntry {
    /// The size of the pages the allocator hands out; usable ranges are trimmed to it.
    public static var pageSize: UInt64 { 4096 }

    /// Where the I/O APIC's registers start on every PC: the top of the window below.
    public static var ioAPICBase: UInt64 { 0xFEC0_0000 }

    /// Device memory for drivers below 4 GiB: from the end of the last entry of any kind
    /// that starts below the I/O APIC (rounded up to a page) to the I/O APIC, where
    /// firmware puts 32-bit PCI BARs. Nothing the map names (RAM, ACPI, firmware) and
    /// none of the interrupt controllers or firmware above it lie in it; nil if the map
    /// leaves no room, or names no RAM at all (then it says nothing to trust).
    public var deviceWindowBelow4GiB: PhysicalRange? {
        guard contains(where: { $0.kind == .usable }) else { return nil }
        let top = Self.ioAPICBase
        let below = self.filter { $0.range.start.rawValue < top }.map { $0.range.end.rawValue }.max() ?? 0
        let start = (below + Self.pageSize - 1) / Self.pageSize * Self.pageSize
        guard start < top else { return nil }
        return PhysicalRange(start: PhysicalAddress(start), end: PhysicalAddress(top))
    }

    /// RAM the kernel may use: the usable entries merged (overlapping or adjacent ones
    /// join), minus every range of any other kind (firmware maps can overlap, and then
    /// the reservation wins), each piece shrunk inwards to whole 4 KiB pages. Sorted,
    /// disjoint and non-empty.
    public var usableRanges: [PhysicalRange] {
        var usable: [PhysicalRange] = []
        var blocked: [PhysicalRange] = []
        for entry in self where !entry.range.isEmpty {
            if entry.kind == .usable { usable.append(entry.range) } else { blocked.append(entry.range) }
        }
        usable = merged(usable)
        blocked = merged(blocked)

        var result: [PhysicalRange] = []
        var firstBlock = 0
        for range in usable {
            var start = range.start
            // Both lists are sorted and disjoint, so blocks that end before this usable
            // range cannot touch any later one either.
            while firstBlock < blocked.count && blocked[firstBlock].end <= start { firstBlock += 1 }
            var block = firstBlock
            while block < blocked.count && blocked[block].start < range.end {
                if blocked[block].start > start {
                    appendWholePages(of: PhysicalRange(start: start, end: blocked[block].start), to: &result)
                }
                start = Swift.max(start, blocked[block].end)
                block += 1
            }
            if start < range.end {
                appendWholePages(of: PhysicalRange(start: start, end: range.end), to: &result)
            }
        }
        return result
    }
}

/// Sorts ranges and joins those that overlap or touch.
private func merged(_ ranges: [PhysicalRange]) -> [PhysicalRange] {
    let sorted = ranges.sorted { $0.start < $1.start }
    var result: [PhysicalRange] = []
    for range in sorted {
        if let last = result.last, range.start <= last.end {
            result[result.count - 1].end = Swift.max(last.end, range.end)
        } else {
            result.append(range)
        }
    }
    return result
}

private func appendWholePages(of range: PhysicalRange, to result: inout [PhysicalRange]) {
    let pageSize = [MemoryMapEntry].pageSize
    let start = range.start.alignedUp(to: pageSize)
    let end = range.end.alignedDown(to: pageSize)
    if start < end { result.append(PhysicalRange(start: start, end: end)) }
}
