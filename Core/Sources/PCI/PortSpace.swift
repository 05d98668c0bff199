// Configuration mechanism #1 (PCI Local Bus Specification 3.0, §3.2.2.3.2): the dword
// address goes to port 0xCF8, the dword itself through 0xCFC. The ports are reached
// however the caller reaches them (in the guest, an I/O port capability); a refused
// access reads as all ones, as an absent function does.

/// Configuration space through configuration mechanism #1's ports.
public struct PCIPortSpace: PCIConfigurationSpace {
    public static let addressPort: UInt16 = 0xCF8
    public static let dataPort: UInt16 = 0xCFC
    /// The ports to ask for: 0xCF8 up to 0xCFF.
    public static let portCount: UInt16 = 8

    let readPort: (UInt16) -> UInt32?
    let writePort: (UInt16, UInt32) -> Bool

    /// `read` and `write` move a dword from or to a port; nil or false when refused.
    public init(read: @escaping (UInt16) -> UInt32?, write: @escaping (UInt16, UInt32) -> Bool) {
        readPort = read
        writePort = write
    }

    public mutating func read(_ address: PCIAddress, offset: UInt8) -> UInt32 {
        guard writePort(Self.addressPort, address.configurationAddress(offset: offset)) else { return 0xFFFF_FFFF }
        return readPort(Self.dataPort) ?? 0xFFFF_FFFF
    }

    public mutating func write(_ address: PCIAddress, offset: UInt8, value: UInt32) {
        guard writePort(Self.addressPort, address.configurationAddress(offset: offset)) else { return }
        _ = writePort(Self.dataPort, value)
    }
}

/// The command register's bits a driver sets or clears (§6.2.2).
public struct PCICommand: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let ioSpace = Self(rawValue: 1 << 0)
    public static let memorySpace = Self(rawValue: 1 << 1)
    /// The device may read and write memory itself (DMA): a virtio device needs it.
    public static let busMaster = Self(rawValue: 1 << 2)
    /// The device may not assert its INTx line.
    public static let interruptDisable = Self(rawValue: 1 << 10)
}

extension PCIConfigurationSpace {
    /// Sets `enable` and clears `disable` in the function's command register, leaving
    /// its other bits, and never writing ones into the status register beside it (whose
    /// bits a write of one clears).
    public mutating func updateCommand(of address: PCIAddress, enable: PCICommand, disable: PCICommand = []) {
        let command = UInt16(truncatingIfNeeded: read(address, offset: 0x04))
        write(address, offset: 0x04, value: UInt32((command | enable.rawValue) & ~disable.rawValue))
    }

    /// The function's command register.
    public mutating func command(of address: PCIAddress) -> PCICommand {
        PCICommand(rawValue: UInt16(truncatingIfNeeded: read(address, offset: 0x04)))
    }
}
