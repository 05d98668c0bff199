// Where the linker and the boot code put things: the kernel image, the bootstrap
// core's stack and early-allocation arena, and the start-info address QEMU passed.
import X86
import Basics

public enum KernelImage {
    public static var range: PhysicalRange {
        PhysicalRange(start: PhysicalAddress(x86_kernel_start()), end: PhysicalAddress(x86_kernel_end()))
    }
    public static var bootStack: Range<UInt64> { x86_boot_stack_start()..<x86_boot_stack_end() }
    public static var bootArena: Range<UInt> { UInt(x86_boot_arena_start())..<UInt(x86_boot_arena_limit()) }
    /// The PVH start-info address (from %ebx at entry).
    public static var startInfoAddress: PhysicalAddress { PhysicalAddress(x86_pvh_start_info) }
}
