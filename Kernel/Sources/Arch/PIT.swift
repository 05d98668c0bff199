// The 8254 programmable interval timer, used once at boot by the bootstrap core to
// measure the TSC frequency when CPUID does not report it. Channel 2 is gated by port
// 0x61 and its output can be read back there, so no interrupt is needed.
import X86

enum PIT {
    static let hz: UInt64 = 1_193_182

    /// Counts TSC cycles across `milliseconds` of PIT time (at most 50).
    static func measureTSC(milliseconds: UInt64) -> UInt64 {
        let count = UInt16(hz * milliseconds / 1000)
        let gate = x86_inb(0x61)
        x86_outb(0x61, (gate & 0xFD) | 0x01)        // gate on, speaker off
        x86_outb(0x43, 0xB0)                         // channel 2, lo/hi, mode 0
        x86_outb(0x42, UInt8(count & 0xFF))
        x86_outb(0x42, UInt8(count >> 8))
        let start = CPU.timestamp()
        var spins = 0
        while x86_inb(0x61) & 0x20 == 0 && spins < 50_000_000 { spins += 1 }
        let end = CPU.timestamp()
        x86_outb(0x61, gate)
        return end - start
    }
}

public enum Clock {
    /// The TSC frequency in Hz: from CPUID where reported, else measured against the PIT.
    public static func measureTSCFrequency() -> UInt64 {
        if let hz = CPU.reportedTSCHz { return hz }
        return PIT.measureTSC(milliseconds: 20) * 50
    }
}

/// The legacy 8259 interrupt controllers. Firmware leaves them delivering the PIT's
/// IRQ 0 on vector 8, which would look like a double fault; we move them to vectors
/// 32–47 and mask every line, since all our interrupts come through the local APIC.
public enum LegacyPIC {
    public static func disable() {
        x86_outb(0x20, 0x11); x86_outb(0xA0, 0x11)         // ICW1: initialise, expect ICW4
        x86_outb(0x21, 0x20); x86_outb(0xA1, 0x28)         // ICW2: vector bases 32 and 40
        x86_outb(0x21, 0x04); x86_outb(0xA1, 0x02)         // ICW3: cascade on IRQ 2
        x86_outb(0x21, 0x01); x86_outb(0xA1, 0x01)         // ICW4: 8086 mode
        x86_outb(0x21, 0xFF); x86_outb(0xA1, 0xFF)         // mask everything
    }
}
