// Fuzzes the boot image (the programs `swordfish build` packs for the kernel) and, as
// the kernel does next, each program in it as an ELF executable: the input is the image.

import Basics
import BootInfo
import ELF
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzBootImage(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = input(data, size)
    let image: BootImage
    do throws(BootInfoError) {
        image = try BootImage(bytes)
    } catch {
        _ = error.message
        _ = error.detail
        return 0
    }
    require(image.programs.count <= BootImage.maximumPrograms, "program count")
    let limits = ELFLimits(allowedRange: 0x0000_0080_0000_0000..<0x0000_7FFF_FFFF_F000, maximumPages: 64)
    for program in image.programs {
        require(!program.name.isEmpty && program.name.count < BootImage.nameBytes && !program.name.contains(0), "name")
        let start = bytes.bytes.baseAddress.map { UInt(bitPattern: $0) } ?? 0
        let programStart = program.bytes.bytes.baseAddress.map { UInt(bitPattern: $0) } ?? start
        require(programStart >= start && programStart - start <= UInt(bytes.count)
                && UInt(program.bytes.count) <= UInt(bytes.count) - (programStart - start), "program inside the image")
        require(image.program(named: program.name) != nil, "found by name")
        do throws(ELFError) {
            let elf = try ELFImage(file: program.bytes, limits: limits)
            for page in elf.loadPlan { require(page.copySource.upperBound <= program.bytes.count, "plan inside the program") }
        } catch {
            _ = error.message
        }
    }
    return 0
}

runLibFuzzer(fuzzBootImage)
