// The root of the ACPI table tree: the XSDT (or, on ACPI 1.0 firmware, the RSDT) is a
// list of pointers to every other table. `ACPITables` keeps only those pointers, not
// views of the tables, so it holds no memory and can be kept after boot.

import Basics

/// ACPI 6.5 §5.2.7 (RSDT: header + 32-bit pointers) and §5.2.8 (XSDT: header +
/// 64-bit pointers).
public struct ACPITables: Equatable, Sendable {
    public var rsdp: RSDP
    /// True if the pointers come from the XSDT, false if from the RSDT.
    public var usesXSDT: Bool
    /// The root table's entries in table order; zero entries are kept as listed.
    public var tableAddresses: [PhysicalAddress]

    public init(rsdp: RSDP, usesXSDT: Bool, tableAddresses: [PhysicalAddress]) {
        self.rsdp = rsdp
        self.usesXSDT = usesXSDT
        self.tableAddresses = tableAddresses
    }

    /// Reads the RSDP at `rsdp`, then the XSDT if the RSDP names one, else the RSDT.
    /// A named XSDT that is broken is an error; there is no fallback to the RSDT, so
    /// what the kernel uses is always what the firmware said is current.
    public static func locate<M: PhysicalMemoryReader>(
        rsdp address: PhysicalAddress, memory: M
    ) throws(ACPIError) -> ACPITables {
        let rsdp = try RSDP.parse(at: address, memory: memory)
        let rootAddress: PhysicalAddress
        let signature: TableSignature
        let pointerSize: Int
        if let xsdt = rsdp.xsdtAddress {
            (rootAddress, signature, pointerSize) = (xsdt, .xsdt, 8)
        } else if let rsdt = rsdp.rsdtAddress {
            (rootAddress, signature, pointerSize) = (rsdt, .rsdt, 4)
        } else {
            throw .noRootTable
        }

        let root = try SystemDescriptionTable.read(at: rootAddress, expected: signature, memory: memory)
        let entryBytes = root.count - SystemDescriptionTable.headerSize
        guard entryBytes % pointerSize == 0 else {
            throw .badEntryArea(signature, length: UInt32(root.count))
        }
        var addresses: [PhysicalAddress] = []
        addresses.reserveCapacity(entryBytes / pointerSize)
        var offset = SystemDescriptionTable.headerSize
        while offset < root.count {
            let raw = pointerSize == 8 ? root.field(UInt64.self, at: offset) : UInt64(root.field(UInt32.self, at: offset))
            addresses.append(PhysicalAddress(raw))
            offset += pointerSize
        }
        return ACPITables(rsdp: rsdp, usesXSDT: pointerSize == 8, tableAddresses: addresses)
    }

    /// The first listed table with `signature`, checked (length, readability, checksum)
    /// and covering exactly its `length` bytes; nil if no listed table has it.
    ///
    /// Entries that are zero or whose header cannot be read are skipped: their
    /// signature is unknown, and a dangling pointer to some other table must not hide
    /// the one asked for. A table that does carry the signature but fails its checks is
    /// an error, not skipped, so a corrupt MADT is reported as corrupt rather than as
    /// missing.
    public func find<M: PhysicalMemoryReader>(_ signature: StaticString, memory: M) throws(ACPIError) -> ByteReader? {
        let wanted = TableSignature(signature)
        for address in tableAddresses where address.rawValue != 0 {
            guard SystemDescriptionTable.signature(at: address, memory: memory) == wanted else { continue }
            return try SystemDescriptionTable.read(at: address, expected: wanted, memory: memory)
        }
        return nil
    }

    /// The MADT, parsed; `.tableNotFound(.madt)` if the root table does not list one.
    public func madt<M: PhysicalMemoryReader>(memory: M) throws(ACPIError) -> MADT {
        guard let table = try find("APIC", memory: memory) else { throw .tableNotFound(.madt) }
        return try MADT(table: table)
    }

    /// The SRAT, parsed; nil if the root table does not list one (the usual case on
    /// machines without NUMA, and on QEMU without `-numa`).
    public func srat<M: PhysicalMemoryReader>(memory: M) throws(ACPIError) -> SRAT? {
        guard let table = try find("SRAT", memory: memory) else { return nil }
        return try SRAT(table: table)
    }
}
