// One 8-byte paging-structure entry (Intel SDM Vol. 3A §4.5, Tables 4-14 to 4-20).
//
// An entry either points to the next table (PML4E, PDPTE or PDE with PS = 0), maps a
// page (PTE; PDPTE or PDE with PS = 1) or is not present. The physical address occupies
// bits 51:12; a large page's address must be aligned to its size, and for those entries
// bit 12 is the PAT bit (bits 29:13 or 20:13 are reserved and must be 0). In a 4 KiB PTE,
// bit 7 is PAT. So the exact meaning of bits 7 and 12 depends on the level, and the
// level-taking accessors decode them exactly; the plain `address` and `flags` read bit 7
// as PS and are exact for every entry except a 4 KiB page with PAT set.

import Basics

public enum PageTableError: Error, Equatable, Sendable {
    /// The physical address is not aligned to the page or table size of the entry.
    case misaligned
    /// The physical address has bits above bit 51 set.
    case addressTooLarge
    /// `largePage` was asked for at a level that cannot map large pages (PML4, PT).
    case largePageNotAllowed
    /// A virtual address (or range) is not canonical, or wraps around.
    case nonCanonical
    /// Part of the range is already mapped.
    case alreadyMapped
    /// The frame source ran out of frames for a new table.
    case outOfMemory
    /// A size or flag combination that makes no sense (for example an empty range).
    case invalidArgument
}

public struct PageTableEntry: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The non-present entry.
    public static let empty = PageTableEntry(rawValue: 0)

    /// Bits 51:12.
    static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
    static let patInPageTable: UInt64 = 1 << 7
    static let patInLargePage: UInt64 = 1 << 12

    /// An entry at `level` for `address`: a table pointer, a 4 KiB page (at `.pageTable`)
    /// or, with `.largePage` in `flags`, a 1 GiB or 2 MiB page. The address must be
    /// aligned to 4 KiB, or to the page size for a large page, and below 2^52.
    public init(address: PhysicalAddress, flags: PageFlags, level: PageTableLevel) throws(PageTableError) {
        let isLarge = flags.contains(.largePage)
        if isLarge && !level.allowsLargePages { throw .largePageNotAllowed }
        let alignment = isLarge ? level.coverage : 4096
        guard address.isAligned(to: alignment) else { throw .misaligned }
        guard address.rawValue & ~Self.addressMask == 0 else { throw .addressTooLarge }
        var bits = flags.intersection(.all).rawValue & ~Self.patInLargePage
        if flags.contains(.pat) {
            if level == .pageTable { bits |= Self.patInPageTable }
            else if isLarge { bits |= Self.patInLargePage }
            else { throw .invalidArgument }  // a table pointer has no PAT bit
        }
        self.rawValue = address.rawValue | bits
    }

    /// P: the entry is in use.
    public var isPresent: Bool { rawValue & PageFlags.present.rawValue != 0 }

    /// The physical address, reading bit 7 as PS (see the note at the top).
    public var address: PhysicalAddress {
        let isLarge = rawValue & PageFlags.largePage.rawValue != 0
        return PhysicalAddress(rawValue & Self.addressMask & ~(isLarge ? Self.patInLargePage : 0))
    }

    /// The flags, reading bit 7 as PS (see the note at the top).
    public var flags: PageFlags {
        let isLarge = rawValue & PageFlags.largePage.rawValue != 0
        return PageFlags(rawValue: rawValue & PageFlags.all.rawValue & ~(isLarge ? 0 : Self.patInLargePage))
    }

    /// Whether this entry, found at `level`, maps a page (rather than pointing to a table).
    public func mapsPage(at level: PageTableLevel) -> Bool {
        level == .pageTable || (level.allowsLargePages && rawValue & PageFlags.largePage.rawValue != 0)
    }

    /// The physical address of the page or table, for an entry found at `level`.
    public func address(at level: PageTableLevel) -> PhysicalAddress {
        if level != .pageTable && mapsPage(at: level) {
            return PhysicalAddress(rawValue & Self.addressMask & ~(level.coverage - 1))
        }
        return PhysicalAddress(rawValue & Self.addressMask)
    }

    /// The flags of an entry found at `level`, with PAT read from its real position.
    public func flags(at level: PageTableLevel) -> PageFlags {
        var bits = rawValue & PageFlags.all.rawValue & ~Self.patInLargePage
        if level == .pageTable {
            bits &= ~PageFlags.largePage.rawValue
            if rawValue & Self.patInPageTable != 0 { bits |= PageFlags.pat.rawValue }
        } else if mapsPage(at: level), rawValue & Self.patInLargePage != 0 {
            bits |= PageFlags.pat.rawValue
        }
        return PageFlags(rawValue: bits)
    }
}
