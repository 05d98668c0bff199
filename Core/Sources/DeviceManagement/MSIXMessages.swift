// devmgr's answer about a function's MSI-X (the `msix` and `setMSIX` requests in
// DeviceManagerMessages.swift): where its table and pending-bit array are, how many
// entries the table has, and whether MSI-X is on. The driver maps the table's BAR
// (devmgr granted its device frame with the claim) and writes its entries itself;
// turning MSI-X on or off is configuration space, devmgr's alone.
//
//   word 0: status 0, kind `msix` (bits 8–15), table BAR (16–23), PBA BAR (24–31),
//           table size − 1 (32–47), enabled (bit 48), every other bit clear
//   word 1: the table's offset in its BAR (8-byte aligned, below 2³²)
//   word 2: the PBA's offset in its BAR (the same)
import PCI

public struct MSIXSummary: Equatable, Sendable {
    public var capability: MSIXCapability
    public var isEnabled: Bool

    public init(capability: MSIXCapability, isEnabled: Bool) {
        self.capability = capability
        self.isEnabled = isEnabled
    }

    public var words: [UInt64] {
        [UInt64(DeviceAnswerKind.msix.rawValue) << 8 | UInt64(capability.tableBAR) << 16 | UInt64(capability.pendingBAR) << 24
            | UInt64(capability.tableSize - 1) << 32 | (isEnabled ? 1 << 48 : 0),
         UInt64(capability.tableOffset), UInt64(capability.pendingOffset)]
    }

    /// The summary in `words`; nil for anything `words` would not give (the capability's
    /// offset in configuration space is devmgr's business and reads as 0).
    public init?(words: [UInt64]) {
        guard words.count == 3, answerStatus(words) == (nil, .msix), words[0] >> 49 == 0 else { return nil }
        let tableBAR = Int(words[0] >> 16 & 0xFF), pendingBAR = Int(words[0] >> 24 & 0xFF), size = Int(words[0] >> 32 & 0xFFFF) + 1
        guard tableBAR < 6, pendingBAR < 6, size <= 2048, words[1] <= UInt64(UInt32.max), words[1] % 8 == 0,
              words[2] <= UInt64(UInt32.max), words[2] % 8 == 0 else { return nil }
        capability = MSIXCapability(offset: 0, tableSize: size, tableBAR: tableBAR, tableOffset: UInt32(words[1]),
                                    pendingBAR: pendingBAR, pendingOffset: UInt32(words[2]))
        isEnabled = words[0] >> 48 & 1 == 1
    }
}
