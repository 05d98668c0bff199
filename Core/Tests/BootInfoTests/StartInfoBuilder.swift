// Builds PVH start info fixtures (`hvm_start_info` and its memory map) byte by byte.

import Basics
import CoreTestSupport

enum StartInfoBuilder {
    static let startInfoAddress: UInt64 = 0x6000
    static let memoryMapAddress: UInt64 = 0x7000
    static let commandLineAddress: UInt64 = 0x8000

    static func startInfo(
        magic: UInt32 = 0x336E_C578, version: UInt32 = 1, flags: UInt32 = 0, modules: UInt32 = 0,
        moduleList: UInt64 = 0, commandLine: UInt64 = 0, rsdp: UInt64 = 0,
        memoryMap: UInt64 = memoryMapAddress, memoryMapEntries: UInt32 = 0
    ) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(magic)
        bytes.appendLittleEndian(version)
        bytes.appendLittleEndian(flags)
        bytes.appendLittleEndian(modules)
        bytes.appendLittleEndian(moduleList)
        bytes.appendLittleEndian(commandLine)
        bytes.appendLittleEndian(rsdp)
        if version >= 1 {
            bytes.appendLittleEndian(memoryMap)
            bytes.appendLittleEndian(memoryMapEntries)
            bytes.appendLittleEndian(UInt32(0))
        }
        return bytes
    }

    static func memoryMap(_ entries: [(address: UInt64, size: UInt64, type: UInt32)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries {
            bytes.appendLittleEndian(entry.address)
            bytes.appendLittleEndian(entry.size)
            bytes.appendLittleEndian(entry.type)
            bytes.appendLittleEndian(UInt32(0))
        }
        return bytes
    }

    /// Memory holding a version 1 start info whose map is `entries`.
    static func machine(_ entries: [(address: UInt64, size: UInt64, type: UInt32)], commandLine: [UInt8]? = nil) -> FixtureMemory {
        let memory = FixtureMemory([
            startInfoAddress: startInfo(commandLine: commandLine == nil ? 0 : commandLineAddress,
                                        memoryMapEntries: UInt32(entries.count)),
            memoryMapAddress: memoryMap(entries),
        ])
        if let commandLine { memory.place(commandLine, at: commandLineAddress) }
        return memory
    }
}

func range(_ start: UInt64, _ end: UInt64) -> PhysicalRange {
    PhysicalRange(start: PhysicalAddress(start), end: PhysicalAddress(end))
}
