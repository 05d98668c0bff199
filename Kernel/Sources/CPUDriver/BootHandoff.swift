// The boot hand-off: the one place where one core writes what another core reads
// outside a channel. The bootstrap core fills one record per application core before
// it sends INIT-SIPI-SIPI; the new core copies what it needs into its own memory and
// then writes `alive` (the only field it writes). Records are never changed after the
// new core has read them.
import Arch
import Basics
import KernelMessages

struct BootHandoff {
    static let maxShareRanges = 8

    var core: CoreID
    var apicID: APICID
    var tscHz: UInt64
    var testMode: Bool
    var streamMessages: Int
    /// Where the boot image (user programs) lies, if there is one.
    var bootImage: PhysicalRange?
    /// Base of the channel area (ring i → j at a position both cores compute).
    var channelArea: UInt64
    /// APIC IDs of all cores, by CoreID: a table in the bootstrap core's memory that
    /// is read-only once boot begins.
    var apicIDs: UnsafePointer<APICID>
    var coreCount: Int
    /// The new core's share of memory.
    var shareRanges: InlineArray<8, PhysicalRange>
    var shareRangeCount: Int
    /// Device memory (the window below 4 GiB where PCI BARs lie), if the memory map
    /// gave one: device frames adopted on this core must lie in it.
    var deviceWindow: PhysicalRange? = nil
    /// The new core's boot stack: the top of its first share range, so it is the new
    /// core's memory from the first instruction.
    var stack: Range<UInt64>
    /// Written by the new core (once, 0 → 1) when its CPU driver is running.
    var alive: UInt64 = 0
    /// Tests only (`skip-core`): the new core waits `lateMilliseconds` before it does
    /// anything, longer than the bootstrap core waits for it.
    var answerLate = false

    static let stackBytes: UInt64 = 64 * 1024
    /// How long the bootstrap core waits for a new core's `alive`.
    static let answerMilliseconds: UInt64 = 1000
    /// How late a core told to answer late answers.
    static let lateMilliseconds: UInt64 = 1500
}

/// The memory the kernel can read through: everything mapped, refusing address 0 and
/// anything that runs past the mapped limit. Firmware tables and boot information are
/// read through this, so a lying pointer becomes an error, not a fault.
struct IdentityMappedMemory: PhysicalMemoryReader {
    let limit: UInt64

    func bytes(at address: PhysicalAddress, count: Int) -> ByteReader? {
        let (end, overflow) = address.rawValue.addingReportingOverflow(UInt64(max(count, 0)))
        guard address.rawValue != 0, count >= 0, !overflow, end <= limit,
              let pointer = UnsafeRawPointer(bitPattern: UInt(address.rawValue)) else { return nil }
        return ByteReader(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
