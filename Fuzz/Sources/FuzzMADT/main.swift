// Fuzzes the MADT parser and the core list built from it: the input is the table.

import ACPI
import Basics
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzMADT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let result: Result<MADT, ACPIError>
    do throws(ACPIError) {
        result = .success(try MADT(table: input(data, size)))
    } catch {
        _ = error.message
        _ = error.detail
        result = .failure(error)
    }
    if case .success(let madt) = result {
        // Every ISA IRQ routes somewhere: through its first ISA override, else to itself.
        for irq in UInt8(0) ... 255 {
            let route = madt.route(isaIRQ: irq)
            let override = madt.interruptOverrides.first { $0.bus == 0 && $0.sourceIRQ == irq }
            require(route.globalInterrupt == override?.globalInterrupt ?? UInt32(irq), "an IRQ routes to its override's GSI or its own")
            if let controller = madt.ioAPIC(handling: route.globalInterrupt) {
                require(controller.globalInterruptBase <= route.globalInterrupt, "the I/O APIC's inputs start at or below the GSI")
            }
        }
    }
    let bootstrap = APICID(size > 0 ? UInt32(data![0]) : 0)
    for limit in [0, 1, 4, 300] {
        let cores = CoreList.make(madt: result, bootstrap: bootstrap, limit: limit)
        require(cores.apicIDs.first == bootstrap, "core 0 is the bootstrap core")
        require(cores.count >= 1 && cores.count <= max(1, limit), "core count within the limit")
        require(Set(cores.apicIDs.map(\.rawValue)).count == cores.count, "no APIC ID twice")
        for note in cores.notes {
            _ = note.message
            _ = note.detail
        }
    }
    return 0
}

runLibFuzzer(fuzzMADT)
