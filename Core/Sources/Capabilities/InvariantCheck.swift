// The self-check of a core's capability state: everything the operations promise,
// checked from the records alone. The kernel runs it after fuzzing (and may run it in
// debug builds after every invocation); host tests run it after every step of their
// random sequences. It changes nothing and reports every violation it finds as a typed
// value the kernel can print without String.
//
// Why the structural checks are enough for "no two live objects overlap": children of
// one object are kept in ascending order and checked to be disjoint and inside their
// parent, and roots of one space are checked disjoint. Two objects that are not
// ancestor and descendant either hang under different children of their lowest common
// ancestor, or under different roots, and so lie in disjoint extents.
//
// Cost: O(objects + capabilities + CNode slots), plus sorting the roots.

/// One broken invariant, and the record it was found at.
public struct InvariantViolation: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        /// The live counts disagree with the records, or a free record is not free.
        case counts
        /// An object has neither capabilities nor children: nothing can reach it (a leak).
        case unreachable
        /// An object's extent breaks its type's size or alignment rule, or leaves its space.
        case extent
        /// A child's extent is not inside its parent's, or its space differs.
        case outsideParent
        /// A child's type may not be retyped from its parent's type.
        case retypeRule
        /// Children are not in ascending order, overlap, or their links disagree.
        case siblings
        /// A parent link points to a dead record, or the chain of parents loops.
        case parent
        /// Two roots of the same space overlap.
        case rootsOverlap
        /// The ordered index of roots (`rootsByAddress`) is not the roots outside
        /// `ObjectSpace.none` in (space, base) order.
        case rootIndex
        /// An object's list of copies disagrees with its count, or a copy names another object.
        case copies
        /// A capability's slot does not point back at it, or a slot points at a free node.
        case slot
        /// A capability holds rights its type does not know.
        case rights
        /// A capability carries a badge its type cannot have.
        case badge
        /// A CNode's slot count does not match its extent, or a non-CNode has slots.
        case cnodeSlots
        /// A mapping record points to a dead or non-table object, to an entry out of
        /// range or reserved, or to a table whose list does not name it back; a table's
        /// list is not strictly ascending (two records for one entry) or names a copy
        /// that is not mapped there; a source's type does not fit the table's level.
        case mapping

        /// A short name for the kernel's console.
        public var name: StaticString {
            switch self {
            case .counts: "counts"
            case .unreachable: "unreachable object"
            case .extent: "bad extent"
            case .outsideParent: "outside parent"
            case .retypeRule: "retype rule"
            case .siblings: "siblings"
            case .parent: "parent"
            case .rootsOverlap: "roots overlap"
            case .rootIndex: "root index"
            case .copies: "copies"
            case .slot: "slot"
            case .rights: "rights"
            case .badge: "badge"
            case .cnodeSlots: "cnode slots"
            case .mapping: "mapping"
            }
        }
    }

    public var kind: Kind
    /// The object record (or, for `slot`, `rights`, `badge`, the capability node) at fault.
    public var record: Int

    public init(_ kind: Kind, _ record: Int) {
        self.kind = kind
        self.record = record
    }
}

extension CoreCapabilities {
    /// Every violated invariant; empty when the state is sound.
    public func checkInvariants() -> [InvariantViolation] {
        var found: [InvariantViolation] = []
        // Everything below indexes the side tables by record.
        guard cnodeSlots.count == objects.count, mappedEntries.count == objects.count else {
            return [InvariantViolation(.counts, objects.count)]
        }
        checkObjects(&found)
        checkNodes(&found)
        checkRoots(&found)
        return found
    }

    private func checkObjects(_ found: inout [InvariantViolation]) {
        var live = 0
        for (index, object) in objects.enumerated() {
            guard object.isLive else {
                if object.copyCount != 0 || object.firstCopy != nil || object.firstChild != nil
                    || !cnodeSlots[index].isEmpty || !mappedEntries[index].isEmpty {
                    found.append(InvariantViolation(.counts, index))
                }
                continue
            }
            live += 1
            let rules = object.type.rules
            if object.copyCount == 0 && object.firstChild == nil {
                found.append(InvariantViolation(.unreachable, index))
            }
            let (end, overflow) = object.base.addingReportingOverflow(object.size)
            if !rules.size.isValidExtent(object.size)
                || object.base % rules.size.alignment(ofExtent: object.size) != 0
                || overflow || end > rules.space.limit {
                found.append(InvariantViolation(.extent, index))
            }
            let expectedSlots = object.type == .cnode ? Int(object.size / CapabilityType.cnodeSlotBytes) : 0
            if cnodeSlots[index].count != expectedSlots { found.append(InvariantViolation(.cnodeSlots, index)) }
            checkCopies(of: index, &found)
            checkMappedEntries(of: index, &found)
            checkChildren(of: index, &found)
            checkAncestry(of: index, &found)
        }
        if live != liveObjectCount || live + freeObjects.count != objects.count {
            found.append(InvariantViolation(.counts, -1))
        }
    }

    private func checkCopies(of object: Int, _ found: inout [InvariantViolation]) {
        var count = 0
        var previous: Int?
        var next = objects[object].firstCopy
        while let node = next, count <= nodes.count {
            if nodes[node].object != object || nodes[node].previousCopy != previous {
                found.append(InvariantViolation(.copies, object))
                return
            }
            count += 1
            previous = node
            next = nodes[node].nextCopy
        }
        if count != objects[object].copyCount { found.append(InvariantViolation(.copies, object)) }
    }

    /// A table's occupied entries: strictly ascending, valid, each naming a live copy
    /// whose record points back. Other types have none.
    private func checkMappedEntries(of table: Int, _ found: inout [InvariantViolation]) {
        let record = objects[table]
        guard case .table(let level) = record.type.rules.mapping else {
            if !mappedEntries[table].isEmpty { found.append(InvariantViolation(.mapping, table)) }
            return
        }
        var previous = -1
        for entry in mappedEntries[table] {
            if entry.entry <= previous || entry.entry >= Self.tableEntries
                || Self.isReserved(entry: entry.entry, level: level)
                || entry.node < 0 || entry.node >= nodes.count || !nodes[entry.node].isLive
                || nodes[entry.node].mapping != Mapping(table: table, entry: entry.entry) {
                found.append(InvariantViolation(.mapping, table))
                return
            }
            previous = entry.entry
        }
    }

    /// A mapped copy: its table is alive, fits its type, and lists it at its entry.
    private func checkMapping(of node: Int, _ found: inout [InvariantViolation]) {
        guard let mapping = nodes[node].mapping else { return }
        guard mapping.table >= 0, mapping.table < objects.count, objects[mapping.table].isLive,
              case .table(let level) = objects[mapping.table].type.rules.mapping else {
            found.append(InvariantViolation(.mapping, node))
            return
        }
        let type = objects[nodes[node].object].type
        let fits = level == 1 ? type.rules.mapping == .page : type.installsInto == objects[mapping.table].type
        let position = mappedPosition(in: mapping.table, entry: mapping.entry)
        if !fits || !position.found || mappedEntries[mapping.table][position.index].node != node {
            found.append(InvariantViolation(.mapping, node))
        }
    }

    /// Children: linked both ways, ascending, disjoint, inside the parent, allowed types.
    private func checkChildren(of parent: Int, _ found: inout [InvariantViolation]) {
        let record = objects[parent]
        let space = record.type.rules.space
        var previous: Int?
        var next = record.firstChild
        var steps = 0
        while let child = next {
            steps += 1
            let childRecord = objects[child]
            guard steps <= objects.count, childRecord.isLive, childRecord.parent == parent,
                  childRecord.previousSibling == previous else {
                found.append(InvariantViolation(.siblings, parent))
                return
            }
            let childRules = childRecord.type.rules
            if childRules.space != space || childRecord.base < record.base || childRecord.end > record.end {
                found.append(InvariantViolation(.outsideParent, child))
            }
            if !childRules.retypedFrom.contains(record.type) {
                found.append(InvariantViolation(.retypeRule, child))
            }
            if let previous, objects[previous].end > childRecord.base {
                found.append(InvariantViolation(.siblings, child))
            }
            previous = child
            next = childRecord.nextSibling
        }
        if record.lastChild != previous { found.append(InvariantViolation(.siblings, parent)) }
    }

    /// The chain of parents reaches a root through live records without looping.
    private func checkAncestry(of object: Int, _ found: inout [InvariantViolation]) {
        var steps = 0
        var current = object
        while let parent = objects[current].parent {
            steps += 1
            guard parent >= 0, parent < objects.count, objects[parent].isLive, steps <= objects.count else {
                found.append(InvariantViolation(.parent, object))
                return
            }
            current = parent
        }
    }

    private func checkNodes(_ found: inout [InvariantViolation]) {
        var live = 0
        for (index, node) in nodes.enumerated() where node.isLive {
            live += 1
            guard node.object < objects.count, objects[node.object].isLive else {
                found.append(InvariantViolation(.copies, index))
                continue
            }
            let rules = objects[node.object].type.rules
            if !rules.rights.isSuperset(of: node.rights) { found.append(InvariantViolation(.rights, index)) }
            if node.badge != 0 && !rules.isBadgeable { found.append(InvariantViolation(.badge, index)) }
            checkMapping(of: index, &found)
            let slot = node.slot
            if slot.cnode < 0 || slot.cnode >= objects.count || objects[slot.cnode].type != .cnode
                || slot.index < 0 || slot.index >= cnodeSlots[slot.cnode].count
                || cnodeSlots[slot.cnode][slot.index] != index {
                found.append(InvariantViolation(.slot, index))
            }
        }
        var occupied = 0
        for (cnode, object) in objects.enumerated() where object.isLive {
            for case let node? in cnodeSlots[cnode] {
                occupied += 1
                if node < 0 || node >= nodes.count || !nodes[node].isLive || nodes[node].slot.cnode != cnode {
                    found.append(InvariantViolation(.slot, node))
                }
            }
        }
        if live != liveCapabilityCount || occupied != live || live + freeNodes.count != nodes.count {
            found.append(InvariantViolation(.counts, -1))
        }
    }

    /// The root list is linked both ways, and roots of one space are disjoint.
    private func checkRoots(_ found: inout [InvariantViolation]) {
        var roots: [(space: UInt8, base: UInt64, end: UInt64, record: Int)] = []
        var previous: Int?
        var next = firstRoot
        while let root = next, roots.count <= objects.count {
            let record = objects[root]
            if !record.isLive || record.parent != nil || record.previousSibling != previous {
                found.append(InvariantViolation(.siblings, root))
                return
            }
            roots.append((record.type.rules.space.rawValue, record.base, record.end, root))
            previous = root
            next = record.nextSibling
        }
        if lastRoot != previous { found.append(InvariantViolation(.siblings, -1)) }
        var parentless = 0
        for object in objects where object.isLive && object.parent == nil { parentless += 1 }
        if parentless != roots.count { found.append(InvariantViolation(.siblings, -1)) }
        roots.sort { ($0.space, $0.base) < ($1.space, $1.base) }
        if rootsByAddress != roots.filter({ $0.space != ObjectSpace.none.rawValue }).map({ $0.record }) {
            found.append(InvariantViolation(.rootIndex, -1))
        }
        for (first, second) in zip(roots, roots.dropFirst())
        where first.space != ObjectSpace.none.rawValue && first.space == second.space && first.end > second.base {
            found.append(InvariantViolation(.rootsOverlap, second.record))
        }
    }
}
