// PCI configuration space, as a user-level device manager reads it (issue 13; the
// PCI Local Bus Specification 3.0, §6.1–6.2, and the PCI-to-PCI Bridge Architecture
// Specification 1.2, §3.2). Everything a device answers is untrusted: a header type no
// one defines, a bridge whose buses loop, a BAR that sizes to nothing are reported as
// problems, never followed.

/// Where a function sits: bus, device (0–31), function (0–7).
public struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bus: UInt8
    public let device: UInt8
    public let function: UInt8

    public init?(bus: UInt8, device: UInt8, function: UInt8) {
        guard device < 32, function < 8 else { return nil }
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// Configuration mechanism #1's address word (port 0xCF8) for the dword at `offset`.
    public func configurationAddress(offset: UInt8) -> UInt32 {
        0x8000_0000 | UInt32(bus) << 16 | UInt32(device) << 11 | UInt32(function) << 8 | UInt32(offset & 0xFC)
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.bus, a.device, a.function) < (b.bus, b.device, b.function)
    }

    /// `bb:dd.f`, as lspci prints it.
    public var description: String {
        func hex(_ value: UInt8, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(digits - text.count, 0)) + text
        }
        return "\(hex(bus, 2)):\(hex(device, 2)).\(function)"
    }
}

/// The dwords of configuration space, however they are reached (I/O ports in the guest,
/// a table in tests).
public protocol PCIConfigurationSpace {
    mutating func read(_ address: PCIAddress, offset: UInt8) -> UInt32
    mutating func write(_ address: PCIAddress, offset: UInt8, value: UInt32)
}

/// A base address register, sized.
public enum PCIBar: Equatable, Sendable {
    case memory(base: UInt64, size: UInt64, is64Bit: Bool, prefetchable: Bool)
    case io(base: UInt16, size: UInt16)
}

/// A BAR in use: its register index (0–5 for a device, 0–1 for a bridge) and what it
/// decodes.
public struct PCIBarRegister: Equatable, Sendable {
    public var index: Int
    public var bar: PCIBar

    public init(index: Int, bar: PCIBar) {
        self.index = index
        self.bar = bar
    }
}

/// One function's header.
public struct PCIFunction: Equatable, Sendable {
    public var address: PCIAddress
    public var vendor: UInt16
    public var device: UInt16
    public var classCode: UInt8
    public var subclass: UInt8
    public var programmingInterface: UInt8
    public var revision: UInt8
    /// 0: a device; 1: a PCI-to-PCI bridge.
    public var headerType: UInt8
    /// The BARs in use.
    public var bars: [PCIBarRegister]
    /// The legacy interrupt pin (1–4 for INTA–INTD) and line; pin 0: none.
    public var interruptPin: UInt8
    public var interruptLine: UInt8
    /// A bridge's secondary bus.
    public var secondaryBus: UInt8?
    /// Where its MSI-X table is, if its capability list has MSI-X.
    public var msix: MSIXCapability? = nil

    public init(address: PCIAddress, vendor: UInt16, device: UInt16, classCode: UInt8, subclass: UInt8, programmingInterface: UInt8,
                revision: UInt8, headerType: UInt8, bars: [PCIBarRegister], interruptPin: UInt8, interruptLine: UInt8, secondaryBus: UInt8?) {
        self.address = address
        self.vendor = vendor
        self.device = device
        self.classCode = classCode
        self.subclass = subclass
        self.programmingInterface = programmingInterface
        self.revision = revision
        self.headerType = headerType
        self.bars = bars
        self.interruptPin = interruptPin
        self.interruptLine = interruptLine
        self.secondaryBus = secondaryBus
    }

    public var isBridge: Bool { headerType == 1 }

    /// What the class code says it is, in a few words.
    public var kind: String { Self.kind(classCode: classCode, subclass: subclass) }

    /// What a class code and subclass say a function is, in a few words.
    public static func kind(classCode: UInt8, subclass: UInt8) -> String {
        switch (classCode, subclass) {
        case (0x01, 0x01): return "IDE controller"
        case (0x01, 0x06): return "SATA controller"
        case (0x01, _): return "storage controller"
        case (0x02, 0x00): return "Ethernet controller"
        case (0x02, _): return "network controller"
        case (0x03, _): return "display controller"
        case (0x04, _): return "multimedia controller"
        case (0x06, 0x00): return "host bridge"
        case (0x06, 0x01): return "ISA bridge"
        case (0x06, 0x04): return "PCI bridge"
        case (0x06, _): return "bridge"
        case (0x0C, 0x03): return "USB controller"
        case (0x0C, _): return "serial bus controller"
        default: return "class \(classCode)"
        }
    }
}
