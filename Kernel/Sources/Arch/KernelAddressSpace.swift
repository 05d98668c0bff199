// The kernel's page tables. Today: the boot tables from entry.S (the first 4 GiB,
// identity-mapped with 2 MiB pages), shared read-only by every core.
import X86

public enum KernelAddressSpace {
    /// Physical address of the root table, below 4 GiB so the AP trampoline can load it.
    public static var root: UInt64 { x86_read_cr3() }
}
