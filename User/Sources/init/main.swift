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

enum Slot {
    static let endpoint: UInt64 = 7
}

/// The numbers in the argument string.
func numbers(_ text: [UInt8]) -> [Int] {
    var result: [Int] = [], current: Int? = nil
    for byte in text + [32] {
        if byte >= 48 && byte <= 57 { current = (current ?? 0) * 10 + Int(byte - 48) } else if let value = current {
            result.append(value)
            current = nil
        }
    }
    return result
}

let given = numbers(arguments)
guard given.count == 2 else {
    print("usage: init <core> <core count>")
    exit(2)
}
let core = given[0], coreCount = UInt64(given[1])

// Type numbers as Core/Sources/Capabilities/CapabilityType.swift has them, and what
// each slot must hold.
let cnode: UInt64 = 4, ram: UInt64 = 1, dispatcher: UInt64 = 9, irq: UInt64 = 11, ioPorts: UInt64 = 12
let kernel: UInt64 = 13, notify: UInt64 = 14, endpoint: UInt64 = 10
var expected: [(slot: UInt64, type: UInt64, name: String)] = [
    (0, cnode, "cnode"), (1, ram, "ram"), (2, dispatcher, "dispatcher"), (3, notify, "notify"), (4, kernel, "kernel"),
]
if core == 0 { expected += [(5, ioPorts, "io ports"), (6, irq, "interrupts")] }
var names: [String] = []
for (slot, type, name) in expected {
    let found = invoke(slot, CapabilityOperation.identify.rawValue)
    guard found.status == 0, found.value & 0xFF == type else {
        print("init on core \(core): slot \(slot) should hold \(name), found type \(found.value & 0xFF) (status \(found.status))")
        exit(1)
    }
    names.append(name)
}
for slot in UInt64(expected.count)..<16 where invoke(slot, CapabilityOperation.identify.rawValue).value & 0xFF != 0 {
    print("init on core \(core): slot \(slot) should be empty")
    exit(1)
}

let made = invoke(1, CapabilityOperation.retype.rawValue, endpoint, 0, 1, Slot.endpoint)
guard made.status == 0 else {
    print("init on core \(core): no endpoint (status \(made.status))")
    exit(1)
}
var line = "init on core \(core) of \(coreCount):"
for name in names { line += " " + name }
print(line)

var messages = 0
let waitset = Waitset()
waitset.add(endpoint: Slot.endpoint) { _ in messages += 1 }
while true { waitset.dispatch() }
