// Fuzzes the walk from the RSDP through the root table to the MADT and SRAT, pointers
// and all: the input is physical memory starting at `base`, with the RSDP at `base`.

import ACPI
import Basics
import FuzzSupport

/// Where the input sits in the pretend physical address space (the BIOS area, where
/// firmware puts the RSDP); pointers in seed files are absolute addresses from here.
private let base: UInt64 = 0xE_0000

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzACPITables(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let memory = InputMemory(base: base, contents: input(data, size))
    let tables: ACPITables
    do throws(ACPIError) {
        tables = try ACPITables.locate(rsdp: PhysicalAddress(base), memory: memory)
    } catch {
        _ = error.message
        return 0
    }
    require(tables.usesXSDT == (tables.rsdp.xsdtAddress != nil), "root table choice")
    do throws(ACPIError) {
        let madt = try tables.madt(memory: memory)
        _ = CoreList.make(madt: .success(madt), bootstrap: APICID(0), limit: 16)
    } catch {
        _ = error.message
    }
    do throws(ACPIError) {
        _ = try tables.srat(memory: memory)
        if let facp = try tables.find("FACP", memory: memory) { require(facp.count >= 36, "a found table has a header") }
    } catch {
        _ = error.message
    }
    return 0
}

runLibFuzzer(fuzzACPITables)
