// x86-64 4-level paging (Intel SDM Vol. 3A §4.5): the virtual address, split into four
// 9-bit table indices and a 12-bit page offset. With 4-level paging only 48 bits are
// translated; bits 63:48 must copy bit 47 ("canonical", SDM Vol. 1 §3.3.7.1), or any
// access faults with #GP.

import Basics

public struct VirtualAddress: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }

    /// Builds an address from its table indices (each 0...511) and page offset
    /// (0...4095), sign-extending bit 47 so the result is canonical.
    public init(pml4: Int, pdpt: Int, pageDirectory: Int, pageTable: Int, offset: Int = 0) {
        let raw = UInt64(pml4 & 0x1FF) << 39 | UInt64(pdpt & 0x1FF) << 30
            | UInt64(pageDirectory & 0x1FF) << 21 | UInt64(pageTable & 0x1FF) << 12 | UInt64(offset & 0xFFF)
        self.rawValue = Self.signExtended(raw)
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// Bits 63:47 all equal.
    public var isCanonical: Bool { Self.signExtended(rawValue) == rawValue }

    /// The index into the table at `level` (bits 47:39, 38:30, 29:21 or 20:12).
    public func index(at level: PageTableLevel) -> Int {
        Int((rawValue >> level.shift) & 0x1FF)
    }

    /// Bits 11:0, the offset within a 4 KiB page.
    public var pageOffset: Int { Int(rawValue & 0xFFF) }

    /// Bits 47:0 with bit 47 copied into bits 63:48.
    static func signExtended(_ raw: UInt64) -> UInt64 {
        UInt64(bitPattern: Int64(bitPattern: raw << 16) >> 16)
    }
}
