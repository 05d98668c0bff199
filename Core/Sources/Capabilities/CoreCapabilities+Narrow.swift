// Narrow: a capability for part of a range of counted units (I/O ports, interrupts,
// cores) or of device memory (whole pages), made as a child of the range, so that
// revoking the range removes it.
//
// Retype carves an object upwards from its watermark and never searches for a hole.
// Narrow does search: a range of units is not space to be used up but names hardware
// the asker needs exactly (the serial port's eight ports, the clock's interrupt), and
// the monitor hands ranges out in whatever order drivers start. It walks the children
// down from the last (they are in ascending order and disjoint) to the first that
// starts below the new range: O(children), at most the range's size.
//
// Checks, in order: the source resolves (invalidRoot, invalidSlot, notACNode,
// slotEmpty); it is a range of units or device memory (wrongType); device memory in
// whole pages (misaligned); the units lie in it (outsideRange);
// no live child overlaps them (regionInUse); the destination is an empty slot
// (invalidRoot, invalidSlot, notACNode, slotOccupied). The new capability has the
// source's rights and badge, as a retype split has.

extension CoreCapabilities {
    public mutating func narrow(_ source: CapabilityAddress, first: UInt64, count: UInt64,
                                into destination: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) {
        let sourceNode = try occupiedNode(at: source, in: cspace)
        let capability = capability(ofNode: sourceNode)
        // Ranges of units, and device memory in whole pages (a driver's BARs, which lie
        // wherever the firmware put them).
        let isDeviceMemory = capability.type == .deviceFrame
        guard capability.type.rules.size == .units || isDeviceMemory else { throw .wrongType(capability.type) }
        if isDeviceMemory {
            guard first % CapabilityType.pageBytes == 0, count % CapabilityType.pageBytes == 0 else { throw .misaligned }
        }
        guard capability.covers(first, count: count) else { throw .outsideRange }
        let object = nodes[sourceNode].object
        let end = first + count
        var previous = objects[object].lastChild
        while let child = previous, objects[child].base >= end { previous = objects[child].previousSibling }
        if let previous, objects[previous].end > first { throw .regionInUse }
        let slot = try emptySlots(at: destination, count: 1, in: cspace)

        let child = createObject(type: capability.type, base: first, size: count, parent: object, after: previous)
        createNode(object: child, rights: capability.rights, badge: capability.badge, at: slot)
    }
}
