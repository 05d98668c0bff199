// Delete and revoke: taking capabilities away, and the deaths that follow.
//
// Delete removes one capability. Its copies and its object's descendants keep living;
// the object dies only when that was its last capability and it has no children (see
// "Lifetime" in CoreCapabilities.swift). Revoke removes every other copy of the object
// and every descendant with all their capabilities, and leaves the capability invoked
// (unless that capability itself sat in a CNode the revoke destroyed). Both report each
// object that died as a `Reclaimed`, and neither can fail once the slot is known to hold
// a capability: decode is resolution plus "not empty".
//
// Deaths cascade: a dying CNode deletes the capabilities in its slots, which may kill
// their objects; a dying child may kill a parent that had no capabilities left. The
// cascade runs on an explicit work list, never by recursion, so a deep chain cannot
// overflow the kernel stack. Its work is bounded by what it destroys.

extension CoreCapabilities {
    /// Deletes the capability in `address`. Returns the objects that died (empty unless
    /// it was the last capability of an object without children). O(1) + O(deaths).
    @discardableResult
    public mutating func delete(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> [Reclaimed] {
        let node = try occupiedNode(at: address, in: cspace)
        var dying: [Int] = []
        var reclaimed: [Reclaimed] = []
        if let dead = removeNode(node) { dying.append(dead) }
        drain(&dying, into: &reclaimed)
        return reclaimed
    }

    /// Deletes every other capability to the object in `address`, and every object
    /// derived from it (retyped from it, or from those, ...) with all their capabilities.
    /// Afterwards the object has no children, so all of its space can be retyped again.
    /// A badged capability's revoke reaches only the other copies with its badge, and no
    /// descendants: a server hands clients badged copies of its endpoint to tell them
    /// apart, and a client must not be able to take the endpoint away from the server
    /// and every other client (as seL4 does for badges). Returns the objects that died.
    /// O(copies + descendants) + O(deaths).
    /// Errors: those of resolution, slotEmpty, and sharedAcrossCores when the object or
    /// a descendant may have copies on other cores (only the monitors revoke those).
    @discardableResult
    public mutating func revoke(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> [Reclaimed] {
        let kept = try occupiedNode(at: address, in: cspace)
        let descendants = descendants(of: nodes[kept].object)
        guard !reachesShared(nodes[kept].object, descendants: descendants) else { throw .sharedAcrossCores }
        return revoke(keeping: kept, descendants: descendants)
    }

    /// The monitor's revoke, after the cross-core protocol has cleared the other cores:
    /// as `revoke`, shared objects included.
    @discardableResult
    public mutating func sweep(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> [Reclaimed] {
        let kept = try occupiedNode(at: address, in: cspace)
        return revoke(keeping: kept, descendants: descendants(of: nodes[kept].object))
    }

    /// Revokes every other copy of `kept`'s object and its `descendants` (pre-order, as
    /// `descendants(of:)` lists them).
    mutating func revoke(keeping kept: Int, descendants: [ObjectID]) -> [Reclaimed] {
        let object = nodes[kept].object
        let badge = nodes[kept].badge
        var dying: [Int] = []
        var reclaimed: [Reclaimed] = []

        // Other copies. The kept one remains, so none of these removals kills the object.
        var copy = objects[object].firstCopy
        while let node = copy {
            copy = nodes[node].nextCopy
            if node != kept && (badge == 0 || nodes[node].badge == badge) { _ = removeNode(node) }
        }
        guard badge == 0 else { return reclaimed }

        // Descendants, deepest first (reverse pre-order puts every object before its
        // ancestors). A cascade may already have killed one by the time we reach it,
        // which its generation shows.
        for descendant in descendants.reversed() {
            guard let victim = index(of: descendant) else { continue }
            while let node = objects[victim].firstCopy {
                if let dead = removeNode(node) { dying.append(dead) }
            }
            drain(&dying, into: &reclaimed)
        }
        return reclaimed
    }

    /// Every descendant of an object in pre-order, walking the tree's links.
    func descendants(of object: Int) -> [ObjectID] {
        var found: [ObjectID] = []
        var next = objects[object].firstChild
        while let current = next {
            found.append(id(of: current))
            if let child = objects[current].firstChild {
                next = child
                continue
            }
            // Climb until a sibling is found or we are back at `object`.
            var climber = current
            next = nil
            while climber != object {
                if let sibling = objects[climber].nextSibling {
                    next = sibling
                    break
                }
                climber = objects[climber].parent ?? object
            }
        }
        return found
    }

    /// Kills every object on the work list, and every object whose death leaves it with
    /// neither capabilities nor children.
    mutating func drain(_ dying: inout [Int], into reclaimed: inout [Reclaimed]) {
        while let object = dying.popLast() {
            let record = objects[object]
            reclaimed.append(Reclaimed(object: id(of: object), type: record.type, base: record.base,
                                       size: record.size, wasRoot: record.parent == nil))
            // A CNode's contents go with it.
            for slot in cnodeSlots[object] {
                if let node = slot, let dead = removeNode(node) { dying.append(dead) }
            }
            // What a dead table mapped is unmapped without touching its entries: no
            // copy of the table is left, so no copy is mapped, so nothing can translate
            // through it any more (and retype clears its memory before any reuse).
            for entry in mappedEntries[object] { nodes[entry.node].mapping = nil }
            freeObject(object)
            if let parent = record.parent,
               objects[parent].copyCount == 0, objects[parent].firstChild == nil {
                dying.append(parent)
            }
        }
    }
}
