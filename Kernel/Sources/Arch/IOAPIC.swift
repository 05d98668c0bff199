// The I/O APIC (Intel 82093AA datasheet; the same registers in every chipset since):
// routes device interrupt lines (global system interrupts, from the MADT's GSI base
// on) to a local APIC's vector. Its registers are two words in one uncached page (the
// kernel maps every I/O APIC's page at boot, KernelAddressSpace): a register number is
// written to IOREGSEL, then the register read or written through IOWIN. Only the
// bootstrap core programs it, on behalf of the domains holding interrupt capabilities,
// which all live on that core.
import X86
import Basics

public struct IOAPIC {
    /// Physical (and, identity-mapped, virtual) address of the register page.
    public let base: UInt64
    /// The global system interrupt of input 0.
    public let globalInterruptBase: UInt32
    /// How many inputs (redirection entries) it has.
    public let inputCount: UInt32

    static let registerSelect: UInt64 = 0x00
    static let window: UInt64 = 0x10
    static let versionRegister: UInt32 = 0x01
    static let firstRedirection: UInt32 = 0x10
    /// Redirection entry bits (datasheet §3.2.4): polarity low, level trigger, masked.
    static let activeLow: UInt32 = 1 << 13
    static let levelTriggered: UInt32 = 1 << 15
    static let masked: UInt32 = 1 << 16

    /// The I/O APIC whose registers are at `address` (mapped by the kernel), with
    /// every input masked: firmware may have left some routed.
    public init(address: PhysicalAddress, globalInterruptBase: UInt32) {
        base = address.rawValue
        self.globalInterruptBase = globalInterruptBase
        // Version register bits 16–23: the index of the last redirection entry.
        inputCount = (Self.read(Self.versionRegister, at: base) >> 16 & 0xFF) + 1
        for input in 0 ..< inputCount { write(Self.firstRedirection + 2 * input, Self.masked) }
    }

    static func read(_ register: UInt32, at base: UInt64) -> UInt32 {
        x86_mmio_write32(base + registerSelect, register)
        return x86_mmio_read32(base + window)
    }

    func write(_ register: UInt32, _ value: UInt32) {
        x86_mmio_write32(base + Self.registerSelect, register)
        x86_mmio_write32(base + Self.window, value)
    }

    /// Whether global system interrupt `gsi` is one of this I/O APIC's inputs.
    public func handles(_ gsi: UInt32) -> Bool {
        gsi >= globalInterruptBase && gsi - globalInterruptBase < inputCount
    }

    /// Delivers `gsi` (one of this I/O APIC's inputs) as `vector` to the local APIC
    /// `destination` (physical destination mode: an xAPIC ID, below 256), fixed
    /// delivery, with the line's polarity and trigger mode.
    public func route(_ gsi: UInt32, vector: UInt8, to destination: APICID, activeLow: Bool, levelTriggered: Bool) {
        let entry = Self.firstRedirection + 2 * (gsi - globalInterruptBase)
        // Masked while the halves disagree, so no interrupt goes to a half-written entry.
        write(entry, Self.masked)
        write(entry + 1, destination.rawValue << 24)
        write(entry, UInt32(vector) | (activeLow ? Self.activeLow : 0) | (levelTriggered ? Self.levelTriggered : 0))
    }

    /// Masks input `gsi`: its interrupts are no longer delivered.
    public func mask(_ gsi: UInt32) {
        write(Self.firstRedirection + 2 * (gsi - globalInterruptBase), Self.masked)
    }

    /// Holds back or lets through input `gsi`, keeping the route `route(_:…)` gave it:
    /// a level-triggered line is held back from its interrupt until the driver has
    /// quieted the device, since it would interrupt again at once after the EOI.
    public func setHeld(_ gsi: UInt32, _ held: Bool) {
        let entry = Self.firstRedirection + 2 * (gsi - globalInterruptBase)
        let low = Self.read(entry, at: base)
        write(entry, held ? low | Self.masked : low & ~Self.masked)
    }
}
