// The four levels of x86-64 4-level paging (Intel SDM Vol. 3A §4.5, Figure 4-8): each
// table has 512 eight-byte entries and translates 9 bits of the virtual address.

public enum PageTableLevel: Int, CaseIterable, Sendable {
    /// Page-map level 4 (CR3 points here); each entry covers 512 GiB.
    case pml4 = 4
    /// Page-directory-pointer table; each entry covers 1 GiB and may map a 1 GiB page.
    case pdpt = 3
    /// Page directory; each entry covers 2 MiB and may map a 2 MiB page.
    case pageDirectory = 2
    /// Page table; each entry maps one 4 KiB page.
    case pageTable = 1

    public static let entryCount = 512

    /// The lowest virtual-address bit this level's index uses.
    public var shift: UInt64 { 12 + 9 * UInt64(rawValue - 1) }

    /// Bytes of virtual address space one entry of this level covers.
    public var coverage: UInt64 { 1 << shift }

    /// Whether an entry here may map a page directly (PS = 1): 1 GiB in a PDPT (where the
    /// processor supports it, CPUID.80000001H:EDX.Page1GB), 2 MiB in a page directory.
    /// A page-table entry always maps a 4 KiB page; a PML4 entry never maps one.
    public var allowsLargePages: Bool { self == .pdpt || self == .pageDirectory }

    /// The level of the table an entry here points to, nil for page tables.
    public var next: PageTableLevel? { PageTableLevel(rawValue: rawValue - 1) }
}
