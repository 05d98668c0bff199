// The processor itself: identification, model-specific registers, the time-stamp
// counter and control registers. One-line wrappers over x86.h, typed where it helps.
import X86

public enum CPU {
    /// IA32_APIC_BASE (Intel SDM Vol. 3A §11.4.4).
    static let apicBaseMSR: UInt32 = 0x1B
    /// IA32_GS_BASE: the per-core block's address.
    static let gsBaseMSR: UInt32 = 0xC000_0101

    public static func cpuid(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> (eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        let r = x86_cpuid(leaf, subleaf)
        return (r.eax, r.ebx, r.ecx, r.edx)
    }

    /// CPUID.1:ECX bit 21 (SDM Vol. 2A, CPUID).
    public static var hasX2APIC: Bool { cpuid(1).ecx & (1 << 21) != 0 }
    /// The display family (CPUID.1:EAX, base family plus extended family).
    public static var family: UInt32 {
        let eax = cpuid(1).eax
        let base = (eax >> 8) & 0xF
        return base == 0xF ? base + ((eax >> 20) & 0xFF) : base
    }
    /// CPUID.1:EBX[31:24]: the initial APIC ID of this core (8 bits).
    public static var initialAPICID: UInt32 { cpuid(1).ebx >> 24 }

    public static func readMSR(_ msr: UInt32) -> UInt64 { x86_rdmsr(msr) }
    public static func writeMSR(_ msr: UInt32, _ value: UInt64) { x86_wrmsr(msr, value) }

    /// The time-stamp counter, in cycles.
    @inline(__always) public static func timestamp() -> UInt64 { x86_rdtsc() }
    @inline(__always) public static func relax() { x86_pause() }

    public static var faultAddress: UInt64 { x86_read_cr2() }
    public static var framePointer: UInt64 { x86_read_rbp() }

    /// The TSC frequency from CPUID leaf 0x15 (crystal ratio) or 0x16 (base MHz), when
    /// the CPU reports it; nil otherwise (QEMU's TCG models do not), in which case the
    /// caller measures it against the PIT.
    public static var reportedTSCHz: UInt64? {
        let maxLeaf = cpuid(0).eax
        if maxLeaf >= 0x15 {
            let r = cpuid(0x15)
            if r.eax != 0, r.ebx != 0, r.ecx != 0 { return UInt64(r.ecx) * UInt64(r.ebx) / UInt64(r.eax) }
        }
        if maxLeaf >= 0x16 {
            let mhz = cpuid(0x16).eax & 0xFFFF
            if mhz != 0 { return UInt64(mhz) * 1_000_000 }
        }
        return nil
    }

    /// Stops this core for good.
    public static func stop() -> Never { x86_stop() }

    /// Sleeps until the next interrupt, taking pending ones first; interrupts are
    /// disabled again on return (the CPU driver is not preemptible).
    @inline(__always) public static func waitForInterrupt() { x86_wait_for_interrupt() }
    /// Takes the interrupts already pending (a notification for this core's monitor)
    /// without halting: for kernel loops that spin rather than halt.
    @inline(__always) public static func takePendingInterrupts() { x86_take_pending_interrupts() }
}

/// The per-core block: GS.base points at it and its first word points at itself
/// (x86.h), so `current` is one load. What the block holds is the CPU driver's business.
public enum CoreBlockRegister {
    public static func install(_ block: UnsafeMutableRawPointer) {
        block.storeBytes(of: UInt64(UInt(bitPattern: block)), as: UInt64.self)
        CPU.writeMSR(CPU.gsBaseMSR, UInt64(UInt(bitPattern: block)))
    }

    /// The current core's block, or nil before this core installed one.
    @inline(__always) public static var current: UnsafeMutableRawPointer? { x86_core_block() }
}

/// Device-free power-off for QEMU: the `isa-debug-exit` device at port 0xF4 makes QEMU
/// exit with status (value << 1) | 1. The host tool reads 1 as success.
public enum Machine {
    public static func exit(success: Bool) -> Never {
        x86_outl(0xF4, success ? 0 : 1)
        CPU.stop()
    }
}
