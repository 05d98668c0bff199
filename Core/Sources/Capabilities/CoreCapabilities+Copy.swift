// Copy and mint: a second capability to the same object, in an empty slot of the same
// or another CSpace on this core. A copy has the same rights and badge; a mint may take
// rights away and may set a badge once. Both are copies in the derivation sense: the
// new capability joins the object's list of copies (next to its source), has the same
// standing as every other copy, and shares the object's children and watermark.
//
// Decode order: the source resolves and holds a capability (invalidRoot, invalidSlot,
// notACNode, slotEmpty); for mint with a badge, the type is badgeable (notBadgeable) and
// the source has none yet (alreadyBadged); the destination resolves and is empty
// (invalidRoot, invalidSlot, notACNode, slotOccupied). Rights are never an error: mint
// keeps the intersection of the source's rights and the mask, so they can only shrink.

struct CopyPlan {
    var sourceNode: Int
    var rights: CapabilityRights
    var badge: UInt64
    var destination: SlotLocation
}

extension CoreCapabilities {
    /// Copies the capability at `source` into the empty slot `destination`, both in
    /// `cspace`. O(1).
    public mutating func copy(_ source: CapabilityAddress, to destination: CapabilityAddress,
                              in cspace: CSpace) throws(CapabilityError) {
        try copy(source, in: cspace, to: destination, in: cspace)
    }

    /// Copies a capability from one CSpace on this core to another. O(1).
    public mutating func copy(_ source: CapabilityAddress, in sourceSpace: CSpace,
                              to destination: CapabilityAddress, in destinationSpace: CSpace) throws(CapabilityError) {
        let plan = try decodeMint(source, in: sourceSpace, to: destination, in: destinationSpace,
                                  rights: .all, badge: 0)
        invokeCopy(plan)
    }

    /// Copies the capability with only the rights in `rights` it already has, and
    /// `badge` if nonzero. O(1).
    public mutating func mint(_ source: CapabilityAddress, to destination: CapabilityAddress,
                              rights: CapabilityRights, badge: UInt64 = 0,
                              in cspace: CSpace) throws(CapabilityError) {
        try mint(source, in: cspace, to: destination, in: cspace, rights: rights, badge: badge)
    }

    /// Mint from one CSpace on this core into another. O(1).
    public mutating func mint(_ source: CapabilityAddress, in sourceSpace: CSpace,
                              to destination: CapabilityAddress, in destinationSpace: CSpace,
                              rights: CapabilityRights, badge: UInt64 = 0) throws(CapabilityError) {
        let plan = try decodeMint(source, in: sourceSpace, to: destination, in: destinationSpace,
                                  rights: rights, badge: badge)
        invokeCopy(plan)
    }

    func decodeMint(_ source: CapabilityAddress, in sourceSpace: CSpace,
                    to destination: CapabilityAddress, in destinationSpace: CSpace,
                    rights mask: CapabilityRights, badge: UInt64) throws(CapabilityError) -> CopyPlan {
        let sourceNode = try occupiedNode(at: source, in: sourceSpace)
        let node = nodes[sourceNode]
        var newBadge = node.badge
        if badge != 0 {
            guard objects[node.object].type.rules.isBadgeable else { throw .notBadgeable }
            guard node.badge == 0 else { throw .alreadyBadged }
            newBadge = badge
        }
        let slot = try emptySlots(at: destination, count: 1, in: destinationSpace)
        return CopyPlan(sourceNode: sourceNode, rights: node.rights.intersection(mask),
                        badge: newBadge, destination: slot)
    }

    mutating func invokeCopy(_ plan: CopyPlan) {
        createNode(object: nodes[plan.sourceNode].object, rights: plan.rights, badge: plan.badge,
                   at: plan.destination, after: plan.sourceNode)
    }
}
