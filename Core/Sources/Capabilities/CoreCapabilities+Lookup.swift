// Resolving addresses, and the read-only questions the kernel and user code ask about a
// slot. Resolution is the first step of every operation's decode half; it never changes
// anything.

extension CoreCapabilities {
    /// The record of the CSpace's root CNode.
    @inline(__always)
    func resolveRoot(_ cspace: CSpace) throws(CapabilityError) -> Int {
        guard let root = index(of: cspace.root), objects[root].type == .cnode else { throw .invalidRoot }
        return root
    }

    /// The slot an address names. Errors: invalidRoot, invalidSlot, notACNode.
    @inline(__always)
    func resolve(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> SlotLocation {
        let root = try resolveRoot(cspace)
        let rootSlots = cnodeSlots[root]
        guard Int(address.rootSlot) < rootSlots.count else { throw .invalidSlot }
        guard let leafSlot = address.leafSlot else {
            return SlotLocation(cnode: root, index: Int(address.rootSlot))
        }
        guard let node = rootSlots[Int(address.rootSlot)], objects[nodes[node].object].type == .cnode
        else { throw .notACNode }
        let cnode = nodes[node].object
        guard Int(leafSlot) < cnodeSlots[cnode].count else { throw .invalidSlot }
        return SlotLocation(cnode: cnode, index: Int(leafSlot))
    }

    /// The capability node in an occupied slot. Errors: those of `resolve`, slotEmpty.
    @inline(__always)
    func occupiedNode(at address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> Int {
        let slot = try resolve(address, in: cspace)
        guard let node = cnodeSlots[slot.cnode][slot.index] else { throw .slotEmpty }
        return node
    }

    /// `count` empty slots from `address` on, in the same CNode. Errors: those of
    /// `resolve`, invalidSlot when the run passes the CNode's end, slotOccupied.
    func emptySlots(at address: CapabilityAddress, count: Int, in cspace: CSpace) throws(CapabilityError) -> SlotLocation {
        let first = try resolve(address, in: cspace)
        let slots = cnodeSlots[first.cnode]
        guard count <= slots.count - first.index else { throw .invalidSlot }
        for index in first.index ..< first.index + count where slots[index] != nil { throw .slotOccupied }
        return first
    }

    /// The capability a node stands for.
    @inline(__always)
    func capability(ofNode node: Int) -> Capability {
        let record = nodes[node]
        let object = objects[record.object]
        return Capability(type: object.type, base: object.base, size: object.size,
                          rights: record.rights, badge: record.badge)
    }

    // MARK: Public questions

    /// What the slot holds: type, extent, rights and badge; `Capability.null` for an
    /// empty slot. Errors: invalidRoot, invalidSlot, notACNode. O(1).
    @inline(__always)
    public func identify(_ address: CapabilityAddress, in cspace: CSpace) throws(CapabilityError) -> Capability {
        let slot = try resolve(address, in: cspace)
        guard let node = cnodeSlots[slot.cnode][slot.index] else { return .null }
        return capability(ofNode: node)
    }

    /// The capability in a slot and its object's identity, checked for what an
    /// invocation needs: errors slotEmpty, wrongType(found) unless the type is in
    /// `types` (any type when nil), insufficientRights unless it has all of `rights`.
    /// O(1).
    @inline(__always)
    public func lookup(_ address: CapabilityAddress, in cspace: CSpace,
                       ofType types: CapabilityTypeSet? = nil,
                       requiring rights: CapabilityRights = []) throws(CapabilityError) -> (Capability, ObjectID) {
        let node = try occupiedNode(at: address, in: cspace)
        let capability = capability(ofNode: node)
        if let types, !types.contains(capability.type) { throw .wrongType(capability.type) }
        guard capability.rights.isSuperset(of: rights) else { throw .insufficientRights }
        return (capability, id(of: nodes[node].object))
    }

    /// Whether an object the kernel remembered is still alive.
    @inline(__always)
    public func isAlive(_ object: ObjectID) -> Bool { index(of: object) != nil }

    /// How many capabilities name the object (0 for an object kept alive only by its
    /// children, or a dead one).
    public func copyCount(of object: ObjectID) -> Int {
        index(of: object).map { objects[$0].copyCount } ?? 0
    }

    /// Whether the object has live descendants.
    public func hasDescendants(_ object: ObjectID) -> Bool {
        index(of: object).map { objects[$0].firstChild != nil } ?? false
    }

    /// Where the next retype of the object may start, relative to its base (0 when it
    /// has no children: all of it is free).
    public func watermark(of object: ObjectID) -> UInt64? {
        index(of: object).map { watermark(of: $0) }
    }

    /// Calls `body` for every occupied slot reachable by address: the root CNode's slots
    /// and, under every root slot that holds a CNode capability, that CNode's slots
    /// (except the root CNode's own, which would list every root slot a second time).
    public func forEachCapability(in cspace: CSpace,
                                  _ body: (CapabilityAddress, Capability) -> Void) throws(CapabilityError) {
        let root = try resolveRoot(cspace)
        for (rootIndex, entry) in cnodeSlots[root].enumerated() {
            guard let node = entry else { continue }
            body(.root(UInt32(rootIndex)), capability(ofNode: node))
            let object = nodes[node].object
            guard objects[object].type == .cnode, object != root else { continue }
            for (leafIndex, leaf) in cnodeSlots[object].enumerated() {
                guard let leaf else { continue }
                body(.leaf(UInt32(rootIndex), UInt32(leafIndex)), capability(ofNode: leaf))
            }
        }
    }
}
