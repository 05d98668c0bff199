// The local APIC (Intel SDM Vol. 3A ch. 11): this core's interrupt controller, timer
// and inter-processor interrupts. Works in x2APIC mode (MSRs) where the CPU has it and
// in xAPIC mode (memory-mapped at IA32_APIC_BASE) otherwise; QEMU's TCG in 7.2 offers
// only xAPIC.
import X86
import Basics

public struct LocalAPIC {
    public enum Mode { case xAPIC, x2APIC }
    public let mode: Mode
    /// Physical address of the register page (xAPIC mode).
    public let base: UInt64

    /// Register offsets in the xAPIC page; the x2APIC MSR is 0x800 + offset / 16.
    enum Register: UInt32 {
        case id = 0x20, eoi = 0xB0, spurious = 0xF0, errorStatus = 0x280
        case interruptCommandLow = 0x300, interruptCommandHigh = 0x310
        case timerVector = 0x320, timerInitialCount = 0x380, timerCurrentCount = 0x390
        case timerDivide = 0x3E0
    }

    /// Vectors the CPU driver uses (numbering as in Barrelfish, TN-021).
    public static let notifyVector: UInt8 = 249
    /// A monitor's notification for another core's monitor (the notify invocation):
    /// a vector of its own, so that the kernel's link traffic does not wake monitors.
    public static let userNotifyVector: UInt8 = 248
    public static let timerVector: UInt8 = 250
    public static let spuriousVector: UInt8 = 255

    /// Enables this core's local APIC, in x2APIC mode if available.
    public static func enable() -> LocalAPIC {
        var baseMSR = CPU.readMSR(CPU.apicBaseMSR)
        baseMSR |= 1 << 11                                     // global enable
        let mode: Mode = CPU.hasX2APIC ? .x2APIC : .xAPIC
        if mode == .x2APIC { baseMSR |= 1 << 10 }
        CPU.writeMSR(CPU.apicBaseMSR, baseMSR)
        let apic = LocalAPIC(mode: mode, base: baseMSR & 0xF_FFFF_F000)
        apic.write(.spurious, 0x100 | UInt32(spuriousVector))  // software enable
        return apic
    }

    func read(_ register: Register) -> UInt32 {
        switch mode {
        case .xAPIC: return x86_mmio_read32(base + UInt64(register.rawValue))
        case .x2APIC: return UInt32(truncatingIfNeeded: CPU.readMSR(0x800 + register.rawValue >> 4))
        }
    }

    func write(_ register: Register, _ value: UInt32) {
        switch mode {
        case .xAPIC: x86_mmio_write32(base + UInt64(register.rawValue), value)
        case .x2APIC: CPU.writeMSR(0x800 + register.rawValue >> 4, UInt64(value))
        }
    }

    public var id: APICID {
        mode == .x2APIC ? APICID(read(.id)) : APICID(read(.id) >> 24)
    }

    /// End of interrupt for the interrupt being handled.
    public func acknowledge() { write(.eoi, 0) }

    /// Writes the interrupt command register (§11.6.1). In xAPIC mode the destination
    /// goes in the high half first, and the write of the low half sends; we wait for
    /// the delivery-status bit so two commands never overlap.
    func sendCommand(_ low: UInt32, to destination: APICID) {
        switch mode {
        case .xAPIC:
            write(.interruptCommandHigh, destination.rawValue << 24)
            write(.interruptCommandLow, low)
            var spins = 0
            while read(.interruptCommandLow) & (1 << 12) != 0 && spins < 1_000_000 { spins += 1 }
        case .x2APIC:
            CPU.writeMSR(0x830, UInt64(destination.rawValue) << 32 | UInt64(low))
        }
    }

    /// A fixed-delivery interrupt on `vector` to one core.
    public func sendInterrupt(_ vector: UInt8, to destination: APICID) {
        sendCommand(UInt32(vector), to: destination)
    }

    /// INIT (level assert), then the deassert that older processors expect (§8.4.4.1).
    func sendINIT(to destination: APICID) {
        sendCommand(0x0000_C500, to: destination)
        sendCommand(0x0000_8500, to: destination)
    }

    /// STARTUP IPI: the core starts in real mode at `page` * 4 KiB.
    func sendStartup(page: UInt8, to destination: APICID) {
        sendCommand(0x0000_0600 | UInt32(page), to: destination)
    }

    /// Counts timer ticks (divide by 16) across `tscCycles` of TSC time, so the
    /// periodic timer can be set in real time units.
    public func measureTimerRate(tscCycles: UInt64) -> UInt64 {
        write(.timerDivide, 0x3)
        write(.timerVector, 1 << 16)                        // masked, one-shot
        write(.timerInitialCount, 0xFFFF_FFFF)
        let start = CPU.timestamp()
        while CPU.timestamp() - start < tscCycles { CPU.relax() }
        let elapsed = 0xFFFF_FFFF - read(.timerCurrentCount)
        write(.timerInitialCount, 0)
        return UInt64(elapsed)
    }

    /// Starts the periodic tick: `count` timer ticks (divide by 16) per interrupt.
    public func startPeriodicTimer(count: UInt32) {
        write(.timerDivide, 0x3)
        write(.timerVector, (1 << 17) | UInt32(Self.timerVector))
        write(.timerInitialCount, max(count, 1))
    }
}
