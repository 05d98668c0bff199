// The 16550 UART at COM1, the system console. Only core 0 writes it in steady state
// (other cores send it their lines); a panicking core writes it directly. Input is the
// shell's: a user program that holds the port's I/O ports and IRQ 4 and reads it.
import X86

public enum SerialPort {
    static let base: UInt16 = 0x3F8

    /// 115200 baud, 8N1, interrupts off until the shell turns on the receive interrupt,
    /// FIFOs left off as at power-on.
    ///
    /// Why no FIFOs: input piped in before boot is already waiting, one byte in the
    /// receive register, and switching the FIFOs on discards it (16550: changing FCR bit
    /// 0 clears both FIFOs); reading it first still races the next byte. Without FIFOs,
    /// QEMU hands over the next byte only when the last has been read, so nothing is
    /// lost however late the shell reads.
    public static func initialize() {
        x86_outb(base + 1, 0x00)
        x86_outb(base + 3, 0x80)
        x86_outb(base + 0, 0x01)
        x86_outb(base + 1, 0x00)
        x86_outb(base + 3, 0x03)
        x86_outb(base + 2, 0x00)
        x86_outb(base + 4, 0x0B)
    }

    public static func write(_ byte: UInt8) {
        var spins = 0
        // Transmit-holding-register empty (LSR bit 5). Bounded so a missing UART
        // cannot hang the kernel.
        while x86_inb(base + 5) & 0x20 == 0 && spins < 100_000 { spins += 1 }
        x86_outb(base, byte)
    }

    public static func write(_ text: StaticString) {
        text.withUTF8Buffer { for byte in $0 { write(byte) } }
    }

    /// Writes `value` as 0x-prefixed hexadecimal without allocating (the panic path
    /// must not touch the heap).
    public static func writeHex(_ value: UInt64, digits: Int = 1) {
        write(UInt8(ascii: "0")); write(UInt8(ascii: "x"))
        var started = false
        for shift in stride(from: 60, through: 0, by: -4) {
            let nibble = UInt8((value >> UInt64(shift)) & 0xF)
            if nibble != 0 || started || shift < digits * 4 {
                started = true
                write(nibble < 10 ? nibble + 48 : nibble + 87)
            }
        }
    }

    public static func writeDecimal(_ value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 { write(UInt8(48 + (value / divisor) % 10)); divisor /= 10 }
    }
}
