// Per-core segment and interrupt tables (Intel SDM Vol. 3A ch. 3, 6, 7). Long mode
// barely uses segments, but it still needs a GDT for the code selector and a TSS for
// the interrupt stack table: NMI, double fault and machine check each run on their own
// stack, so they work even when the kernel stack is what went wrong.
import X86

public enum Selector {
    public static let kernelCode: UInt16 = 0x08
    public static let kernelData: UInt16 = 0x10
    public static let taskState: UInt16 = 0x28
}

public enum Descriptors {
    /// Bytes of memory `install` needs: GDT (48) + TSS (104) on one page, IDT on the next.
    public static let bytesNeeded = 2 * 4096

    /// Builds this core's GDT, TSS and IDT in `memory` (two zeroed pages owned by this
    /// core) and loads them. `interruptStacks` are the tops of the NMI, double-fault and
    /// machine-check stacks (IST 1, 2, 3).
    public static func install(in memory: UnsafeMutableRawPointer, interruptStacks: (UInt64, UInt64, UInt64),
                               userTrapStack: UInt64) {
        let gdt = memory.assumingMemoryBound(to: UInt64.self)
        let tss = memory + 64
        let idt = (memory + 4096).assumingMemoryBound(to: UInt64.self)

        // TSS (§7.7): RSP0 (the stack for traps from user mode) at offset 4, IST1..3 at
        // offsets 36, 44, 52; no I/O bitmap (base past the limit).
        tss.storeBytes(of: userTrapStack, toByteOffset: 4, as: UInt64.self)
        tss.storeBytes(of: interruptStacks.0, toByteOffset: 36, as: UInt64.self)
        tss.storeBytes(of: interruptStacks.1, toByteOffset: 44, as: UInt64.self)
        tss.storeBytes(of: interruptStacks.2, toByteOffset: 52, as: UInt64.self)
        tss.storeBytes(of: UInt16(104), toByteOffset: 102, as: UInt16.self)

        gdt[0] = 0
        gdt[1] = 0x00AF_9A00_0000_FFFF          // 0x08 kernel code, 64-bit
        gdt[2] = 0x00CF_9200_0000_FFFF          // 0x10 kernel data
        gdt[3] = 0x00CF_F200_0000_FFFF          // 0x18 user data (for sysret, later)
        gdt[4] = 0x00AF_FA00_0000_FFFF          // 0x20 user code, 64-bit
        let tssBase = UInt64(UInt(bitPattern: tss))
        let limit: UInt64 = 103
        gdt[5] = limit | (tssBase & 0xFF_FFFF) << 16 | 0x89 << 40 | ((tssBase >> 24) & 0xFF) << 56
        gdt[6] = tssBase >> 32                  // 0x28 TSS, 16-byte system descriptor

        // IDT (§6.14.1): interrupt gates (interrupts off on entry), kernel code.
        for vector in 0..<256 {
            let handler = x86_trap_stub(UInt32(vector))
            let ist: UInt64
            switch vector {
            case 2: ist = 1                     // NMI
            case 8: ist = 2                     // double fault
            case 18: ist = 3                    // machine check
            default: ist = 0
            }
            idt[vector * 2] = (handler & 0xFFFF) | UInt64(Selector.kernelCode) << 16 | ist << 32
                | 0x8E << 40 | (handler >> 16 & 0xFFFF) << 48
            idt[vector * 2 + 1] = handler >> 32
        }

        var gdtPointer = x86_table_pointer(limit: 7 * 8 - 1, base: UInt64(UInt(bitPattern: gdt)))
        var idtPointer = x86_table_pointer(limit: 256 * 16 - 1, base: UInt64(UInt(bitPattern: idt)))
        x86_lgdt(&gdtPointer)
        x86_reload_segments(Selector.kernelCode, Selector.kernelData)
        x86_ltr(Selector.taskState)
        x86_lidt(&idtPointer)
    }
}
