// What devmgr knows and decides, without hardware: every function it found, who holds
// each, the pieces of DMA memory each driver was given, and what to do, in which order,
// when a driver ends.
//
// The order is the point (docs/network.md, "A driver that dies"). A device with bus
// mastering on writes into memory by itself, and there is no IOMMU to stop it; a dead
// driver cannot stop its device. So devmgr keeps the originals of every driver's DMA
// memory, and when the driver ends it first turns bus mastering off (and resets a
// device that has a reset it knows), and only once that is done frees the memory.
// `DriverTeardown` is that order as a state machine: it offers the memory only after
// every stop step for the driver's functions was reported done, and a stop that failed
// leaves the memory held for good (leaked, not reused while a device may write it).
import PCI

/// The steps of stopping a dead driver's devices, in the order they must happen.
public enum TeardownStep: Equatable, Sendable {
    /// Clear bus mastering (and I/O and memory decoding) in the function's command register.
    case stopBusMastering(PCIAddress)
    /// Reset the device through its registers: for a legacy virtio device, write 0 to
    /// its status register (`port`).
    case resetVirtio(PCIAddress, port: UInt16)
    /// Give the DMA memory back (devmgr's originals, by its own key).
    case freeMemory(pieces: [UInt64])
    /// Take the functions' capabilities back (revoke every copy) and mark them free.
    case release(functions: [Int])
}

/// The ordered teardown of one driver: `next` gives the step to do, `finished(_:)`
/// reports how it went. Memory is offered only after every device step succeeded.
public struct DriverTeardown: Equatable, Sendable {
    public let domain: UInt64
    var deviceSteps: [TeardownStep]
    let pieces: [UInt64]
    let functions: [Int]
    var stage: Stage = .stopping

    enum Stage: Equatable, Sendable { case stopping, freeing, releasing, done, quarantined }

    init(domain: UInt64, deviceSteps: [TeardownStep], pieces: [UInt64], functions: [Int]) {
        self.domain = domain
        self.deviceSteps = deviceSteps
        self.pieces = pieces
        self.functions = functions
        if deviceSteps.isEmpty { stage = pieces.isEmpty ? .releasing : .freeing }
    }

    /// The step to do now; nil when done (or quarantined: a device did not stop, so its
    /// memory stays held and its functions stay taken).
    public var next: TeardownStep? {
        switch stage {
        case .stopping: return deviceSteps.first
        case .freeing: return .freeMemory(pieces: pieces)
        case .releasing: return .release(functions: functions)
        case .done, .quarantined: return nil
        }
    }

    /// Whether the memory may still be written by a device that did not stop.
    public var isQuarantined: Bool { stage == .quarantined }
    public var isDone: Bool { stage == .done }

    /// Reports the outcome of `next`. A step that is not `next` changes nothing.
    public mutating func finished(_ step: TeardownStep, succeeded: Bool) {
        guard step == next else { return }
        switch stage {
        case .stopping:
            guard succeeded else {
                stage = .quarantined
                return
            }
            deviceSteps.removeFirst()
            if deviceSteps.isEmpty { stage = pieces.isEmpty ? .releasing : .freeing }
        case .freeing:
            // Memory the service would not take back stays ours: still nothing reuses it.
            stage = .releasing
        case .releasing:
            stage = .done
        case .done, .quarantined:
            break
        }
    }
}

/// Every function devmgr found, who holds it, and each driver's DMA memory.
public struct DeviceTable: Sendable {
    public struct Entry: Equatable, Sendable {
        public var function: PCIFunction
        /// The domain that holds it (raw `SystemDomainID`), nil if free.
        public var claimant: UInt64?
        /// True while its driver's teardown runs or after it was quarantined.
        public var isStopping = false
    }

    /// At most this many pieces of DMA memory per driver.
    public static let piecesPerDomain = 8

    public private(set) var entries: [Entry]
    /// Pieces of DMA memory (devmgr's key for each) by the domain they were given to.
    public private(set) var pieces: [(domain: UInt64, key: UInt64, bytes: UInt64)] = []

    public init(functions: [PCIFunction]) {
        entries = functions.map { Entry(function: $0, claimant: nil) }
    }

    /// The function `selector` names that `domain` may claim, its index; nothing changes.
    /// An address names one function, taken or not; an identity or a class names the
    /// first free one (so two devices of one kind go to two drivers). The domain may run
    /// on any core: the function's capabilities reach it through the monitors.
    public func decideClaim(_ selector: DeviceSelector, by domain: UInt64) throws(DeviceManagerRefusal) -> Int {
        let named = entries.indices.filter { selector.matches(entries[$0].function) && !entries[$0].function.isBridge }
        guard !named.isEmpty else { throw .noSuchFunction }
        guard let free = named.first(where: { entries[$0].claimant == nil && !entries[$0].isStopping }) else { throw .alreadyClaimed }
        return free
    }

    /// Gives function `index` to `domain` (after `decideClaim`).
    public mutating func claim(_ index: Int, by domain: UInt64) {
        entries[index].claimant = domain
    }

    /// Whether `domain` may have another piece of DMA memory of `bytes`; nothing changes.
    public func decideDMA(bytes: UInt64, by domain: UInt64, pieceLimit: UInt64) throws(DeviceManagerRefusal) {
        guard entries.contains(where: { $0.claimant == domain && !$0.isStopping }) else { throw .notClaimed }
        guard bytes > 0, bytes <= pieceLimit, bytes % 4096 == 0 else { throw .badSize }
        guard pieces.filter({ $0.domain == domain }).count < Self.piecesPerDomain else { throw .tooManyPieces }
    }

    /// Records a piece of DMA memory given to `domain` under devmgr's `key`.
    public mutating func recordDMA(key: UInt64, bytes: UInt64, for domain: UInt64) {
        pieces.append((domain, key, bytes))
    }

    /// The domains that hold something and are not being torn down.
    public var claimants: [UInt64] {
        var result: [UInt64] = []
        for entry in entries {
            if let claimant = entry.claimant, !entry.isStopping, !result.contains(claimant) { result.append(claimant) }
        }
        for piece in pieces where !result.contains(piece.domain) { result.append(piece.domain) }
        return result
    }

    /// `domain` has ended: the teardown of everything it held, in order. Its functions
    /// are marked stopping (no one may claim them) until `release` is done.
    /// `resetPort(function)` says where a function's device is reset, if devmgr knows how.
    public mutating func driverEnded(_ domain: UInt64, resetPort: (PCIFunction) -> UInt16?) -> DriverTeardown {
        var steps: [TeardownStep] = [], functions: [Int] = []
        for index in entries.indices where entries[index].claimant == domain {
            entries[index].isStopping = true
            functions.append(index)
            steps.append(.stopBusMastering(entries[index].function.address))
            if let port = resetPort(entries[index].function) { steps.append(.resetVirtio(entries[index].function.address, port: port)) }
        }
        let keys = pieces.filter { $0.domain == domain }.map { $0.key }
        return DriverTeardown(domain: domain, deviceSteps: steps, pieces: keys, functions: functions)
    }

    /// The memory of `keys` is gone (freed): forget it.
    public mutating func forget(pieces keys: [UInt64]) {
        pieces.removeAll { keys.contains($0.key) }
    }

    /// The functions are free again (their capabilities taken back).
    public mutating func release(_ functions: [Int]) {
        for index in functions where entries.indices.contains(index) {
            entries[index].claimant = nil
            entries[index].isStopping = false
        }
    }

    /// The bytes of DMA memory the pieces `keys` hold.
    public func bytes(of keys: [UInt64]) -> UInt64 {
        pieces.filter { keys.contains($0.key) }.reduce(0) { $0 + $1.bytes }
    }
}

/// Where a legacy virtio device (vendor 1af4, devices 1000–103f, an I/O BAR 0 with its
/// registers) is reset: its status register, 0x12 into BAR 0 (virtio 1.0, §4.1.4.8).
public func virtioLegacyStatusPort(of function: PCIFunction) -> UInt16? {
    guard function.vendor == 0x1AF4, (0x1000...0x103F).contains(function.device),
          case .io(let base, let size)? = function.bars.first(where: { $0.index == 0 })?.bar, size >= 0x14,
          UInt32(base) + 0x14 <= 0x1_0000 else { return nil }
    return base + 0x12
}
