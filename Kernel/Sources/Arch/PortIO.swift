// x86 port I/O for user domains' device drivers: the `in` and `out` instructions at
// the widths the ABI names. The capability rules have checked the port range and the
// rights before the CPU driver gets here (`Invocation.portIn`, `portOut`); the kernel
// runs the instruction on the domain's behalf rather than opening the TSS's I/O
// permission bitmap, so no per-domain bitmap has to follow every context switch.
import ABI
import X86

public enum PortIO {
    /// Reads `width` bytes from `port`.
    public static func read(_ port: UInt16, width: PortWidth) -> UInt32 {
        switch width {
        case .byte: UInt32(x86_inb(port))
        case .word: UInt32(x86_inw(port))
        case .doubleWord: x86_inl(port)
        }
    }

    /// Writes the low `width` bytes of `value` to `port`.
    public static func write(_ port: UInt16, width: PortWidth, value: UInt32) {
        switch width {
        case .byte: x86_outb(port, UInt8(truncatingIfNeeded: value))
        case .word: x86_outw(port, UInt16(truncatingIfNeeded: value))
        case .doubleWord: x86_outl(port, value)
        }
    }
}
