// Objects whose capabilities cross cores. The monitors carry copies of RAM, frames,
// device frames, I/O port ranges and interrupt ranges between cores and keep them consistent by protocol (Core/Sources/CapabilityProtocols,
// docs/capabilities.md); this core's database only has to let them, and to keep every
// other domain from going around them.
//
// - A *shared* object may have copies or descendants on other cores. A domain's revoke
//   of it (or of an ancestor) and its retype are refused with `sharedAcrossCores`: a
//   local revoke would leave the other cores' copies alive, and a local retype would
//   not be seen by them. The monitor, holding the kernel capability, does both by
//   protocol and then here with `sweep` and `retypeShared`, which ignore the mark. It
//   clears the mark (`unmarkShared`) when a memory service's piece is back in its pool,
//   the service's capability alone.
// - *Adopt* makes a capability for an object named by its type, base and size as the
//   monitors' messages name it: another copy if this core has the object already (its
//   mark as it was: this core's own memory is marked when it first leaves), else a new
//   root for another core's memory (or device), marked shared. Whether the memory is
//   another core's is for the caller (the kernel's service) to check; here the usual
//   rules for roots apply (right size and alignment, inside the type's space, no
//   overlap with any other root of that space), and a device frame must lie in the
//   device memory the caller names, so it never names RAM.

extension CoreCapabilities {
    /// Marks the object of the capability at `address` as shared across cores. Refused
    /// with regionInUse while an object not yet shared has descendants: the protocols
    /// know only the descendants made after the mark (through `retypeShared`), so one
    /// made before could overlap a retype on another core.
    public mutating func markShared(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) {
        let object = nodes[try occupiedNode(at: address, in: cspace)].object
        guard objects[object].shared || objects[object].firstChild == nil else { throw .regionInUse }
        objects[object].shared = true
    }

    /// Clears the mark once the object is this capability alone again (the protocols
    /// revoked every copy and descendant elsewhere, and the sweep did here): refused with
    /// regionInUse while it has another copy or a descendant on this core.
    public mutating func unmarkShared(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) {
        let object = nodes[try occupiedNode(at: address, in: cspace)].object
        guard objects[object].copyCount == 1, objects[object].firstChild == nil else { throw .regionInUse }
        objects[object].shared = false
    }

    /// Whether the object of the capability at `address` is marked shared.
    public func isShared(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> Bool {
        objects[nodes[try occupiedNode(at: address, in: cspace)].object].shared
    }

    /// Whether the monitors carry objects of `type` between cores (a switch, not a
    /// static table: a lazily made global would be written by whichever core came first).
    public static func isAdoptable(_ type: CapabilityType) -> Bool {
        switch type {
        case .physicalRAM, .frame, .deviceFrame, .ioPortRange, .irq: return true
        default: return false
        }
    }

    /// A capability with all its type's rights for the object `type`, `base`, `size` (RAM,
    /// a frame, a device frame, I/O ports or interrupts) in the empty slot `address`: a
    /// copy of the live object if this core has it (shared or not, as it was), else (if
    /// `mayCreateRoot`) a new shared root. Errors: wrongType (not a type the monitors
    /// carry), outsideRange (a device frame not wholly inside `deviceMemory`, so possibly
    /// RAM), regionInUse (no such object, and no root may be made), those of a root's
    /// placement (sizeNotAllowed, misaligned, regionExhausted: past its space,
    /// regionInUse: it overlaps an object of its space that is not it), then the
    /// destination's.
    @discardableResult
    public mutating func adopt(_ type: CapabilityType, base: UInt64, size: UInt64, mayCreateRoot: Bool = true,
                               deviceMemory: Range<UInt64> = 0..<0,
                               at address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> ObjectID {
        guard Self.isAdoptable(type) else { throw .wrongType(type) }
        if type == .deviceFrame {
            let (end, overflow) = base.addingReportingOverflow(size)
            guard !overflow, size > 0, deviceMemory.lowerBound <= base, end <= deviceMemory.upperBound else { throw .outsideRange }
        }
        if let existing = liveObject(type, base: base, size: size) {
            let slot = try emptySlots(at: address, count: 1, in: cspace)
            createNode(object: existing, rights: type.rules.rights, badge: 0, at: slot,
                       after: objects[existing].firstCopy)
            return id(of: existing)
        }
        guard mayCreateRoot else { throw .regionInUse }
        let made = try createRoot(type, base: base, size: size, at: address, in: cspace)
        objects[Int(made.index)].shared = true
        return made
    }

    /// The live object of exactly this type and extent, found by walking down the tree
    /// from the root that covers it (children are disjoint and in address order).
    func liveObject(_ type: CapabilityType, base: UInt64, size: UInt64) -> Int? {
        let end = base &+ size
        var next = firstRoot
        while let current = next {
            let record = objects[current]
            if record.type.rules.space == type.rules.space, record.base <= base, end <= record.end {
                if record.type == type, record.base == base, record.size == size { return current }
                next = record.firstChild
            } else {
                next = record.nextSibling
            }
        }
        return nil
    }

    /// True if revoking `object` locally would reach a shared object: itself or one of
    /// its `descendants`.
    func reachesShared(_ object: Int, descendants: [ObjectID]) -> Bool {
        objects[object].shared || descendants.contains { objects[Int($0.index)].shared }
    }
}
