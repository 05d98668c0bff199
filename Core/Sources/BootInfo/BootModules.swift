// Boot modules: files QEMU loads next to the kernel (`-initrd`), listed by the PVH start
// info as `hvm_modlist_entry` records of four 64-bit words: physical address, size,
// command-line address, reserved (Xen's arch-x86/hvm/start_info.h).
import Basics

extension PVHStartInfo {
    public static let maximumModules: UInt32 = 16

    /// The memory each module occupies, in the order the loader listed them.
    public func modules<M: PhysicalMemoryReader>(memory: M) throws(BootInfoError) -> [PhysicalRange] {
        guard moduleCount > 0 else { return [] }
        guard moduleCount <= Self.maximumModules else { throw .tooManyModules(moduleCount) }
        let bytes = Int(moduleCount) * 32
        guard let list = memory.bytes(at: moduleListAddress, count: bytes) else { throw .unreadable(moduleListAddress) }
        var result: [PhysicalRange] = []
        for index in 0..<Int(moduleCount) {
            let address = list.load(UInt64.self, at: index * 32) ?? 0
            let size = list.load(UInt64.self, at: index * 32 + 8) ?? 0
            let (end, overflow) = address.addingReportingOverflow(size)
            guard !overflow else { throw .moduleOverflows(index: UInt32(index)) }
            result.append(PhysicalRange(start: PhysicalAddress(address), end: PhysicalAddress(end)))
        }
        return result
    }
}
