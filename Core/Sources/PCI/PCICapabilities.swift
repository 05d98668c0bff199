// A function's capability list (PCI Local Bus Specification 3.0, §6.7) and the MSI-X
// capability in it (§6.8.2). The list is a chain in configuration space: status bit 4
// says there is one, the byte at 0x34 points at the first entry, and each entry starts
// with its id and the pointer to the next (0: the end). Every answer is the device's
// and untrusted: a pointer into the header (below 0x40) or past the 256 bytes ends the
// walk with a problem, the two low bits of a pointer are reserved and dropped, an
// entry seen before (a loop) ends it, and no walk takes more than the 48 entries the
// space can hold.

/// One entry of the capability list: its id and where it starts.
public struct PCICapability: Equatable, Sendable {
    public var id: UInt8
    public var offset: UInt8

    public init(id: UInt8, offset: UInt8) {
        self.id = id
        self.offset = offset
    }

    public static let msiID: UInt8 = 0x05
    public static let msixID: UInt8 = 0x11
}

/// Where a function's MSI-X table and pending-bit array are, and how big the table is.
public struct MSIXCapability: Equatable, Sendable {
    /// The capability's offset in configuration space (Message Control is at +2).
    public var offset: UInt8
    /// Entries in the table (1–2048).
    public var tableSize: Int
    /// The BAR (register index 0–5) holding the table, and the table's offset in it.
    public var tableBAR: Int
    public var tableOffset: UInt32
    /// The BAR holding the pending-bit array, and its offset there.
    public var pendingBAR: Int
    public var pendingOffset: UInt32

    public init(offset: UInt8, tableSize: Int, tableBAR: Int, tableOffset: UInt32, pendingBAR: Int, pendingOffset: UInt32) {
        self.offset = offset
        self.tableSize = tableSize
        self.tableBAR = tableBAR
        self.tableOffset = tableOffset
        self.pendingBAR = pendingBAR
        self.pendingOffset = pendingOffset
    }

    /// Bytes of one table entry: address low, address high, data, vector control.
    public static let entryBytes = 16
    /// Message Control's bits (the upper half of the capability's first dword).
    public static let enableBit: UInt32 = 1 << 31
    public static let functionMaskBit: UInt32 = 1 << 30
    /// Vector control's mask bit (the entry's fourth dword).
    public static let entryMasked: UInt32 = 1

    /// The capability's fields from its three dwords (id/next/control, table, PBA); nil
    /// (with why) for a BAR indicator past 5, which names no BAR.
    public init(offset: UInt8, dwords: (UInt32, UInt32, UInt32)) throws(PCICapabilityProblem) {
        let tableBAR = Int(dwords.1 & 7), pendingBAR = Int(dwords.2 & 7)
        guard tableBAR < 6 else { throw .badBARIndicator(offset: offset, indicator: tableBAR) }
        guard pendingBAR < 6 else { throw .badBARIndicator(offset: offset, indicator: pendingBAR) }
        self.init(offset: offset, tableSize: Int(dwords.0 >> 16 & 0x7FF) + 1, tableBAR: tableBAR, tableOffset: dwords.1 & ~7,
                  pendingBAR: pendingBAR, pendingOffset: dwords.2 & ~7)
    }
}

/// What was wrong with a capability list.
public enum PCICapabilityProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// A pointer into the header or past configuration space.
    case pointerOutOfBounds(UInt8)
    /// An entry pointed at again: the list loops.
    case loop(at: UInt8)
    /// More entries than the space holds.
    case tooLong
    /// An MSI-X BAR indicator (BIR) of 6 or 7.
    case badBARIndicator(offset: UInt8, indicator: Int)

    public var description: String {
        switch self {
        case .pointerOutOfBounds(let pointer): return "capability pointer 0x\(String(pointer, radix: 16)) is outside 0x40–0xFF; list cut there"
        case .loop(let offset): return "capability list loops back to 0x\(String(offset, radix: 16)); cut there"
        case .tooLong: return "capability list longer than the space holds; cut"
        case .badBARIndicator(let offset, let indicator): return "MSI-X at 0x\(String(offset, radix: 16)) names BAR \(indicator); ignored"
        }
    }
}

public enum PCICapabilities {
    /// Status register bit 4 (the upper half of dword 0x04): the function has a list.
    public static let listBit: UInt32 = 1 << 20
    public static let pointerOffset: UInt8 = 0x34
    /// The most entries 0x40–0xFF can hold (four bytes each).
    public static let entryLimit = 48

    /// The function's capability list, in order, and what cut it short (nil: it ended).
    public static func list<Space: PCIConfigurationSpace>(of address: PCIAddress, in space: inout Space) -> ([PCICapability], PCICapabilityProblem?) {
        guard space.read(address, offset: 0x04) & listBit != 0 else { return ([], nil) }
        var found: [PCICapability] = []
        var seen = [Bool](repeating: false, count: 64)
        var pointer = UInt8(truncatingIfNeeded: space.read(address, offset: pointerOffset)) & 0xFC
        while pointer != 0 {
            guard pointer >= 0x40 else { return (found, .pointerOutOfBounds(pointer)) }
            guard !seen[Int(pointer >> 2)] else { return (found, .loop(at: pointer)) }
            guard found.count < entryLimit else { return (found, .tooLong) }
            seen[Int(pointer >> 2)] = true
            let header = space.read(address, offset: pointer)
            found.append(PCICapability(id: UInt8(truncatingIfNeeded: header), offset: pointer))
            pointer = UInt8(truncatingIfNeeded: header >> 8) & 0xFC
        }
        return (found, nil)
    }

    /// The function's MSI-X capability, if its list has one, and any problems met.
    public static func msix<Space: PCIConfigurationSpace>(of address: PCIAddress, in space: inout Space) -> (MSIXCapability?, [PCICapabilityProblem]) {
        let (entries, cut) = list(of: address, in: &space)
        var problems: [PCICapabilityProblem] = cut.map { [$0] } ?? []
        guard let entry = entries.first(where: { $0.id == PCICapability.msixID }) else { return (nil, problems) }
        // The entry's three dwords must lie inside the space.
        guard entry.offset <= 0xFF - 11 else {
            problems.append(.pointerOutOfBounds(entry.offset))
            return (nil, problems)
        }
        let dwords = (space.read(address, offset: entry.offset), space.read(address, offset: entry.offset + 4),
                      space.read(address, offset: entry.offset + 8))
        do throws(PCICapabilityProblem) {
            return (try MSIXCapability(offset: entry.offset, dwords: dwords), problems)
        } catch {
            problems.append(error)
            return (nil, problems)
        }
    }
}

extension PCIConfigurationSpace {
    /// Turns the function's MSI-X on (function mask clear) or off, leaving the rest of
    /// Message Control and the capability's header as they are; whether it reads back so.
    public mutating func setMSIX(of address: PCIAddress, at capability: MSIXCapability, enabled: Bool) -> Bool {
        let dword = read(address, offset: capability.offset)
        let updated = enabled ? (dword | MSIXCapability.enableBit) & ~MSIXCapability.functionMaskBit : dword & ~MSIXCapability.enableBit
        write(address, offset: capability.offset, value: updated)
        return read(address, offset: capability.offset) & MSIXCapability.enableBit == (enabled ? MSIXCapability.enableBit : 0)
    }
}
