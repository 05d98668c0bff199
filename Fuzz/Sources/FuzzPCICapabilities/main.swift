// Fuzzes the walk of a function's capability list and the reading of MSI-X: the input
// is the function's 256 bytes of configuration space (missing bytes read as all ones,
// as an absent register does). The walk must end, take each entry once, at most 48 of
// them, each inside 0x40–0xFF and dword-aligned; an MSI-X it reports names BARs 0–5
// and 1–2048 entries, and lies where the list said; turning it on and off writes only
// its own dword and changes only Message Control's enable and mask bits.

import Basics
import FuzzSupport
import PCI

struct InputSpace: PCIConfigurationSpace {
    var bytes: [UInt8]
    var writes: [(offset: UInt8, value: UInt32)] = []

    mutating func read(_ address: PCIAddress, offset: UInt8) -> UInt32 {
        let base = Int(offset & 0xFC)
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(base + index < bytes.count ? bytes[base + index] : 0xFF) << (8 * index) }
        return value
    }

    mutating func write(_ address: PCIAddress, offset: UInt8, value: UInt32) {
        writes.append((offset, value))
        let base = Int(offset & 0xFC)
        for index in 0..<4 where base + index < bytes.count { bytes[base + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzPCICapabilities(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let reader = input(data, size)
    var bytes: [UInt8] = []
    var offset = 0
    while offset < 256, let byte = reader.load(UInt8.self, at: offset) {
        bytes.append(byte)
        offset += 1
    }
    let address = PCIAddress(bus: 0, device: 3, function: 0)!
    var space = InputSpace(bytes: bytes)
    let (entries, _) = PCICapabilities.list(of: address, in: &space)
    require(entries.count <= PCICapabilities.entryLimit, "at most 48 entries")
    var seen = [Bool](repeating: false, count: 64)
    for entry in entries {
        require(entry.offset >= 0x40 && entry.offset % 4 == 0, "entries inside 0x40–0xFF, dword-aligned")
        require(!seen[Int(entry.offset >> 2)], "each entry once")
        seen[Int(entry.offset >> 2)] = true
    }
    let (msix, _) = PCICapabilities.msix(of: address, in: &space)
    require(space.writes.isEmpty, "reading the list writes nothing")
    if let msix {
        require(msix.tableBAR < 6 && msix.pendingBAR < 6, "BARs 0–5")
        require((1...2048).contains(msix.tableSize), "1–2048 entries")
        require(msix.offset <= 0xF4, "the fields inside the space")
        require(entries.contains(PCICapability(id: PCICapability.msixID, offset: msix.offset)), "where the list said")
        let before = space.read(address, offset: msix.offset)
        for enabled in [true, false] {
            _ = space.setMSIX(of: address, at: msix, enabled: enabled)
            require(space.writes.allSatisfy { $0.offset == msix.offset }, "only the capability's dword is written")
            let after = space.read(address, offset: msix.offset)
            require((after ^ before) & ~(MSIXCapability.enableBit | MSIXCapability.functionMaskBit) == 0, "only enable and mask change")
        }
    }
    return 0
}

runLibFuzzer(fuzzPCICapabilities)
