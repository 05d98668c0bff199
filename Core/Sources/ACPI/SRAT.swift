// The System Resource Affinity Table says which processors and which memory ranges
// belong to which NUMA proximity domain. The knowledge base records each core's domain
// and the memory server can hand out memory near a core. Most QEMU machines have no
// SRAT (only with `-numa`), so its absence is normal, not an error; a present but
// corrupt one is reported like a corrupt MADT, with the offset of the bad entry.

import Basics

extension TableSignature {
    /// ACPI 6.5 §5.2.16.
    public static var srat: TableSignature { TableSignature("SRAT") }
}

/// How an SRAT entry is malformed (carried by `ACPIError.badSRATEntry`).
public enum SRATEntryFault: Equatable, Sendable {
    /// The entry's length byte is below 2, which would stop the walk.
    case zeroLength
    /// The entry runs past the end of the table.
    case overrunsTable
    /// The entry is shorter than its type's structure.
    case tooShort
}

/// ACPI 6.5 §5.2.16, "System Resource Affinity Table (SRAT)".
///
///     offset  size  field
///          0    36  header, signature "SRAT"
///         36     4  reserved (1, for compatibility)
///         40     8  reserved
///         48     …  static resource allocation structures, each `u8 type, u8 length, …`
public struct SRAT: Equatable, Sendable {
    static let entriesOffset = 48

    /// A processor's proximity domain, from a type 0 or type 2 entry.
    public struct ProcessorAffinity: Equatable, Sendable {
        public var apicID: APICID
        public var domain: UInt32
        /// True if listed by a Processor Local x2APIC Affinity entry (type 2).
        public var isX2APIC: Bool

        public init(apicID: APICID, domain: UInt32, isX2APIC: Bool) {
            self.apicID = apicID
            self.domain = domain
            self.isX2APIC = isX2APIC
        }
    }

    /// A memory range's proximity domain, from a type 1 entry.
    public struct MemoryAffinity: Equatable, Sendable {
        public var range: PhysicalRange
        public var domain: UInt32
        /// Flags bit 1: the range may be hot-added or removed.
        public var isHotPluggable: Bool
        /// Flags bit 2: the range is non-volatile memory.
        public var isNonVolatile: Bool

        public init(range: PhysicalRange, domain: UInt32, isHotPluggable: Bool = false, isNonVolatile: Bool = false) {
            self.range = range
            self.domain = domain
            self.isHotPluggable = isHotPluggable
            self.isNonVolatile = isNonVolatile
        }
    }

    /// Enabled processor entries in table order.
    public var processors: [ProcessorAffinity]
    /// Enabled memory entries of non-zero length, in table order.
    public var memory: [MemoryAffinity]

    public init(processors: [ProcessorAffinity], memory: [MemoryAffinity]) {
        self.processors = processors
        self.memory = memory
    }

    /// The domain the first entry for `apicID` gives, if any.
    public func domain(of apicID: APICID) -> UInt32? {
        processors.first { $0.apicID == apicID }?.domain
    }

    /// The processor entries as (APIC ID, domain) pairs, the form the knowledge base's
    /// `assignNUMANodes` takes.
    public var processorDomains: [(apicID: APICID, domain: UInt32)] {
        processors.map { (apicID: $0.apicID, domain: $0.domain) }
    }

    /// Parses an SRAT. `table` should come from `ACPITables.find`, which has checked the
    /// checksum; this re-checks the signature and length so that it is safe on any bytes
    /// at all. Entries end at the header's `length`, not at `table.count`. Entries not
    /// marked enabled are skipped, as are entry types not listed above (GICC, ITS,
    /// generic initiators…), after their bounds are checked.
    public init(table: ByteReader) throws(ACPIError) {
        guard table.count >= Self.entriesOffset else {
            throw .badLength(.srat, length: UInt32(truncatingIfNeeded: table.count))
        }
        let signature = TableSignature(rawValue: table.field(UInt32.self, at: 0))
        guard signature == .srat else { throw .badSignature(expected: .srat, found: signature) }
        let lengthField = table.field(UInt32.self, at: 4)
        guard lengthField >= UInt32(Self.entriesOffset) else { throw .badLength(.srat, length: lengthField) }
        guard UInt64(lengthField) <= UInt64(table.count) else { throw .truncated(.srat, length: lengthField) }
        let length = Int(lengthField)
        // Revision 1 (ACPI 2.0) had 8-bit proximity domains; the wider fields came with
        // revision 2 (ACPI 3.0), and in a revision 1 table their upper bytes are reserved.
        let wideDomains = table.field(UInt8.self, at: 8) >= 2

        var processors: [ProcessorAffinity] = []
        var memory: [MemoryAffinity] = []
        var offset = Self.entriesOffset
        while offset < length {
            guard length - offset >= 2 else { throw .badSRATEntry(.overrunsTable, offset: offset) }
            let type = table.field(UInt8.self, at: offset)
            let entryLength = Int(table.field(UInt8.self, at: offset + 1))
            guard entryLength >= 2 else { throw .badSRATEntry(.zeroLength, offset: offset) }
            guard entryLength <= length - offset, let entry = table.slice(at: offset, length: entryLength) else {
                throw .badSRATEntry(.overrunsTable, offset: offset)
            }
            guard entryLength >= Self.minimumLength(ofType: type) else { throw .badSRATEntry(.tooShort, offset: offset) }

            switch type {
            case 0:  // §5.2.16.1 Processor Local APIC/SAPIC Affinity: domain[7:0] u8 @2,
                     // APIC ID u8 @3, flags u32 @4 (bit 0 enabled), SAPIC EID @8,
                     // domain[31:8] 3 bytes @9, clock domain u32 @12
                guard entry.field(UInt32.self, at: 4) & 1 != 0 else { break }
                var domain = UInt32(entry.field(UInt8.self, at: 2))
                if wideDomains {
                    domain |= UInt32(entry.field(UInt8.self, at: 9)) << 8
                        | UInt32(entry.field(UInt8.self, at: 10)) << 16
                        | UInt32(entry.field(UInt8.self, at: 11)) << 24
                }
                processors.append(ProcessorAffinity(
                    apicID: APICID(UInt32(entry.field(UInt8.self, at: 3))), domain: domain, isX2APIC: false))
            case 1:  // §5.2.16.2 Memory Affinity: domain u32 @2, reserved u16 @6, base u64 @8,
                     // length u64 @16, reserved u32 @24, flags u32 @28, reserved u64 @32
                let flags = entry.field(UInt32.self, at: 28)
                let size = entry.field(UInt64.self, at: 16)
                guard flags & 1 != 0, size != 0 else { break }
                let base = entry.field(UInt64.self, at: 8)
                let domain = entry.field(UInt32.self, at: 2)
                // A range past the top of the address space is cut off there, not wrapped.
                let (end, overflow) = base.addingReportingOverflow(size)
                memory.append(MemoryAffinity(
                    range: PhysicalRange(start: PhysicalAddress(base), end: PhysicalAddress(overflow ? UInt64.max : end)),
                    domain: wideDomains ? domain : domain & 0xFF,
                    isHotPluggable: flags & 2 != 0, isNonVolatile: flags & 4 != 0))
            case 2:  // §5.2.16.3 Processor Local x2APIC Affinity: reserved u16 @2, domain u32 @4,
                     // x2APIC ID u32 @8, flags u32 @12, clock domain u32 @16, reserved u32 @20
                guard entry.field(UInt32.self, at: 12) & 1 != 0 else { break }
                processors.append(ProcessorAffinity(
                    apicID: APICID(entry.field(UInt32.self, at: 8)), domain: entry.field(UInt32.self, at: 4),
                    isX2APIC: true))
            default:
                break  // Other structure types are not needed; their bounds were checked above.
            }
            offset += entryLength
        }
        self.init(processors: processors, memory: memory)
    }

    /// The structure size of each entry type this parser reads; longer entries are
    /// accepted (later spec revisions may append fields).
    static func minimumLength(ofType type: UInt8) -> Int {
        switch type {
        case 0: 16
        case 1: 40
        case 2: 24
        default: 2
        }
    }
}
