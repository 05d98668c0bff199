// The vocabulary of the type table in CapabilityType.swift: what an object's extent is
// measured in, which sizes a type allows and how its objects are aligned, and which
// types a type may be retyped from.
//
// Alignment, one rule for every type: an object is aligned to the largest power of two
// that divides its extent (capped by the type's rule below). For power-of-two sizes that
// is natural alignment; a 12 KiB frame is 4 KiB aligned, a 2 MiB frame 2 MiB aligned, so
// large frames can later be mapped with large pages. Counted units (ports, interrupt
// numbers, cores) need no alignment.

/// One type's row in the table.
public struct CapabilityTypeRules: Sendable {
    /// What the object's base and size count.
    public var space: ObjectSpace
    /// Which sizes the objects may have and how they are aligned.
    public var size: SizeRule
    /// The types a capability of this type may be retyped from.
    public var retypedFrom: CapabilityTypeSet
    /// The rights that mean something for this type; new capabilities get all of them.
    public var rights: CapabilityRights
    /// Whether mint may give a capability of this type a badge.
    public var isBadgeable: Bool
    /// How the object takes part in address translation.
    public var mapping: MappingRole

    public init(space: ObjectSpace, size: SizeRule, retypedFrom: CapabilityTypeSet,
                rights: CapabilityRights, isBadgeable: Bool = false, mapping: MappingRole = .none) {
        self.space = space
        self.size = size
        self.retypedFrom = retypedFrom
        self.rights = rights
        self.isBadgeable = isBadgeable
        self.mapping = mapping
    }

    /// Whether some type may be retyped into this one.
    public var isRetypeTarget: Bool { !retypedFrom.isEmpty }
}

/// What an object's base and size are counted in. Objects in different spaces never
/// overlap; within a space, live objects overlap only if one descends from the other.
public enum ObjectSpace: UInt8, Sendable {
    /// No extent (Null, Kernel): base and size are 0.
    case none
    /// Bytes of physical address space.
    case physicalMemory
    /// x86 I/O port numbers.
    case ioPorts
    /// Interrupt numbers (GSIs as the I/O APIC routes them).
    case interrupts
    /// Swordfish core numbers (`CoreID`).
    case cores

    /// One past the largest unit an object may cover: 52 physical address bits on
    /// x86-64, 65536 I/O ports, 32-bit interrupt and core numbers.
    public var limit: UInt64 {
        switch self {
        case .none: 0
        case .physicalMemory: 1 << 52
        case .ioPorts: 1 << 16
        case .interrupts, .cores: 1 << 32
        }
    }
}

/// The sizes a type's objects may have. A retype names a size argument; the rule turns
/// it into the extent of one object (in the space's unit) or refuses it.
public enum SizeRule: Equatable, Sendable {
    /// No extent at all. The size argument must be 0.
    case none
    /// Exactly this many bytes (a power of two). The size argument must be 0.
    case fixed(UInt64)
    /// A power of two of bytes within the bounds (inclusive). The argument is the bytes.
    case powerOfTwo(minimum: UInt64, maximum: UInt64)
    /// A multiple of a power-of-two unit of bytes, at most `maximum`. The argument is the bytes.
    case multiple(of: UInt64, maximum: UInt64)
    /// A power-of-two count of slots within the bounds, `bytesPerSlot` bytes each.
    /// The argument is the slot count.
    case slots(minimum: UInt64, maximum: UInt64, bytesPerSlot: UInt64)
    /// Any count of units from 1 up (ports, interrupts, cores). The argument is the count.
    case units

    /// The extent of one object for a retype's size argument, nil if the rule refuses it.
    public func extent(forArgument argument: UInt64) -> UInt64? {
        switch self {
        case .none:
            return argument == 0 ? 0 : nil
        case .fixed(let bytes):
            return argument == 0 ? bytes : nil
        case .powerOfTwo(let minimum, let maximum):
            return argument.isPowerOfTwo && argument >= minimum && argument <= maximum ? argument : nil
        case .multiple(let unit, let maximum):
            return argument != 0 && argument % unit == 0 && argument <= maximum ? argument : nil
        case .slots(let minimum, let maximum, let bytesPerSlot):
            guard argument.isPowerOfTwo, argument >= minimum, argument <= maximum else { return nil }
            return argument * bytesPerSlot
        case .units:
            return argument >= 1 ? argument : nil
        }
    }

    /// Whether an object of this type may have this extent (used for boot-time roots
    /// and by the invariant check).
    public func isValidExtent(_ candidate: UInt64) -> Bool {
        switch self {
        case .none, .fixed, .powerOfTwo, .multiple, .units:
            return extent(forArgument: argument(forExtent: candidate)) == candidate
        case .slots(_, _, let bytesPerSlot):
            return candidate % bytesPerSlot == 0
                && extent(forArgument: candidate / bytesPerSlot) == candidate
        }
    }

    /// The size argument that asks for this extent.
    func argument(forExtent extent: UInt64) -> UInt64 {
        switch self {
        case .none, .fixed: 0
        case .powerOfTwo, .multiple, .units: extent
        case .slots(_, _, let bytesPerSlot): extent / bytesPerSlot
        }
    }

    /// What an object with this extent must be aligned to: the largest power of two that
    /// divides the extent, 1 for counted units and for objects without an extent.
    public func alignment(ofExtent extent: UInt64) -> UInt64 {
        switch self {
        case .none, .units: 1
        case .fixed, .powerOfTwo, .multiple, .slots: extent == 0 ? 1 : extent & (0 &- extent)
        }
    }
}

/// How an object takes part in address translation.
public enum MappingRole: Equatable, Sendable {
    /// Not part of address translation.
    case none
    /// Mapped as pages by a page-table entry (or a large-page entry of a higher level).
    case page
    /// A translation table of the given level: 4 is the PML4, 1 the page table.
    case table(level: Int)
}

/// A set of capability types, one bit per type.
public struct CapabilityTypeSet: Hashable, Sendable, ExpressibleByArrayLiteral {
    public var bits: UInt32
    public init(bits: UInt32) { self.bits = bits }
    @inline(__always)
    public init(arrayLiteral types: CapabilityType...) {
        bits = 0
        for type in types { bits |= 1 << UInt32(type.rawValue) }
    }
    @inline(__always)
    public func contains(_ type: CapabilityType) -> Bool { bits & (1 << UInt32(type.rawValue)) != 0 }
    public var isEmpty: Bool { bits == 0 }
}

extension UInt64 {
    var isPowerOfTwo: Bool { self != 0 && self & (self &- 1) == 0 }
}
