// The value a capability slot holds, as the kernel and user code see it, and the
// identity of the object behind it. Capabilities are plain values: what makes them
// authority is that only this module puts them into slots.

import Basics

/// One capability: the object it names (type and extent) and what its holder may do.
public struct Capability: Hashable, Sendable {
    public var type: CapabilityType
    /// Where the object starts, in its type's space (see `ObjectSpace`): a physical
    /// address, the first I/O port, the first interrupt number, the first core number.
    public var base: UInt64
    /// How much the object covers, in the same unit: bytes, ports, interrupts, cores.
    /// A CNode's size is its bytes (`slotCount × CapabilityType.cnodeSlotBytes`).
    public var size: UInt64
    public var rights: CapabilityRights
    /// A word that mint may set once on endpoint and notify capabilities, so a receiver
    /// can tell its senders apart; 0 means none.
    public var badge: UInt64

    public init(type: CapabilityType, base: UInt64, size: UInt64,
                rights: CapabilityRights, badge: UInt64 = 0) {
        self.type = type
        self.base = base
        self.size = size
        self.rights = rights
        self.badge = badge
    }

    /// What `identify` reports for an empty slot.
    public static var null: Capability { Capability(type: .null, base: 0, size: 0, rights: []) }

    public var isNull: Bool { type == .null }

    /// The memory the object occupies, for types in physical memory.
    public var physicalRange: PhysicalRange? {
        guard type.rules.space == .physicalMemory else { return nil }
        return PhysicalRange(start: PhysicalAddress(base), end: PhysicalAddress(base &+ size))
    }

    /// The number of slots of a CNode.
    public var cnodeSlotCount: Int? {
        type == .cnode ? Int(size / CapabilityType.cnodeSlotBytes) : nil
    }

    /// The I/O ports of an I/O port range capability, `first ..< first + count`.
    public var ioPorts: Range<UInt32>? {
        guard type == .ioPortRange, let units = units(limit: ObjectSpace.ioPorts.limit) else { return nil }
        return UInt32(units.lowerBound) ..< UInt32(units.upperBound)
    }

    /// The interrupt numbers of an IRQ capability.
    public var interrupts: Range<UInt64>? {
        type == .irq ? units(limit: ObjectSpace.interrupts.limit) : nil
    }

    /// The cores a notify capability may send IPIs to.
    public var cores: Range<Int>? {
        guard type == .notify, let units = units(limit: ObjectSpace.cores.limit) else { return nil }
        return Int(units.lowerBound) ..< Int(units.upperBound)
    }

    /// Whether units `first ..< first + count` (at least one) all lie in the object.
    public func covers(_ first: UInt64, count: UInt64) -> Bool {
        let (end, overflow) = first.addingReportingOverflow(count)
        return count > 0 && !overflow && first >= base && end <= base &+ size
    }

    /// `base ..< base + size` if it lies within `limit` (always so for capabilities this
    /// module made; a value built by hand may say anything).
    private func units(limit: UInt64) -> Range<UInt64>? {
        let (end, overflow) = base.addingReportingOverflow(size)
        return overflow || end > limit ? nil : base ..< end
    }
}

/// The identity of one object on this core: two capabilities name the same object exactly
/// when their `ObjectID`s are equal. The generation changes each time the record is
/// reused, so an ID the kernel kept past the object's death no longer matches.
public struct ObjectID: Hashable, Sendable {
    public var index: Int32
    public var generation: UInt32
    public init(index: Int32, generation: UInt32) {
        self.index = index
        self.generation = generation
    }
}

/// What `retype` created: `count` objects of `size` each, back to back from `base`.
public struct Retyped: Equatable, Sendable {
    public var type: CapabilityType
    public var base: UInt64
    public var size: UInt64
    public var count: Int
    /// The type of the capability that was retyped.
    public var sourceType: CapabilityType

    /// True when the new objects were carved from untyped RAM into a typed object, so the
    /// kernel must clear `base ..< base + size × count` before anyone uses it. Splitting an
    /// object into smaller ones of its own type (and RAM into RAM) keeps the contents.
    public var needsClearing: Bool { sourceType == .physicalRAM && type != .physicalRAM }
}

/// An object that died: its last capability was deleted (or it was revoked) and it had
/// no descendants left. The kernel drops its per-object state (a dispatcher leaves the
/// run queue, an endpoint wakes its waiters, a page table's mappings go).
public struct Reclaimed: Equatable, Sendable {
    public var object: ObjectID
    public var type: CapabilityType
    public var base: UInt64
    public var size: UInt64
    /// The object had no parent. Its extent leaves the capability system: RAM and frames
    /// go back to whoever created the root (the core's memory share). Otherwise the extent
    /// is back in its parent's space, which can be retyped again.
    public var wasRoot: Bool
}
