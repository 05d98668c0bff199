// Fuzzes the PVH start info, its memory map, the usable RAM derived from it, the
// command line and the module list: the input is physical memory starting at `base`,
// with the start info at `base` (where `ebx` would point).

import Basics
import BootInfo
import FuzzSupport

/// Where the input sits in the pretend physical address space; pointers in seed files
/// are absolute addresses from here.
private let base: UInt64 = 0x6000

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzPVHMemoryMap(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let memory = InputMemory(base: base, contents: input(data, size))
    let info: PVHStartInfo
    do throws(BootInfoError) {
        info = try PVHStartInfo.parse(at: PhysicalAddress(base), memory: memory)
    } catch {
        _ = error.message
        return 0
    }
    do throws(BootInfoError) {
        let line = try info.commandLine(memory: memory)
        require(line.bytes.count < KernelCommandLine.maximumLength, "command line length")
        _ = line.integer(of: "cores")
        _ = line.contains(flag: "verbose")
    } catch {
        _ = error.detail
    }
    do throws(BootInfoError) {
        let modules = try info.modules(memory: memory)
        require(modules.count == Int(info.moduleCount) && modules.count <= Int(PVHStartInfo.maximumModules), "module count")
        for module in modules { require(module.start <= module.end, "module range ordered") }
    } catch {
        _ = error.message
    }
    let map: [MemoryMapEntry]
    do throws(BootInfoError) {
        map = try info.memoryMap(memory: memory)
    } catch {
        _ = error.message
        return 0
    }
    for (index, entry) in map.enumerated() {
        require(!entry.range.isEmpty, "no empty entries")
        if index > 0 { require(map[index - 1].range.start <= entry.range.start, "sorted by start") }
    }
    let usable = map.usableRanges
    for (index, range) in usable.enumerated() {
        require(!range.isEmpty, "usable ranges are not empty")
        require(range.start.isAligned(to: 4096) && range.end.isAligned(to: 4096), "whole pages")
        if index > 0 { require(usable[index - 1].end < range.start || usable[index - 1].end == range.start, "sorted, disjoint") }
        require(map.contains { $0.kind == .usable && $0.range.start <= range.start }, "starts in usable memory")
        for entry in map where entry.kind != .usable {
            require(!entry.range.overlaps(range), "never overlaps a reservation")
        }
    }
    return 0
}

runLibFuzzer(fuzzPVHMemoryMap)
