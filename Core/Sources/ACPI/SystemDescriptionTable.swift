// Every ACPI table after the RSDP starts with the same 36-byte header, and every one
// must be checked the same way before a field of it is believed: signature, a length
// that covers the header and is readable, and a zero checksum. This is that one check.

import Basics

/// ACPI 6.5 §5.2.6, "System Description Table Header".
///
///     offset  size  field
///          0     4  signature
///          4     4  length of the whole table, header included
///          8     1  revision
///          9     1  checksum (all `length` bytes sum to zero)
///         10     6  OEM ID
///         16     8  OEM table ID
///         24     4  OEM revision
///         28     4  creator ID
///         32     4  creator revision
enum SystemDescriptionTable {
    static let headerSize = 36
    /// No real table comes near this; a larger length is corrupt, and refusing it keeps
    /// a checksum from walking gigabytes.
    static let maximumLength: UInt32 = 16 << 20

    /// The signature at `address`, or nil if the header is not readable.
    static func signature<M: PhysicalMemoryReader>(at address: PhysicalAddress, memory: M) -> TableSignature? {
        guard let header = memory.bytes(at: address, count: headerSize) else { return nil }
        return TableSignature(rawValue: header.field(UInt32.self, at: 0))
    }

    /// The whole table at `address`, after checking its signature (if `expected` is
    /// given), its length and its checksum. The reader covers exactly `length` bytes.
    static func read<M: PhysicalMemoryReader>(
        at address: PhysicalAddress, expected: TableSignature?, memory: M
    ) throws(ACPIError) -> ByteReader {
        guard let header = memory.bytes(at: address, count: headerSize) else { throw .unreadable(address) }
        let signature = TableSignature(rawValue: header.field(UInt32.self, at: 0))
        if let expected, signature != expected { throw .badSignature(expected: expected, found: signature) }
        let length = header.field(UInt32.self, at: 4)
        guard length >= UInt32(headerSize), length <= maximumLength else {
            throw .badLength(signature, length: length)
        }
        guard let table = memory.bytes(at: address, count: Int(length)) else {
            throw .truncated(signature, length: length)
        }
        guard table.checksum == 0 else { throw .badChecksum(signature) }
        return table
    }
}
