// pci: PCI as the device manager (devmgr, User/Sources/devmgr) sees it. devmgr holds
// configuration space and every function's BARs and interrupt; this program asks it.
//
//   pci list            every function, one line each, with who holds it (the shell's
//                       `lspci`)
//   pci check <vendor:device>…
//                       exit 0 if every named function is there (the guest test)
//   pci bars            a driver's BAR through devmgr: it claims the display (QEMU's
//                       1234:1111) and gets BAR0 as a device frame; its first page,
//                       narrowed off and mapped, must read back what was written;
//                       device memory that is RAM, the local APIC, not page-aligned or
//                       held by devmgr must be refused by the monitor
import PCI
import SwordfishUser

func listing() -> [DeviceManager.Listing] {
    do throws(DeviceManager.Failure) { return try DeviceManager.list() } catch {
        print("pci: \(error)")
        exit(1)
    }
}

switch arguments.first {
case "list"?:
    for function in listing() { print(function.line) }
    exit(0)
case "check"?:
    let functions = listing()
    var missing: [String] = []
    for index in 1..<arguments.count {
        guard let wanted = arguments[index] else { continue }
        let parts = wanted.split(separator: ":")
        guard parts.count == 2, let vendor = UInt16(parts[0], radix: 16), let device = UInt16(parts[1], radix: 16) else {
            missing.append("\(wanted) (not vendor:device)")
            continue
        }
        if !functions.contains(where: { $0.function.vendor == vendor && $0.function.device == device }) { missing.append(wanted) }
    }
    guard missing.isEmpty else {
        print("pci: missing \(missing.joined(separator: " "))")
        exit(1)
    }
    print("pci: \(functions.count) functions, every one asked for is there")
    exit(0)
case "bars"?:
    let frame = Capability(slot: 5), page = Capability(slot: 6), other = Capability(slot: 7)
    let claim: DeviceManager.Claim
    do throws(DeviceManager.Failure) {
        claim = try DeviceManager.claim(.device(vendor: 0x1234, device: 0x1111)) { resource in
            if case .deviceMemory(0, _, _) = resource { return frame }
            return nil
        }
    } catch {
        print("pci: claiming the display: \(error)")
        exit(1)
    }
    var framebuffer: UInt64? = nil
    for grant in claim.grants { if case .deviceMemory(0, let base, _) = grant.resource, grant.capability != nil { framebuffer = base } }
    guard let base = framebuffer, frame.type == .deviceFrame else { print("pci: no device frame for the display's BAR0"); exit(1) }
    let window: UInt64 = 5 << 39                          // PML4 entry 5, tables in slots 2–4
    do throws(InvocationStatus) {
        try frame.narrow(first: base, count: 4096, into: page)
        let table = try makePageTable(from: .ram, into: 2, pml4Entry: 5)
        try table.map(page, at: 0, rights: [.read, .write])
    } catch {
        print("pci: mapping the framebuffer's first page: \(error)")
        exit(1)
    }
    let pixels = UnsafeMutablePointer<UInt32>(bitPattern: UInt(window))!
    pixels[0] = 0x5357_4F52
    pixels[1023] = 0xD15C_0FEE
    guard pixels[0] == 0x5357_4F52, pixels[1023] == 0xD15C_0FEE else { print("pci: the framebuffer page did not keep what was written"); exit(1) }
    var wrong: [String] = []
    for (what, address) in [("RAM", UInt64(0x10_0000)), ("the local APIC", 0xFEE0_0000), ("a part not page-aligned", base + 8),
                            ("a page devmgr holds", base)] {
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
