// pci: the first job of a user-level device manager, finding every PCI function. It asks
// the bootstrap core's monitor for configuration mechanism #1's ports (0xCF8 address,
// 0xCFC data), like any driver asks for its ports, and scans with Core/Sources/PCI, which
// takes nothing a device answers on trust. Run it on core 0.
//
//   pci list            every function, one line each, as the shell's `lspci` prints it
//   pci check <vendor:device>…
//                       exit 0 if every named function is there and the scan found no
//                       problem (the guest test)
//   pci bars            a driver's BAR from the monitor: the first page of the display's
//                       framebuffer (BAR0 of QEMU's 1234:1111), mapped, must read back
//                       what was written; device memory that is RAM, the local APIC, not
//                       page-aligned or already held must be refused
import PCI
import SwordfishUser

func hex(_ value: UInt64, digits: Int = 4) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(digits - text.count, 0)) + text
}

func describe(_ register: PCIBarRegister) -> String {
    switch register.bar {
    case .memory(let base, let size, let is64Bit, let prefetchable):
        let bytes = size >= 1 << 20 ? "\(size >> 20) MiB" : size >= 1 << 10 ? "\(size >> 10) KiB" : "\(size) bytes"
        return "BAR\(register.index) memory 0x\(hex(base, digits: 8)) \(bytes)\(is64Bit ? " 64-bit" : "")\(prefetchable ? " prefetchable" : "")"
    case .io(let base, let size):
        return "BAR\(register.index) io 0x\(hex(UInt64(base))) \(size) ports"
    }
}

func line(_ function: PCIFunction) -> String {
    var text = "\(function.address) \(hex(UInt64(function.vendor))):\(hex(UInt64(function.device))) \(function.kind)"
    if function.interruptPin != 0 {
        text += ", INT\(["A", "B", "C", "D"][Int(function.interruptPin) - 1]) irq \(function.interruptLine)"
    }
    if let bus = function.secondaryBus { text += ", bus \(bus) behind it" }
    for register in function.bars { text += ", " + describe(register) }
    return text
}

let ports = Capability(slot: 2)
do throws(MonitorStatus) {
    try Monitor.ioPorts(PCIPortSpace.addressPort, count: PCIPortSpace.portCount, into: ports)
} catch {
    print("pci: no configuration ports (\(error)); run it on core 0")
    exit(1)
}
var space = PCIPortSpace(read: { try? ports.read(port: $0, width: .doubleWord) },
                         write: { (try? ports.write(port: $0, width: .doubleWord, value: $1)) != nil })
let (functions, problems) = PCIEnumeration.scan(&space)

switch arguments.first {
case "list"?:
    for function in functions { print(line(function)) }
    for problem in problems { print("pci: \(problem)") }
    exit(0)
case "check"?:
    var missing: [String] = []
    for index in 1..<arguments.count {
        guard let wanted = arguments[index] else { continue }
        let parts = wanted.split(separator: ":")
        guard parts.count == 2, let vendor = UInt16(parts[0], radix: 16), let device = UInt16(parts[1], radix: 16) else {
            missing.append("\(wanted) (not vendor:device)")
            continue
        }
        if !functions.contains(where: { $0.vendor == vendor && $0.device == device }) { missing.append(wanted) }
    }
    for problem in problems { print("pci: \(problem)") }
    guard missing.isEmpty, problems.isEmpty else {
        print("pci: missing \(missing.joined(separator: " ")); \(problems.count) problems")
        exit(1)
    }
    print("pci: \(functions.count) functions, every one asked for is there")
    exit(0)
case "bars"?:
    guard let display = functions.first(where: { $0.vendor == 0x1234 && $0.device == 0x1111 }),
          case .memory(let base, _, _, _)? = display.bars.first(where: { $0.index == 0 })?.bar else {
        print("pci: no display with a memory BAR0 to try")
        exit(1)
    }
    let page = Capability(slot: 6), other = Capability(slot: 7)
    do throws(MonitorStatus) { try Monitor.deviceMemory(base, bytes: 4096, into: page) } catch {
        print("pci: the framebuffer's first page was refused: \(error)")
        exit(1)
    }
    guard page.type == .deviceFrame else { print("pci: it came as \(page.type), not a device frame"); exit(1) }
    let window: UInt64 = 5 << 39                          // PML4 entry 5, tables in slots 3–5
    do throws(InvocationStatus) {
        let table = try makePageTable(from: .ram, into: 3, pml4Entry: 5)
        try table.map(page, at: 0, rights: [.read, .write])
    } catch {
        print("pci: mapping the framebuffer page: \(error)")
        exit(1)
    }
    let pixels = UnsafeMutablePointer<UInt32>(bitPattern: UInt(window))!
    pixels[0] = 0x5357_4F52
    pixels[1023] = 0xD15C_0FEE
    guard pixels[0] == 0x5357_4F52, pixels[1023] == 0xD15C_0FEE else { print("pci: the framebuffer page did not keep what was written"); exit(1) }
    var wrong: [String] = []
    for (what, address) in [("RAM", UInt64(0x10_0000)), ("the local APIC", 0xFEE0_0000), ("a part not page-aligned", base + 8),
                            ("a page already held", base)] {
        do throws(MonitorStatus) {
            try Monitor.deviceMemory(address, bytes: 4096, into: other)
            wrong.append("\(what) was handed out")
            _ = try? other.delete()
        } catch {
            if error != .unavailable { wrong.append("\(what): \(error), expected unavailable") }
        }
    }
    guard wrong.isEmpty else { print("pci: \(wrong.joined(separator: "; "))"); exit(1) }
    print("pci: the display's framebuffer page reads back what was written; every refusal was right")
    exit(0)
default:
    print("usage: pci list | check <vendor:device>… | bars")
    exit(2)
}
