// Why firmware tables can be rejected. ACPI tables are untrusted input (DESIGN.md,
// invariant 5): a lying length or pointer must become one of these errors, never a
// fault or an endless loop, and the kernel must be able to print which one it was.

import Basics

public enum ACPIError: Error, Equatable, Sendable {
    /// The memory at this address is not (known to be) backed.
    case unreadable(PhysicalAddress)
    /// No "RSD PTR " signature at this address (§5.2.5.3).
    case badRSDPSignature(PhysicalAddress)
    /// The first 20 bytes of the RSDP do not sum to zero.
    case badRSDPChecksum
    /// A revision 2+ RSDP whose `length` bytes do not sum to zero.
    case badRSDPExtendedChecksum
    /// A revision 2+ RSDP whose length field is smaller than the structure (36).
    case badRSDPLength(UInt32)
    /// The RSDP names neither an XSDT nor an RSDT.
    case noRootTable
    /// A table at an address that must hold `expected` holds `found`.
    case badSignature(expected: TableSignature, found: TableSignature)
    /// A header length too small for the table's fixed fields, or implausibly large.
    case badLength(TableSignature, length: UInt32)
    /// The header claims `length` bytes, but fewer are readable (or supplied).
    case truncated(TableSignature, length: UInt32)
    /// The table's bytes do not sum to zero (§5.2.6, "Checksum").
    case badChecksum(TableSignature)
    /// An RSDT/XSDT whose entry area is not a whole number of 4- or 8-byte pointers.
    case badEntryArea(TableSignature, length: UInt32)
    /// The root table lists no table with this signature.
    case tableNotFound(TableSignature)
    /// A MADT entry (at this byte offset in the table) with length below 2.
    case zeroLengthEntry(offset: Int)
    /// A MADT entry that runs past the end of the table.
    case entryOverrunsTable(offset: Int)
    /// A MADT entry shorter than its type's structure.
    case entryTooShort(offset: Int)
    /// A malformed SRAT entry at this byte offset in the table.
    case badSRATEntry(SRATEntryFault, offset: Int)

    /// A sentence the kernel can print without reflection.
    public var message: StaticString {
        switch self {
        case .unreadable: "ACPI: memory is not readable at address"
        case .badRSDPSignature: "ACPI: no RSDP signature at address"
        case .badRSDPChecksum: "ACPI: RSDP checksum is wrong"
        case .badRSDPExtendedChecksum: "ACPI: RSDP extended checksum is wrong"
        case .badRSDPLength: "ACPI: RSDP length is too small; length"
        case .noRootTable: "ACPI: RSDP names neither an XSDT nor an RSDT"
        case .badSignature: "ACPI: table has the wrong signature; found (packed ASCII)"
        case .badLength: "ACPI: table length is out of range; length"
        case .truncated: "ACPI: table is longer than the readable memory; length"
        case .badChecksum: "ACPI: table checksum is wrong; signature (packed ASCII)"
        case .badEntryArea: "ACPI: root table entries are not whole pointers; length"
        case .tableNotFound: "ACPI: table not found; signature (packed ASCII)"
        case .zeroLengthEntry: "ACPI: MADT entry has length below 2; offset"
        case .entryOverrunsTable: "ACPI: MADT entry runs past the table end; offset"
        case .entryTooShort: "ACPI: MADT entry is shorter than its type requires; offset"
        case .badSRATEntry(.zeroLength, _): "ACPI: SRAT entry has length below 2; offset"
        case .badSRATEntry(.overrunsTable, _): "ACPI: SRAT entry runs past the table end; offset"
        case .badSRATEntry(.tooShort, _): "ACPI: SRAT entry is shorter than its type requires; offset"
        }
    }

    /// The number that goes with `message`, if any.
    public var detail: UInt64? {
        switch self {
        case .unreadable(let address), .badRSDPSignature(let address): address.rawValue
        case .badRSDPLength(let length): UInt64(length)
        case .badSignature(_, let found): UInt64(found.rawValue)
        case .badLength(_, let length), .truncated(_, let length), .badEntryArea(_, let length):
            UInt64(length)
        case .badChecksum(let signature), .tableNotFound(let signature): UInt64(signature.rawValue)
        case .zeroLengthEntry(let offset), .entryOverrunsTable(let offset), .entryTooShort(let offset),
             .badSRATEntry(_, let offset):
            UInt64(offset)
        case .badRSDPChecksum, .badRSDPExtendedChecksum, .noRootTable: nil
        }
    }
}
