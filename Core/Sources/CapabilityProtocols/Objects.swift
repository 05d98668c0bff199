// The small typed values the capability protocols speak in: the objects capabilities
// name, sets of cores, ownership epochs, tickets, and the statuses an operation ends
// with. Each wraps one integer so that a core number is never passed where a record
// number belongs.
import Basics

/// What a capability names. Identity is (kind, base, size): two capabilities name the
/// same object exactly when the three are equal, so every core can tell from a message
/// alone which of its records a message is about.
public enum ObjectKind: UInt8, Sendable, CaseIterable {
    /// Untyped memory: retyped into frames, which are its descendants.
    case ram = 1
    /// Memory a domain may map. A frame has no descendants.
    case frame = 2
    /// Device memory (a PCI BAR, say) a driver may map. Never RAM; no descendants.
    case deviceFrame = 3
    /// A range of x86 I/O ports, counted in ports. No descendants.
    case ioPorts = 4
    /// A range of interrupt numbers, counted in interrupts. No descendants.
    case interrupts = 5

    /// The space the object's base and size count in: objects in different spaces never
    /// overlap, whatever their numbers.
    public var space: Space {
        switch self {
        case .ram, .frame, .deviceFrame: return .physicalMemory
        case .ioPorts: return .ioPorts
        case .interrupts: return .interrupts
        }
    }

    /// Whether objects of this kind lie in RAM (RAM, and frames made from it).
    public var isMemory: Bool { self == .ram || self == .frame }
}

extension ObjectKind {
    /// Where an object's base and size count: physical addresses, I/O port numbers or
    /// interrupt numbers.
    public enum Space: UInt8, Sendable, Comparable {
        case physicalMemory = 0
        case ioPorts = 1
        case interrupts = 2

        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

        /// One past the largest unit an object may cover: 52 physical address bits on
        /// x86-64, 65,536 I/O ports, 32-bit interrupt numbers (as the kernel's rules).
        public var limit: UInt64 {
            switch self {
            case .physicalMemory: return 1 << 52
            case .ioPorts: return 1 << 16
            case .interrupts: return 1 << 32
            }
        }
    }
}

public struct CapabilityObject: Hashable, Comparable, Sendable {
    public static let pageSize: UInt64 = 4096
    public var kind: ObjectKind
    public var base: UInt64
    public var size: UInt64

    public init(_ kind: ObjectKind, base: UInt64, size: UInt64) {
        self.kind = kind
        self.base = base
        self.size = size
    }

    public var end: UInt64 { base &+ size }

    /// By space, then base, then larger first (an ancestor before its descendants),
    /// then kind: objects in different spaces are never interleaved.
    public static func < (a: Self, b: Self) -> Bool {
        if a.kind.space != b.kind.space { return a.kind.space < b.kind.space }
        if a.base != b.base { return a.base < b.base }
        if a.size != b.size { return a.size > b.size }
        return a.kind.rawValue < b.kind.rawValue
    }

    /// True if `other` is derived from this object: it lies within this RAM, is RAM or
    /// a frame, and is not this object. Only RAM has descendants; a device frame never
    /// lies in RAM, and ports and interrupts are other spaces.
    public func isAncestor(of other: CapabilityObject) -> Bool {
        kind == .ram && other.kind.isMemory && other != self && other.base >= base && other.end <= end
    }

    /// True if `other` is this object or one of its descendants: what a revoke of this
    /// object sweeps.
    public func covers(_ other: CapabilityObject) -> Bool { other == self || isAncestor(of: other) }

    /// Whether the two share a unit of the same space (a port range at 0xc000 does not
    /// overlap memory at 0xc000).
    public func overlaps(_ other: CapabilityObject) -> Bool {
        kind.space == other.kind.space && base < other.end && other.base < end
    }

    /// An object a correct monitor can name; anything else in a message is forged or
    /// corrupt. Non-empty and inside its space, and per kind: RAM and frames
    /// page-aligned and below `memoryLimit`; a device frame page-aligned, inside the
    /// physical address space and clear of every range in `ram` (the RAM the monitor
    /// knows of; empty if it cannot tell); ports and interrupts any base and size.
    public func isValid(memoryLimit: UInt64, ram: [Range<UInt64>] = []) -> Bool {
        let limit = kind.space.limit
        guard size > 0, size <= limit, base <= limit - size else { return false }
        switch kind {
        case .ram, .frame:
            return base % Self.pageSize == 0 && size % Self.pageSize == 0
                && size <= memoryLimit && base <= memoryLimit - size
        case .deviceFrame:
            return base % Self.pageSize == 0 && size % Self.pageSize == 0
                && !ram.contains { $0.lowerBound < end && base < $0.upperBound }
        case .ioPorts, .interrupts:
            return true
        }
    }

    /// The `count` frames a retype of this RAM into `count` equal pieces makes, or nil if
    /// this is not RAM or the pieces would not be whole pages (`count` 1...64).
    public func retyped(into count: Int) -> [CapabilityObject]? {
        guard kind == .ram, count >= 1, count <= CapabilityObject.maximumRetypeCount,
              size % UInt64(count) == 0, (size / UInt64(count)) % Self.pageSize == 0 else { return nil }
        let piece = size / UInt64(count)
        return (0..<UInt64(count)).map { CapabilityObject(.frame, base: base + $0 * piece, size: piece) }
    }

    public static let maximumRetypeCount = 64
}

/// A set of cores, one bit each: the protocols serve at most 64 cores, so a set fits a
/// message word.
public struct CoreMask: Hashable, Sendable {
    public static let maximumCores = 64
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let none = CoreMask(rawValue: 0)

    /// Cores 0..<count.
    public static func all(_ count: Int) -> CoreMask {
        count >= 64 ? CoreMask(rawValue: ~0) : CoreMask(rawValue: (1 << UInt64(max(count, 0))) - 1)
    }

    public var isEmpty: Bool { rawValue == 0 }
    public var count: Int { rawValue.nonzeroBitCount }
    public func contains(_ core: CoreID) -> Bool { core.rawValue >= 0 && core.rawValue < 64 && rawValue >> UInt64(core.rawValue) & 1 == 1 }
    public mutating func insert(_ core: CoreID) { if core.rawValue >= 0 && core.rawValue < 64 { rawValue |= 1 << UInt64(core.rawValue) } }
    public mutating func remove(_ core: CoreID) { if core.rawValue >= 0 && core.rawValue < 64 { rawValue &= ~(1 << UInt64(core.rawValue)) } }
    public func removing(_ core: CoreID) -> CoreMask { var m = self; m.remove(core); return m }
    public func union(_ other: CoreMask) -> CoreMask { CoreMask(rawValue: rawValue | other.rawValue) }
    /// The lowest core in the set.
    public var first: CoreID? { isEmpty ? nil : CoreID(rawValue.trailingZeroBitCount) }
    /// The cores in the set, lowest first.
    public var cores: [CoreID] {
        var result: [CoreID] = []
        var bits = rawValue
        while bits != 0 {
            result.append(CoreID(bits.trailingZeroBitCount))
            bits &= bits - 1
        }
        return result
    }
}

/// How many times an object's ownership has moved: a core keeps the owner with the
/// highest epoch it has heard of, so two owner updates arriving out of order on
/// different rings leave the newer one.
public struct OwnershipEpoch: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public static let first = OwnershipEpoch(1)
    public var next: OwnershipEpoch { OwnershipEpoch(rawValue &+ 1 == 0 ? 1 : rawValue &+ 1) }
}

/// Matches an answer to the message it answers, unique per sending core.
public struct CapabilityTicket: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// A local domain's request, as the guest side numbers it; the answer carries it back.
public struct CapabilityRequestID: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
}

/// How an operation ended. Every request gets exactly one.
public enum CapabilityStatus: UInt8, Sendable, CaseIterable {
    case done = 1
    /// The record named is not in this core's database.
    case noSuchCapability
    /// Retype: the object has descendants somewhere (or had, until a revoke clears them).
    case hasDescendants
    /// The object was revoked (or is being revoked) while the request waited.
    case revoked
    /// Too many requests are waiting on other cores; try again.
    case busy
    /// The receiving core could not install the copy (no such domain, or no room).
    case noRoom
    /// Retype of a frame, or into a count that does not cut whole pages.
    case notRetypeable
    /// Copy to this core itself or to a core outside the system.
    case badTarget
    /// Between monitors only: the receiver does not own the object; the asker waits for
    /// the owner's update and asks again. Never given to a domain.
    case notOwner
}
