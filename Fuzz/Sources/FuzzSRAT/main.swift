// Fuzzes the SRAT parser: the input is the table.

import ACPI
import Basics
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzSRAT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let srat: SRAT
    do throws(ACPIError) {
        srat = try SRAT(table: input(data, size))
    } catch {
        _ = error.message
        _ = error.detail
        return 0
    }
    for memory in srat.memory {
        require(memory.range.start <= memory.range.end, "memory range ordered")
    }
    for processor in srat.processors {
        require(srat.domain(of: processor.apicID) != nil, "a listed processor has a domain")
    }
    require(srat.processorDomains.count == srat.processors.count, "one pair per processor")
    return 0
}

runLibFuzzer(fuzzSRAT)
