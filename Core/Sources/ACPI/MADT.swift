// The Multiple APIC Description Table says which processors exist (by local APIC ID)
// and where the interrupt controllers are. It is how the bootstrap core learns which
// cores to start, so a corrupt entry must stop the walk with an error: a zero-length
// entry would otherwise loop forever, an overlong one read past the table.

import Basics

/// ACPI 6.5 §5.2.12, "Multiple APIC Description Table (MADT)".
///
///     offset  size  field
///          0    36  header, signature "APIC"
///         36     4  local interrupt controller address (32-bit)
///         40     4  flags (bit 0: PCAT_COMPAT, the system also has 8259 PICs)
///         44     …  interrupt controller structures, each `u8 type, u8 length, …`
public struct MADT: Equatable, Sendable {
    static let entriesOffset = 44

    /// MADT flags (§5.2.12, Table "Multiple APIC Flags").
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The machine also has dual 8259 PICs, which must be masked before using APICs.
        public static let pcatCompatible = Flags(rawValue: 1)
    }

    /// A processor's local APIC, from a type 0 or type 9 entry.
    public struct Processor: Equatable, Sendable {
        public var apicID: APICID
        public var processorUID: UInt32
        /// Flags bit 0: the processor is ready to use.
        public var isEnabled: Bool
        /// Flags bit 1 (ACPI 6.3+): a disabled processor that could be brought online
        /// (a hot-plug slot).
        public var isOnlineCapable: Bool
        /// True if listed by a Processor Local x2APIC entry (type 9).
        public var isX2APIC: Bool

        public init(apicID: APICID, processorUID: UInt32, isEnabled: Bool, isOnlineCapable: Bool, isX2APIC: Bool) {
            self.apicID = apicID
            self.processorUID = processorUID
            self.isEnabled = isEnabled
            self.isOnlineCapable = isOnlineCapable
            self.isX2APIC = isX2APIC
        }
    }

    /// An I/O APIC, from a type 1 entry.
    public struct IOAPIC: Equatable, Sendable {
        public var id: UInt8
        public var address: PhysicalAddress
        /// The first global system interrupt this I/O APIC handles.
        public var globalInterruptBase: UInt32

        public init(id: UInt8, address: PhysicalAddress, globalInterruptBase: UInt32) {
            self.id = id
            self.address = address
            self.globalInterruptBase = globalInterruptBase
        }
    }

    /// An Interrupt Source Override, from a type 2 entry: ISA interrupt `sourceIRQ` is
    /// wired to global system interrupt `globalInterrupt` instead of the GSI of the
    /// same number, with the polarity and trigger mode the flags give.
    public struct InterruptSourceOverride: Equatable, Sendable {
        /// 0: ISA, the only bus the specification defines.
        public var bus: UInt8
        public var sourceIRQ: UInt8
        public var globalInterrupt: UInt32
        /// MPS INTI flags (§5.2.12.5, Table "MPS INTI Flags"): bits 0–1 polarity, 2–3
        /// trigger mode.
        public var flags: UInt16

        public init(bus: UInt8, sourceIRQ: UInt8, globalInterrupt: UInt32, flags: UInt16) {
            self.bus = bus
            self.sourceIRQ = sourceIRQ
            self.globalInterrupt = globalInterrupt
            self.flags = flags
        }

        /// The polarity the flags give; nil for the reserved encoding (2).
        public var polarity: InterruptPolarity? {
            switch flags & 3 {
            case 0: .conformsToBus
            case 1: .activeHigh
            case 3: .activeLow
            default: nil
            }
        }

        /// The trigger mode the flags give; nil for the reserved encoding (2).
        public var triggerMode: InterruptTriggerMode? {
            switch flags >> 2 & 3 {
            case 0: .conformsToBus
            case 1: .edge
            case 3: .level
            default: nil
            }
        }
    }

    /// The local APIC's physical address: the header's 32-bit field, or the address of
    /// the first Local APIC Address Override entry if there is one.
    public var localAPICAddress: PhysicalAddress
    public var flags: Flags
    /// Processors in table order, xAPIC and x2APIC entries interleaved as listed.
    public var processors: [Processor]
    public var ioAPICs: [IOAPIC]
    /// Interrupt source overrides in table order.
    public var interruptOverrides: [InterruptSourceOverride]

    public init(localAPICAddress: PhysicalAddress, flags: Flags, processors: [Processor], ioAPICs: [IOAPIC],
                interruptOverrides: [InterruptSourceOverride] = []) {
        self.localAPICAddress = localAPICAddress
        self.flags = flags
        self.processors = processors
        self.ioAPICs = ioAPICs
        self.interruptOverrides = interruptOverrides
    }

    /// Parses a MADT. `table` should come from `ACPITables.find`, which has checked the
    /// checksum; this re-checks the signature and length so that it is safe on any
    /// bytes at all. Entries end at the header's `length`, not at `table.count`.
    public init(table: ByteReader) throws(ACPIError) {
        guard table.count >= Self.entriesOffset else {
            throw .badLength(.madt, length: UInt32(truncatingIfNeeded: table.count))
        }
        let signature = TableSignature(rawValue: table.field(UInt32.self, at: 0))
        guard signature == .madt else { throw .badSignature(expected: .madt, found: signature) }
        let lengthField = table.field(UInt32.self, at: 4)
        guard lengthField >= UInt32(Self.entriesOffset) else { throw .badLength(.madt, length: lengthField) }
        guard UInt64(lengthField) <= UInt64(table.count) else { throw .truncated(.madt, length: lengthField) }
        let length = Int(lengthField)

        var localAPIC = PhysicalAddress(UInt64(table.field(UInt32.self, at: 36)))
        var sawOverride = false
        var processors: [Processor] = []
        var ioAPICs: [IOAPIC] = []
        var overrides: [InterruptSourceOverride] = []

        var offset = Self.entriesOffset
        while offset < length {
            guard length - offset >= 2 else { throw .entryOverrunsTable(offset: offset) }
            let type = table.field(UInt8.self, at: offset)
            let entryLength = Int(table.field(UInt8.self, at: offset + 1))
            guard entryLength >= 2 else { throw .zeroLengthEntry(offset: offset) }
            guard entryLength <= length - offset, let entry = table.slice(at: offset, length: entryLength) else {
                throw .entryOverrunsTable(offset: offset)
            }
            guard entryLength >= Self.minimumLength(ofType: type) else { throw .entryTooShort(offset: offset) }

            switch type {
            case 0:  // §5.2.12.2 Processor Local APIC: uid u8 @2, APIC ID u8 @3, flags u32 @4
                let flags = entry.field(UInt32.self, at: 4)
                processors.append(Processor(
                    apicID: APICID(UInt32(entry.field(UInt8.self, at: 3))),
                    processorUID: UInt32(entry.field(UInt8.self, at: 2)),
                    isEnabled: flags & 1 != 0, isOnlineCapable: flags & 2 != 0, isX2APIC: false))
            case 1:  // §5.2.12.3 I/O APIC: id u8 @2, reserved @3, address u32 @4, GSI base u32 @8
                ioAPICs.append(IOAPIC(
                    id: entry.field(UInt8.self, at: 2),
                    address: PhysicalAddress(UInt64(entry.field(UInt32.self, at: 4))),
                    globalInterruptBase: entry.field(UInt32.self, at: 8)))
            case 2:  // §5.2.12.5 Interrupt Source Override: bus u8 @2, source u8 @3, GSI u32 @4, flags u16 @8
                overrides.append(InterruptSourceOverride(
                    bus: entry.field(UInt8.self, at: 2), sourceIRQ: entry.field(UInt8.self, at: 3),
                    globalInterrupt: entry.field(UInt32.self, at: 4), flags: entry.field(UInt16.self, at: 8)))
            case 5:  // §5.2.12.8 Local APIC Address Override: reserved u16 @2, address u64 @4
                if !sawOverride {
                    localAPIC = PhysicalAddress(entry.field(UInt64.self, at: 4))
                    sawOverride = true
                }
            case 9:  // §5.2.12.12 Processor Local x2APIC: reserved u16 @2, x2APIC ID u32 @4, flags u32 @8, uid u32 @12
                let flags = entry.field(UInt32.self, at: 8)
                processors.append(Processor(
                    apicID: APICID(entry.field(UInt32.self, at: 4)),
                    processorUID: entry.field(UInt32.self, at: 12),
                    isEnabled: flags & 1 != 0, isOnlineCapable: flags & 2 != 0, isX2APIC: true))
            default:
                break  // Other structure types are not needed; their bounds were checked above.
            }
            offset += entryLength
        }

        self.init(
            localAPICAddress: localAPIC, flags: Flags(rawValue: table.field(UInt32.self, at: 40)),
            processors: processors, ioAPICs: ioAPICs, interruptOverrides: overrides)
    }

    /// The structure size of each entry type this parser reads; longer entries are
    /// accepted (later spec revisions may append fields).
    static func minimumLength(ofType type: UInt8) -> Int {
        switch type {
        case 0: 8
        case 1: 12
        case 2: 10
        case 5: 12
        case 9: 16
        default: 2
        }
    }

    /// Where ISA interrupt `irq` arrives: its GSI and how it signals. Without an
    /// override (of bus 0) it is the GSI of the same number; the ISA bus's own
    /// convention, edge-triggered and active high, fills in what the flags leave to the
    /// bus (and their reserved encodings). The first override for an IRQ counts.
    public func route(isaIRQ irq: UInt8) -> InterruptRoute {
        guard let override = interruptOverrides.first(where: { $0.bus == 0 && $0.sourceIRQ == irq }) else {
            return InterruptRoute(globalInterrupt: UInt32(irq), activeLow: false, levelTriggered: false)
        }
        return InterruptRoute(globalInterrupt: override.globalInterrupt,
                              activeLow: override.polarity == .activeLow,
                              levelTriggered: override.triggerMode == .level)
    }

    /// The I/O APIC whose inputs start at or below `gsi`, nearest to it (the caller
    /// checks the input against the I/O APIC's own count of redirection entries).
    public func ioAPIC(handling gsi: UInt32) -> IOAPIC? {
        ioAPICs.filter { $0.globalInterruptBase <= gsi }.max { $0.globalInterruptBase < $1.globalInterruptBase }
    }
}

/// An interrupt's polarity in MPS INTI flags.
public enum InterruptPolarity: Equatable, Sendable {
    case conformsToBus, activeHigh, activeLow
}

/// An interrupt's trigger mode in MPS INTI flags.
public enum InterruptTriggerMode: Equatable, Sendable {
    case conformsToBus, edge, level
}

/// How an ISA interrupt reaches the I/O APICs: the input (global system interrupt)
/// and the signal's polarity and trigger mode.
public struct InterruptRoute: Equatable, Sendable {
    public var globalInterrupt: UInt32
    public var activeLow: Bool
    public var levelTriggered: Bool

    public init(globalInterrupt: UInt32, activeLow: Bool, levelTriggered: Bool) {
        self.globalInterrupt = globalInterrupt
        self.activeLow = activeLow
        self.levelTriggered = levelTriggered
    }
}
