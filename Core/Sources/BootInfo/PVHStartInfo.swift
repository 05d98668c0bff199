// The PVH boot protocol's start-of-day structure. QEMU's `-kernel` PVH boot enters the
// kernel in 32-bit mode with `ebx` pointing at an `hvm_start_info` (Xen public header
// `arch-x86/hvm/start_info.h`). Everything the kernel learns about the machine before
// ACPI comes from here: the memory map, the command line and the RSDP address. The
// loader is untrusted, so every field is read through checked loads and every pointer
// through a `PhysicalMemoryReader`.

import Basics

/// `struct hvm_start_info`. A zero address field means "not present" (the header says
/// nothing is loaded at physical address 0).
///
///     offset  size  field
///          0     4  magic            0x336ec578 ("xEn3" with bit 7 of 'E' set)
///          4     4  version
///          8     4  flags            SIF_* bits
///         12     4  nr_modules
///         16     8  modlist_paddr
///         24     8  cmdline_paddr    NUL-terminated ASCII
///         32     8  rsdp_paddr
///         40     8  memmap_paddr     version >= 1 only
///         48     4  memmap_entries   version >= 1 only
///         52     4  reserved
public struct PVHStartInfo: Equatable, Sendable {
    public static let magic: UInt32 = 0x336E_C578
    /// Size of the version 0 structure, which ends after `rsdp_paddr`.
    static let version0Size = 40
    /// Size of the version 1 structure, which adds the memory map.
    static let version1Size = 56
    /// Firmware maps hold a few dozen entries; more than this is a corrupt count, and
    /// refusing it keeps the kernel from walking megabytes of garbage.
    public static let maximumMemoryMapEntries: UInt32 = 1024

    public var version: UInt32
    public var flags: UInt32
    public var moduleCount: UInt32
    public var moduleListAddress: PhysicalAddress
    public var commandLineAddress: PhysicalAddress?
    public var rsdpAddress: PhysicalAddress?
    /// Zero (with a zero count) for version 0 start info.
    public var memoryMapAddress: PhysicalAddress
    public var memoryMapEntryCount: UInt32

    public init(
        version: UInt32, flags: UInt32, moduleCount: UInt32, moduleListAddress: PhysicalAddress,
        commandLineAddress: PhysicalAddress?, rsdpAddress: PhysicalAddress?,
        memoryMapAddress: PhysicalAddress, memoryMapEntryCount: UInt32
    ) {
        self.version = version
        self.flags = flags
        self.moduleCount = moduleCount
        self.moduleListAddress = moduleListAddress
        self.commandLineAddress = commandLineAddress
        self.rsdpAddress = rsdpAddress
        self.memoryMapAddress = memoryMapAddress
        self.memoryMapEntryCount = memoryMapEntryCount
    }

    /// Reads and checks the start info at `address` (the value of `ebx` at entry).
    public static func parse<M: PhysicalMemoryReader>(
        at address: PhysicalAddress, memory: M
    ) throws(BootInfoError) -> PVHStartInfo {
        guard let base = memory.bytes(at: address, count: version0Size) else {
            throw .unreadable(address)
        }
        let found = base.field(UInt32.self, at: 0)
        guard found == magic else { throw .badMagic(found) }
        let version = base.field(UInt32.self, at: 4)

        var mapAddress = PhysicalAddress(0)
        var mapCount: UInt32 = 0
        if version >= 1 {
            guard let full = memory.bytes(at: address, count: version1Size) else {
                throw .unreadable(address + UInt64(version0Size))
            }
            mapAddress = PhysicalAddress(full.field(UInt64.self, at: 40))
            mapCount = full.field(UInt32.self, at: 48)
        }
        return PVHStartInfo(
            version: version,
            flags: base.field(UInt32.self, at: 8),
            moduleCount: base.field(UInt32.self, at: 12),
            moduleListAddress: PhysicalAddress(base.field(UInt64.self, at: 16)),
            commandLineAddress: presentAddress(base.field(UInt64.self, at: 24)),
            rsdpAddress: presentAddress(base.field(UInt64.self, at: 32)),
            memoryMapAddress: mapAddress,
            memoryMapEntryCount: mapCount)
    }

    private static func presentAddress(_ raw: UInt64) -> PhysicalAddress? {
        raw == 0 ? nil : PhysicalAddress(raw)
    }
}

extension ByteReader {
    /// A load from an offset the caller has already shown to be in bounds (the reader
    /// was obtained with a count that covers it). Returns 0 rather than trapping if that
    /// reasoning is ever wrong.
    func field<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        load(type, at: offset) ?? 0
    }
}
