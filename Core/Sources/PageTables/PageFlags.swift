// The flag bits of a paging-structure entry, at their positions in Intel SDM Vol. 3A
// Tables 4-14 to 4-20. Bits 52…58 (ignored) and 59…62 (protection keys) are not used.

public struct PageFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// P, bit 0: the entry is in use.
    public static let present = PageFlags(rawValue: 1 << 0)
    /// R/W, bit 1: writes allowed.
    public static let writable = PageFlags(rawValue: 1 << 1)
    /// U/S, bit 2: user-mode accesses allowed.
    public static let user = PageFlags(rawValue: 1 << 2)
    /// PWT, bit 3: write-through.
    public static let writeThrough = PageFlags(rawValue: 1 << 3)
    /// PCD, bit 4: cache disabled (with `writeThrough`: uncacheable, for MMIO).
    public static let cacheDisable = PageFlags(rawValue: 1 << 4)
    /// A, bit 5: set by the processor on access.
    public static let accessed = PageFlags(rawValue: 1 << 5)
    /// D, bit 6: set by the processor on write (page-mapping entries only).
    public static let dirty = PageFlags(rawValue: 1 << 6)
    /// PS, bit 7: this PDPT or page-directory entry maps a 1 GiB or 2 MiB page.
    /// (In a page-table entry bit 7 is PAT; see `pat`.)
    public static let largePage = PageFlags(rawValue: 1 << 7)
    /// G, bit 8: global, kept in the TLB across CR3 loads (page-mapping entries only).
    public static let global = PageFlags(rawValue: 1 << 8)
    /// PAT: the third memory-type bit. Its hardware position depends on the entry: bit 12
    /// in a 1 GiB or 2 MiB page entry (where this flag sits), bit 7 in a 4 KiB page-table
    /// entry, where PageTableEntry moves it.
    public static let pat = PageFlags(rawValue: 1 << 12)
    /// XD, bit 63: instruction fetches not allowed (needs IA32_EFER.NXE = 1).
    public static let noExecute = PageFlags(rawValue: 1 << 63)

    /// Every flag this type knows.
    public static let all: PageFlags = [.present, .writable, .user, .writeThrough, .cacheDisable,
                                        .accessed, .dirty, .largePage, .global, .pat, .noExecute]
}
