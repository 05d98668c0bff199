// How capabilities come into existence at boot: the kernel creates root objects (without
// a parent) for what it owns, its share of RAM, device memory, interrupts, I/O ports,
// the kernel and notify capabilities, and the first CNode of each domain, and hands them
// to the init domain or the monitor. Every other object is retyped from one of these.
// Roots obey the same size and alignment rules as retyped objects and may not overlap
// one another.

import Basics

extension CoreCapabilities {
    /// Creates a domain's root CNode of `slotCount` slots at `base` (charged
    /// `slotCount × cnodeSlotBytes` bytes), with a capability to itself in `selfSlot`
    /// (which keeps it alive; deleting every copy of that capability destroys the
    /// CSpace). Errors: sizeNotAllowed, misaligned, regionExhausted, regionInUse,
    /// invalidSlot (selfSlot past the end).
    public mutating func createCSpace(at base: PhysicalAddress, slotCount: UInt64,
                                      selfSlot: UInt32 = 0) throws(CapabilityError) -> CSpace {
        guard let size = CapabilityType.cnode.rules.size.extent(forArgument: slotCount) else {
            throw .sizeNotAllowed
        }
        try checkRoot(.cnode, base: base.rawValue, size: size)
        guard UInt64(selfSlot) < slotCount else { throw .invalidSlot }
        let cnode = createObject(type: .cnode, base: base.rawValue, size: size, parent: nil)
        createNode(object: cnode, rights: CapabilityType.cnode.rules.rights, badge: 0,
                   at: SlotLocation(cnode: cnode, index: Int(selfSlot)))
        return CSpace(root: id(of: cnode))
    }

    /// Creates a root object with all its type's rights and puts its capability into an
    /// empty slot. `size` is the extent in the type's unit (bytes, ports, ...; a CNode's
    /// bytes), not a retype argument. Errors: wrongType(.null), sizeNotAllowed,
    /// misaligned, regionExhausted (past the end of its space), regionInUse (overlaps
    /// another root), then the destination's errors.
    @discardableResult
    public mutating func createRoot(_ type: CapabilityType, base: UInt64, size: UInt64,
                                    at address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> ObjectID {
        guard type != .null else { throw .wrongType(.null) }
        try checkRoot(type, base: base, size: size)
        let slot = try emptySlots(at: address, count: 1, in: cspace)
        let object = createObject(type: type, base: base, size: size, parent: nil)
        createNode(object: object, rights: type.rules.rights, badge: 0, at: slot)
        return id(of: object)
    }

    /// A root's extent: valid for its type, aligned, inside its space, clear of other
    /// roots in the same space. O(log roots).
    func checkRoot(_ type: CapabilityType, base: UInt64, size: UInt64) throws(CapabilityError) {
        let rules = type.rules
        guard rules.size.isValidExtent(size) else { throw .sizeNotAllowed }
        guard base % rules.size.alignment(ofExtent: size) == 0 else { throw .misaligned }
        let (end, overflow) = base.addingReportingOverflow(size)
        guard !overflow, end <= rules.space.limit, rules.space != .none || base == 0 else {
            throw .regionExhausted
        }
        guard rules.space != .none else { return }
        // Only the roots just below and at or above `base` in the ordered list can reach
        // into [base, end): those further out are separated from it by these two.
        let position = rootPosition(space: rules.space, base: base)
        for neighbour in max(position - 1, 0)..<min(position + 1, rootsByAddress.count) {
            let other = objects[rootsByAddress[neighbour]]
            if other.type.rules.space == rules.space, other.base < end, base < other.end {
                throw .regionInUse
            }
        }
    }
}

/// Splits a range of RAM into the naturally aligned power-of-two blocks that RAM roots
/// must be, largest first at each point: the range is first shrunk to whole multiples of
/// `minimum` (a power of two). At most two blocks per bit of address.
public func naturallyAlignedBlocks(of range: PhysicalRange, minimum: UInt64 = CapabilityType.pageBytes) -> [PhysicalRange] {
    var blocks: [PhysicalRange] = []
    var start = range.start.alignedUp(to: minimum).rawValue
    let end = range.end.alignedDown(to: minimum).rawValue
    while start < end {
        var size = start == 0 ? UInt64(1) << 63 : start & (0 &- start)
        while size > end - start { size >>= 1 }
        blocks.append(PhysicalRange(start: PhysicalAddress(start), end: PhysicalAddress(start + size)))
        start += size
    }
    return blocks
}
