// ACPI tables are named by four ASCII characters (ACPI 6.5 §5.2.6, "Signature").
// Packing them into one integer makes signatures cheap to compare and to carry in
// errors, without String (which Embedded Swift cannot compare cheaply).

import Basics

/// A four-character table signature, packed little-endian exactly as it sits in memory.
public struct TableSignature: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Packs the first four bytes of `ascii` (missing bytes are zero).
    public init(_ ascii: StaticString) {
        rawValue = ascii.withUTF8Buffer { bytes in
            var packed: UInt32 = 0
            for index in 0..<min(4, bytes.count) { packed |= UInt32(bytes[index]) << (8 * UInt32(index)) }
            return packed
        }
    }

    /// The four bytes, first character first, for printing.
    public var bytes: [UInt8] {
        [UInt8(truncatingIfNeeded: rawValue), UInt8(truncatingIfNeeded: rawValue >> 8),
         UInt8(truncatingIfNeeded: rawValue >> 16), UInt8(truncatingIfNeeded: rawValue >> 24)]
    }

    // Computed, not stored: a stored static is initialised lazily (`swift_once`) by
    // whichever core reads it first, which makes it a global every core writes.
    public static var rsdt: TableSignature { TableSignature("RSDT") }
    public static var xsdt: TableSignature { TableSignature("XSDT") }
    /// The MADT's signature is "APIC" (ACPI 6.5 §5.2.12).
    public static var madt: TableSignature { TableSignature("APIC") }
}
