// Builds and reads 4-level page tables in memory (Intel SDM Vol. 3A §4.5).
//
// The kernel uses this to build its identity map of RAM (2 MiB pages where alignment
// allows) and of device registers (uncached 4 KiB pages), and host tests use it on an
// ordinary buffer. It allocates no Swift heap memory: tables come from a frame source
// passed `inout` (the core's FrameAllocator in the kernel), and are reached through the
// source's physical-to-pointer mapping.
//
// Intermediate entries are made present and writable, and user-accessible when a user
// mapping passes through them; the leaf entry carries the real permissions, which is
// what the processor combines (SDM §4.6: access rights are the AND over the levels for
// R/W and U/S, the OR for XD).

import Basics

/// Where page tables come from and how to reach them.
public protocol PageTableFrameSource {
    /// A 4 KiB-aligned frame for a new table, or nil when memory ran out. The writer
    /// clears it.
    mutating func allocateTableFrame() -> PhysicalAddress?
    /// Where the frame at physical `address` can be read and written.
    func pointer(to address: PhysicalAddress) -> UnsafeMutableRawPointer
}

/// The page sizes a mapping may use.
public enum PageSize: Sendable {
    case fourKiB, twoMiB, oneGiB

    public var bytes: UInt64 {
        switch self {
        case .fourKiB: 4096
        case .twoMiB: 2 * 1024 * 1024
        case .oneGiB: 1024 * 1024 * 1024
        }
    }

    var level: PageTableLevel {
        switch self {
        case .fourKiB: .pageTable
        case .twoMiB: .pageDirectory
        case .oneGiB: .pdpt
        }
    }
}

/// A translation found by `PageTableWriter.translate`.
public struct Translation: Equatable, Sendable {
    /// The physical address the virtual address maps to.
    public var address: PhysicalAddress
    /// The flags of the leaf entry (PAT read from its real position).
    public var flags: PageFlags
    /// The level of the leaf entry: `.pageTable` for 4 KiB, `.pageDirectory` for 2 MiB,
    /// `.pdpt` for 1 GiB.
    public var level: PageTableLevel
}

public struct PageTableWriter: Sendable {
    /// The physical address of the PML4 (what goes into CR3).
    public let root: PhysicalAddress

    /// Uses an existing PML4 at `root`.
    public init(root: PhysicalAddress) { self.root = root }

    /// Allocates and clears a new, empty PML4.
    public init<Source: PageTableFrameSource>(frames: inout Source) throws(PageTableError) {
        guard let frame = frames.allocateTableFrame() else { throw .outOfMemory }
        guard frame.isAligned(to: 4096) else { throw .misaligned }
        frames.pointer(to: frame).initializeMemory(as: UInt64.self, repeating: 0, count: PageTableLevel.entryCount)
        self.root = frame
    }

    /// Maps `byteCount` bytes at `virtual` to `physical`, using pages no larger than
    /// `largest` where both addresses are aligned to them. Both addresses and the size
    /// must be 4 KiB-aligned; `flags` must not contain `.largePage` (the writer decides)
    /// and gets `.present` added.
    ///
    /// If any page of the range is already mapped nothing is changed. If the frame
    /// source runs out, the mappings made so far stay.
    public func map<Source: PageTableFrameSource>(
        virtual: VirtualAddress, physical: PhysicalAddress, byteCount: UInt64,
        flags: PageFlags, largest: PageSize = .twoMiB, frames: inout Source
    ) throws(PageTableError) {
        let page: UInt64 = 4096
        guard byteCount > 0, byteCount % page == 0, !flags.contains(.largePage) else { throw .invalidArgument }
        guard virtual.rawValue % page == 0, physical.isAligned(to: page) else { throw .misaligned }
        let (lastPhysical, physicalOverflow) = physical.rawValue.addingReportingOverflow(byteCount - 1)
        guard !physicalOverflow, lastPhysical & ~PageTableEntry.addressMask & ~0xFFF == 0 else {
            throw .addressTooLarge
        }
        let (lastVirtual, virtualOverflow) = virtual.rawValue.addingReportingOverflow(byteCount - 1)
        guard !virtualOverflow, virtual.isCanonical, VirtualAddress(lastVirtual).isCanonical,
              (virtual.rawValue >> 63) == (lastVirtual >> 63)
        else { throw .nonCanonical }

        // Check first, so that a conflict changes nothing.
        var offset: UInt64 = 0
        while offset < byteCount {
            let v = VirtualAddress(virtual.rawValue + offset)
            if translate(v, frames: frames) != nil { throw .alreadyMapped }
            offset += nextMappedBoundaryStep(v, frames: frames)
        }

        offset = 0
        while offset < byteCount {
            let v = VirtualAddress(virtual.rawValue + offset)
            let p = physical + offset
            let remaining = byteCount - offset
            let size: PageSize = Self.fits(.oneGiB, v, p, remaining, largest) ? .oneGiB
                : Self.fits(.twoMiB, v, p, remaining, largest) ? .twoMiB : .fourKiB
            try mapPage(v, to: p, size: size, flags: flags.union(.present), frames: &frames)
            offset += size.bytes
        }
    }

    /// The translation of `virtual`, or nil if it is not mapped.
    public func translate<Source: PageTableFrameSource>(_ virtual: VirtualAddress, frames: Source) -> Translation? {
        guard virtual.isCanonical else { return nil }
        var table = root
        var level = PageTableLevel.pml4
        while true {
            let entry = Self.entry(in: table, at: virtual.index(at: level), frames: frames)
            guard entry.isPresent else { return nil }
            if entry.mapsPage(at: level) {
                let base = entry.address(at: level)
                return Translation(address: base + (virtual.rawValue & (level.coverage - 1)),
                                   flags: entry.flags(at: level), level: level)
            }
            guard let next = level.next else { return nil }
            table = entry.address(at: level)
            level = next
        }
    }

    // MARK: Internals

    /// Whether a page of `size` can map `virtual` to `physical` with `remaining` bytes left.
    private static func fits(_ size: PageSize, _ virtual: VirtualAddress, _ physical: PhysicalAddress,
                             _ remaining: UInt64, _ largest: PageSize) -> Bool {
        size.bytes <= largest.bytes && virtual.rawValue % size.bytes == 0
            && physical.isAligned(to: size.bytes) && remaining >= size.bytes
    }

    /// How far from `virtual` to the start of the next region that may be mapped
    /// differently: the end of the empty table entry that leaves `virtual` unmapped.
    private func nextMappedBoundaryStep<Source: PageTableFrameSource>(_ virtual: VirtualAddress,
                                                                      frames: Source) -> UInt64 {
        var table = root
        var level = PageTableLevel.pml4
        while true {
            let entry = Self.entry(in: table, at: virtual.index(at: level), frames: frames)
            if !entry.isPresent || entry.mapsPage(at: level) { break }
            guard let next = level.next else { break }
            table = entry.address(at: level)
            level = next
        }
        return level.coverage - (virtual.rawValue & (level.coverage - 1))
    }

    private func mapPage<Source: PageTableFrameSource>(
        _ virtual: VirtualAddress, to physical: PhysicalAddress, size: PageSize, flags: PageFlags,
        frames: inout Source
    ) throws(PageTableError) {
        var table = root
        var level = PageTableLevel.pml4
        let tableFlags: PageFlags = flags.contains(.user) ? [.present, .writable, .user] : [.present, .writable]
        while level != size.level {
            let index = virtual.index(at: level)
            var entry = Self.entry(in: table, at: index, frames: frames)
            if !entry.isPresent {
                guard let frame = frames.allocateTableFrame() else { throw .outOfMemory }
                frames.pointer(to: frame).initializeMemory(as: UInt64.self, repeating: 0,
                                                           count: PageTableLevel.entryCount)
                entry = try PageTableEntry(address: frame, flags: tableFlags, level: level)
                Self.store(entry, in: table, at: index, frames: frames)
            } else if entry.mapsPage(at: level) {
                throw .alreadyMapped
            } else if !entry.flags.isSuperset(of: tableFlags) {
                entry.rawValue |= tableFlags.rawValue
                Self.store(entry, in: table, at: index, frames: frames)
            }
            table = entry.address(at: level)
            guard let next = level.next else { throw .invalidArgument }
            level = next
        }
        let index = virtual.index(at: level)
        guard !Self.entry(in: table, at: index, frames: frames).isPresent else { throw .alreadyMapped }
        let leafFlags = level == .pageTable ? flags : flags.union(.largePage)
        Self.store(try PageTableEntry(address: physical, flags: leafFlags, level: level),
                   in: table, at: index, frames: frames)
    }

    private static func entry<Source: PageTableFrameSource>(in table: PhysicalAddress, at index: Int,
                                                            frames: Source) -> PageTableEntry {
        PageTableEntry(rawValue: frames.pointer(to: table).load(fromByteOffset: index * 8, as: UInt64.self))
    }

    private static func store<Source: PageTableFrameSource>(_ entry: PageTableEntry, in table: PhysicalAddress,
                                                            at index: Int, frames: Source) {
        frames.pointer(to: table).storeBytes(of: entry.rawValue, toByteOffset: index * 8, as: UInt64.self)
    }
}
