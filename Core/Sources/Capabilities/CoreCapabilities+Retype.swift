// Retype: carving new objects out of an object's unused space.
//
// Split as in seL4's decode/invoke: `decodeRetype` resolves and checks everything and
// changes nothing; `invokeRetype` cannot fail. The checks run in this order, and the
// first that fails is the error:
//
//  1. the source address resolves and holds a capability (invalidRoot, invalidSlot,
//     notACNode, slotEmpty);
//  2. the target type may be retyped from the source's type (retypeNotAllowed);
//  3. the size argument is one the target type allows (sizeNotAllowed);
//  4. 1 ≤ count ≤ maximumRetypeCount (invalidCount);
//  5. placement: an explicit offset must not start below the source's watermark
//     (regionInUse) and must be aligned for the new objects (misaligned); without an
//     offset the objects go at the first aligned place at or above the watermark;
//     either way all `count` objects must end within the source (regionExhausted);
//  6. the destination slots exist, in one CNode, and are all empty (invalidRoot,
//     invalidSlot, notACNode, slotOccupied).
//
// Retype needs no right: RAM carries none, and splitting an object of a type into
// smaller ones of the same type gives them the rights (and badge) of the capability
// split, so nothing can be gained by it. Objects of another type get their type's full
// rights and no badge.

struct RetypePlan {
    var source: Int
    var sourceNode: Int
    var type: CapabilityType
    /// The first new object's base; the others follow back to back.
    var base: UInt64
    var size: UInt64
    var count: Int
    var rights: CapabilityRights
    var badge: UInt64
    var destination: SlotLocation
}

extension CoreCapabilities {
    /// Creates `count` objects of `type` from the object named by `source`, and puts one
    /// capability to each into consecutive slots from `destination` on (in that slot's
    /// CNode). `size` is in the target's unit: bytes for RAM and frames, the slot count
    /// for CNodes, the count of ports / interrupts / cores for those types, and 0 for
    /// fixed-size types. `offset` (in the source's unit, from its base) places the first
    /// object; nil places it at the first suitably aligned point at or above the
    /// watermark. O(count).
    /// A shared object (copies or descendants on other cores) is refused with
    /// sharedAcrossCores before anything else is checked: only the monitors retype it.
    public mutating func retype(_ source: CapabilityAddress, to type: CapabilityType,
                                size: UInt64, count: Int, offset: UInt64? = nil,
                                into destination: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> Retyped {
        let sourceNode = try occupiedNode(at: source, in: cspace)
        guard !objects[nodes[sourceNode].object].shared else { throw .sharedAcrossCores }
        return try retypeShared(source, to: type, size: size, count: count, offset: offset, into: destination, in: cspace)
    }

    /// The monitor's retype, once the cross-core protocol granted it: as `retype`, for
    /// shared objects too.
    public mutating func retypeShared(_ source: CapabilityAddress, to type: CapabilityType,
                                      size: UInt64, count: Int, offset: UInt64? = nil,
                                      into destination: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> Retyped {
        let plan = try decodeRetype(source, to: type, size: size, count: count, offset: offset,
                                    into: destination, in: cspace)
        return invokeRetype(plan)
    }

    func decodeRetype(_ sourceAddress: CapabilityAddress, to type: CapabilityType,
                      size argument: UInt64, count: Int, offset: UInt64?,
                      into destination: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> RetypePlan {
        // 1. Source.
        let sourceNode = try occupiedNode(at: sourceAddress, in: cspace)
        let source = nodes[sourceNode].object
        let sourceRecord = objects[source]
        // 2. Type.
        let rules = type.rules
        guard rules.retypedFrom.contains(sourceRecord.type) else {
            throw .retypeNotAllowed(from: sourceRecord.type, to: type)
        }
        // 3. Size.
        guard let size = rules.size.extent(forArgument: argument) else { throw .sizeNotAllowed }
        // 4. Count.
        guard count >= 1, count <= Self.maximumRetypeCount else { throw .invalidCount }
        // 5. Placement, relative to the source's base.
        let alignment = rules.size.alignment(ofExtent: size)
        let used = watermark(of: source)
        let start: UInt64
        if let offset {
            guard offset >= used else { throw .regionInUse }
            let (absolute, overflow) = sourceRecord.base.addingReportingOverflow(offset)
            guard !overflow else { throw .regionExhausted }
            guard absolute % alignment == 0 else { throw .misaligned }
            start = offset
        } else {
            let (lowest, overflow) = sourceRecord.base.addingReportingOverflow(used)
            let (rounded, roundOverflow) = lowest.addingReportingOverflow(alignment - 1)
            guard !overflow, !roundOverflow else { throw .regionExhausted }
            start = (rounded & ~(alignment - 1)) - sourceRecord.base
        }
        let (total, totalOverflow) = size.multipliedReportingOverflow(by: UInt64(count))
        let (end, endOverflow) = start.addingReportingOverflow(total)
        guard !totalOverflow, !endOverflow, end <= sourceRecord.size else { throw .regionExhausted }
        // 6. Destination.
        let first = try emptySlots(at: destination, count: count, in: cspace)

        let split = type == sourceRecord.type
        let node = nodes[sourceNode]
        return RetypePlan(source: source, sourceNode: sourceNode, type: type,
                          base: sourceRecord.base + start, size: size, count: count,
                          rights: split ? node.rights.intersection(rules.rights) : rules.rights,
                          badge: split ? node.badge : 0, destination: first)
    }

    mutating func invokeRetype(_ plan: RetypePlan) -> Retyped {
        for k in 0 ..< plan.count {
            let object = createObject(type: plan.type, base: plan.base + UInt64(k) * plan.size,
                                      size: plan.size, parent: plan.source)
            createNode(object: object, rights: plan.rights, badge: plan.badge,
                       at: SlotLocation(cnode: plan.destination.cnode, index: plan.destination.index + k))
        }
        let retyped = Retyped(type: plan.type, base: plan.base, size: plan.size, count: plan.count,
                              sourceType: objects[plan.source].type)
        if retyped.needsClearing {
            effects.append(.clear(base: plan.base, size: plan.size * UInt64(plan.count), type: plan.type))
        }
        return retyped
    }
}
