// The kernel's page tables: an identity map (virtual = physical) of RAM with 2 MiB
// pages where alignment allows, and of the interrupt controllers' registers with
// uncached 4 KiB pages. The bootstrap core builds them once at boot, in a pool inside
// the kernel image (below 4 GiB, where the AP trampoline can load them), and every core
// uses them read-only from then on; user address spaces will get their own tables.
// Before this, entry.S's boot tables map the first 4 GiB.
import X86
import Basics
import PageTables

public enum KernelAddressSpace {
    /// The most RAM the kernel maps; memory above this is left unused (and reported).
    public static let maximumMapped = 64 * UInt64.gibibyte

    /// Physical address of the root table in use on this core.
    public static var root: UInt64 { x86_read_cr3() }

    /// Page-table frames from the pool in the kernel image.
    struct TablePool: PageTableFrameSource {
        var next = x86_kernel_tables_start()
        mutating func allocateTableFrame() -> PhysicalAddress? {
            guard next + 4096 <= x86_kernel_tables_limit() else { return nil }
            defer { next += 4096 }
            return PhysicalAddress(next)
        }
        func pointer(to address: PhysicalAddress) -> UnsafeMutableRawPointer {
            UnsafeMutableRawPointer(bitPattern: UInt(address.rawValue))!
        }
    }

    /// Maps `memory` (write-back) and `devices` (uncached), then switches this core to
    /// the new tables. Ranges must be 4 KiB-aligned; overlaps are merged. Returns the
    /// end of the highest mapped RAM.
    public static func build(memory: [PhysicalRange], devices: [PhysicalRange]) throws(PageTableError) -> PhysicalAddress {
        var pool = TablePool()
        let writer = try PageTableWriter(frames: &pool)
        var top = PhysicalAddress(0)
        for range in memory.normalized where range.start.rawValue < maximumMapped {
            let end = min(range.end, PhysicalAddress(maximumMapped))
            try writer.map(virtual: VirtualAddress(range.start.rawValue), physical: range.start,
                           byteCount: end - range.start, flags: [.writable, .global], frames: &pool)
            top = max(top, end)
        }
        for range in devices.normalized {
            try writer.map(virtual: VirtualAddress(range.start.rawValue), physical: range.start,
                           byteCount: range.size, flags: [.writable, .cacheDisable, .writeThrough, .noExecute],
                           largest: .fourKiB, frames: &pool)
        }
        x86_write_cr3(writer.root.rawValue)
        return top
    }
}
