// The Root System Description Pointer: the one ACPI structure found without a table
// pointing at it (PVH hands over its address). It names the root table that lists
// all the others.

import Basics

/// ACPI 6.5 §5.2.5.3, "Root System Description Pointer (RSDP) Structure".
///
///     offset  size  field
///          0     8  signature "RSD PTR "
///          8     1  checksum over bytes 0..<20
///          9     6  OEM ID
///         15     1  revision (0 = ACPI 1.0; 2 = ACPI 2.0 and later)
///         16     4  RSDT address
///         20     4  length of the whole structure      (revision >= 2)
///         24     8  XSDT address                       (revision >= 2)
///         32     1  extended checksum over `length`    (revision >= 2)
///         33     3  reserved
public struct RSDP: Equatable, Sendable {
    static let version1Size = 20
    static let version2Size = 36

    public var revision: UInt8
    /// nil when the field is zero.
    public var rsdtAddress: PhysicalAddress?
    /// nil for revision < 2 or when the field is zero.
    public var xsdtAddress: PhysicalAddress?

    public init(revision: UInt8, rsdtAddress: PhysicalAddress?, xsdtAddress: PhysicalAddress?) {
        self.revision = revision
        self.rsdtAddress = rsdtAddress
        self.xsdtAddress = xsdtAddress
    }

    /// Reads and checks the RSDP at `address`. Revisions other than 0 and 2+ do not
    /// exist; revision 1 is read like 0, as other operating systems do.
    public static func parse<M: PhysicalMemoryReader>(
        at address: PhysicalAddress, memory: M
    ) throws(ACPIError) -> RSDP {
        guard let base = memory.bytes(at: address, count: version1Size) else { throw .unreadable(address) }
        guard base.matches("RSD PTR ", at: 0) else { throw .badRSDPSignature(address) }
        guard base.checksum == 0 else { throw .badRSDPChecksum }
        let revision = base.field(UInt8.self, at: 15)
        let rsdt = base.field(UInt32.self, at: 16)
        guard revision >= 2 else {
            return RSDP(revision: revision, rsdtAddress: present(UInt64(rsdt)), xsdtAddress: nil)
        }

        guard let lengthField = memory.bytes(at: address + 20, count: 4) else {
            throw .unreadable(address + 20)
        }
        let length = lengthField.field(UInt32.self, at: 0)
        guard length >= UInt32(version2Size) else { throw .badRSDPLength(length) }
        guard let full = memory.bytes(at: address, count: Int(length)) else {
            throw .unreadable(address + UInt64(version1Size))
        }
        guard full.checksum == 0 else { throw .badRSDPExtendedChecksum }
        return RSDP(
            revision: revision, rsdtAddress: present(UInt64(rsdt)),
            xsdtAddress: present(full.field(UInt64.self, at: 24)))
    }

    private static func present(_ raw: UInt64) -> PhysicalAddress? { raw == 0 ? nil : PhysicalAddress(raw) }
}

extension ByteReader {
    /// A load from an offset already shown to be in bounds; 0 instead of a trap if not.
    func field<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        load(type, at: offset) ?? 0
    }
}
