// The init domain: the first user domain on every core, which the kernel starts at boot
// with the core's initial capabilities (Kernel/Sources/CPUDriver/InitDomain.swift):
//   slot 0 its root CNode, 1 RAM, 2 its dispatcher, 3 notify (IPIs to every core),
//   4 the kernel capability; on the bootstrap core also 5 every I/O port and 6 the
//   interrupts.
// It checks that it holds exactly these (exit 1 otherwise, which the guest tests
// notice), says so in one line, and then serves its endpoint (slot 7) from a waitset,
// sleeping in the kernel while nothing arrives. Services for other domains (memory,
// spawning) are not there yet; a message now only counts as a sign of life.
// Arguments: "<core> <core count>".
import SwordfishUser

/// The endpoint init serves, in the first slot after its initial capabilities.
let endpoint = Capability(slot: 7)

guard arguments.count == 2, let core = arguments.integer(at: 0), let coreCount = arguments.number(at: 1) else {
    print("usage: init <core> <core count>")
    exit(2)
}

// What each slot must hold (`InitialSlot`).
var expected: [(slot: UInt32, type: CapabilityType, name: String)] = [
    (InitialSlot.rootCNode, .cnode, "cnode"), (InitialSlot.ram, .physicalRAM, "ram"),
    (InitialSlot.dispatcher, .dispatcher, "dispatcher"), (InitialSlot.notify, .notify, "notify"),
    (InitialSlot.kernel, .kernel, "kernel"),
]
if core == 0 { expected += [(InitialSlot.ioPorts, .ioPortRange, "io ports"), (InitialSlot.interrupts, .irq, "interrupts")] }
var names: [String] = []
for (slot, type, name) in expected {
    let found = Capability(slot: slot).type
    guard found == type else {
        print("init on core \(core): slot \(slot) should hold \(name), found type \(found.rawValue)")
        exit(1)
    }
    names.append(name)
}
for slot in UInt32(expected.count)..<16 where Capability(slot: slot).type != .null {
    print("init on core \(core): slot \(slot) should be empty")
    exit(1)
}

do throws(InvocationStatus) { try Capability.ram.retype(to: .endpoint, into: endpoint) } catch {
    print("init on core \(core): no endpoint (\(error))")
    exit(1)
}
var line = "init on core \(core) of \(coreCount):"
for name in names { line += " " + name }
print(line)

var messages = 0
let waitset = Waitset()
do throws(InvocationStatus) { try waitset.add(endpoint: endpoint) { _ in messages += 1 } } catch {
    print("init on core \(core): cannot serve its endpoint (\(error))")
    exit(1)
}
while true { waitset.dispatch() }
