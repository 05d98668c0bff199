// The legacy virtio PCI interface (virtio 1.0, §4.1.4.8): a transitional device's first
// BAR is a block of I/O ports with these registers, and the network device's
// configuration (its MAC address) follows them when MSI-X is off. The driver reaches
// them through the I/O port capability for exactly that BAR.

/// A register of the legacy interface: its offset in the I/O BAR and its width in bytes.
public struct LegacyRegister: Equatable, Sendable {
    public let offset: UInt16
    public let width: Int

    public static let deviceFeatures = Self(offset: 0x00, width: 4)
    public static let driverFeatures = Self(offset: 0x04, width: 4)
    /// The selected queue's physical address, in units of `SplitQueueLayout.alignment`.
    public static let queueAddress = Self(offset: 0x08, width: 4)
    public static let queueSize = Self(offset: 0x0C, width: 2)
    public static let queueSelect = Self(offset: 0x0E, width: 2)
    public static let queueNotify = Self(offset: 0x10, width: 2)
    public static let deviceStatus = Self(offset: 0x12, width: 1)
    /// Reading it clears it and lowers the device's interrupt line.
    public static let interruptStatus = Self(offset: 0x13, width: 1)
    /// The first byte of the device's own configuration (MSI-X off).
    public static let deviceConfiguration: UInt16 = 0x14
    /// The I/O BAR must be at least this long to hold the network device's MAC too.
    public static let networkBarBytes: UInt16 = 0x14 + 6

    // With MSI-X on in the function's configuration space, the header grows by two
    // registers (§4.1.4.8): the MSI-X table entry for configuration changes, and for
    // the selected queue (`noVector`: none; the device reads back `noVector` for an
    // entry it did not take), and the device's configuration moves behind them.
    public static let configurationVector = Self(offset: 0x14, width: 2)
    public static let queueVector = Self(offset: 0x16, width: 2)
    public static let noVector: UInt16 = 0xFFFF
    /// Where the device's own configuration starts, with MSI-X on or off.
    public static func deviceConfiguration(msix: Bool) -> UInt16 { msix ? 0x18 : 0x14 }
    /// The I/O BAR must be at least this long to hold the MAC with MSI-X on.
    public static let networkBarBytesWithMSIX: UInt16 = 0x18 + 6
}

/// The device status register's bits (§2.1).
public struct DeviceStatus: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let acknowledge = Self(rawValue: 1)
    public static let driver = Self(rawValue: 2)
    public static let driverReady = Self(rawValue: 4)
    public static let failed = Self(rawValue: 128)
}

/// The interrupt status register's bits (§4.1.4.5).
public struct InterruptStatus: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let queue = Self(rawValue: 1)
    public static let configuration = Self(rawValue: 2)
}

/// The network device (§5.1).
public enum VirtioNetwork {
    /// PCI vendor and the transitional network device's id.
    public static let vendor: UInt16 = 0x1AF4
    public static let transitionalDevice: UInt16 = 0x1000
    /// Queue 0 receives, queue 1 transmits.
    public static let receiveQueue: UInt16 = 0
    public static let transmitQueue: UInt16 = 1
    /// Feature bit 5: the device has a MAC address in its configuration. The only feature
    /// this driver takes: no checksum offload, no merged buffers, no control queue.
    public static let macFeature: UInt32 = 1 << 5
    /// The header before every frame without merged receive buffers: flags, GSO type,
    /// header length, GSO size, checksum start and offset. All zero: a plain frame.
    public static let headerBytes = 10

    /// The features to take of those the device offers.
    public static func acceptedFeatures(offered: UInt32) -> UInt32 { offered & macFeature }
}
