// Finding every function: bus 0, then the buses behind each PCI-to-PCI bridge, each at
// most once (a bridge that names a bus already seen, or bus 0, is a problem, not a
// loop). BARs are sized the usual way: write all ones, read back which bits stick,
// restore what was there.

public enum PCIEnumeration {
    public static let absentVendor: UInt16 = 0xFFFF

    /// Every function the space answers for, in address order, and what was wrong.
    public static func scan<Space: PCIConfigurationSpace>(_ space: inout Space) -> (functions: [PCIFunction], problems: [String]) {
        var functions: [PCIFunction] = [], problems: [String] = []
        var seen = [Bool](repeating: false, count: 256), pending: [UInt8] = [0]
        seen[0] = true
        while let bus = pending.popLast() {
            for device in UInt8(0)..<32 {
                guard let first = PCIAddress(bus: bus, device: device, function: 0),
                      UInt16(truncatingIfNeeded: space.read(first, offset: 0)) != absentVendor else { continue }
                // Bit 7 of the header type: the device has functions 1–7 too.
                let multifunction = space.read(first, offset: 0x0C) >> 16 & 0x80 != 0
                for function in UInt8(0)..<(multifunction ? 8 : 1) {
                    let address = PCIAddress(bus: bus, device: device, function: function)!
                    guard UInt16(truncatingIfNeeded: space.read(address, offset: 0)) != absentVendor else { continue }
                    guard let found = read(address, from: &space, problems: &problems) else { continue }
                    functions.append(found)
                    if let secondary = found.secondaryBus {
                        if seen[Int(secondary)] {
                            problems.append("\(address): bridge names bus \(secondary), already scanned; not followed")
                        } else {
                            seen[Int(secondary)] = true
                            pending.append(secondary)
                        }
                    }
                }
            }
        }
        return (functions.sorted { $0.address < $1.address }, problems)
    }

    /// One function's header; nil (with a problem) for a header type no one defines.
    static func read<Space: PCIConfigurationSpace>(_ address: PCIAddress, from space: inout Space, problems: inout [String]) -> PCIFunction? {
        let identity = space.read(address, offset: 0x00)
        let classWord = space.read(address, offset: 0x08)
        let headerType = UInt8(truncatingIfNeeded: space.read(address, offset: 0x0C) >> 16) & 0x7F
        guard headerType <= 1 else {
            problems.append("\(address): header type \(headerType) is not one this scan reads")
            return nil
        }
        let interrupt = space.read(address, offset: 0x3C)
        var function = PCIFunction(
            address: address, vendor: UInt16(truncatingIfNeeded: identity), device: UInt16(truncatingIfNeeded: identity >> 16),
            classCode: UInt8(truncatingIfNeeded: classWord >> 24), subclass: UInt8(truncatingIfNeeded: classWord >> 16),
            programmingInterface: UInt8(truncatingIfNeeded: classWord >> 8), revision: UInt8(truncatingIfNeeded: classWord),
            headerType: headerType, bars: [],
            interruptPin: UInt8(truncatingIfNeeded: interrupt >> 8), interruptLine: UInt8(truncatingIfNeeded: interrupt),
            secondaryBus: headerType == 1 ? UInt8(truncatingIfNeeded: space.read(address, offset: 0x18) >> 8) : nil)
        if function.interruptPin > 4 {
            problems.append("\(address): interrupt pin \(function.interruptPin) does not exist; taken as none")
            function.interruptPin = 0
        }
        var index = 0
        while index < (headerType == 0 ? 6 : 2) {
            let (bar, registers) = sizeBar(index, of: address, in: &space, problems: &problems)
            if let bar { function.bars.append(PCIBarRegister(index: index, bar: bar)) }
            index += registers
        }
        let (msix, listProblems) = PCICapabilities.msix(of: address, in: &space)
        for problem in listProblems { problems.append("\(address): \(problem)") }
        function.msix = msix
        return function
    }

    /// BAR `index`: what it decodes (nil if unused), and how many registers it took.
    static func sizeBar<Space: PCIConfigurationSpace>(_ index: Int, of address: PCIAddress, in space: inout Space,
                                                      problems: inout [String]) -> (PCIBar?, Int) {
        let offset = UInt8(0x10 + index * 4)
        let original = space.read(address, offset: offset)
        space.write(address, offset: offset, value: 0xFFFF_FFFF)
        let mask = space.read(address, offset: offset)
        space.write(address, offset: offset, value: original)
        if original & 1 == 1 {
            // I/O: bits 2–31 (of which x86 decodes 16) hold the base.
            let size = ~(mask & 0xFFFF_FFFC) &+ 1 & 0xFFFF
            guard mask & 0xFFFF_FFFC != 0, size != 0, size & (size - 1) == 0 else { return (nil, 1) }
            return (.io(base: UInt16(truncatingIfNeeded: original & 0xFFFC), size: UInt16(truncatingIfNeeded: size)), 1)
        }
        let type = original >> 1 & 3
        guard type == 0 || type == 2 else {
            problems.append("\(address): BAR \(index) has memory type \(type), which no device uses; ignored")
            return (nil, 1)
        }
        let is64Bit = type == 2
        var base = UInt64(original & 0xFFFF_FFF0), sizeMask = UInt64(mask & 0xFFFF_FFF0) | 0xFFFF_FFFF_0000_0000
        if is64Bit {
            guard index + 1 < 6 else {
                problems.append("\(address): BAR \(index) is 64-bit but has no upper half; ignored")
                return (nil, 1)
            }
            let upperOffset = offset + 4
            let upper = space.read(address, offset: upperOffset)
            space.write(address, offset: upperOffset, value: 0xFFFF_FFFF)
            let upperMask = space.read(address, offset: upperOffset)
            space.write(address, offset: upperOffset, value: upper)
            base |= UInt64(upper) << 32
            sizeMask = UInt64(mask & 0xFFFF_FFF0) | UInt64(upperMask) << 32
        }
        guard mask & 0xFFFF_FFF0 != 0 || (is64Bit && sizeMask >> 32 != 0) else { return (nil, is64Bit ? 2 : 1) }
        let size = ~sizeMask &+ 1
        guard size != 0, size & (size &- 1) == 0 else {
            problems.append("\(address): BAR \(index) sizes to \(size) bytes, not a power of two; ignored")
            return (nil, is64Bit ? 2 : 1)
        }
        return (.memory(base: base, size: size, is64Bit: is64Bit, prefetchable: original & 8 != 0), is64Bit ? 2 : 1)
    }
}
