// All capability state of one core: every object, the derivation tree between them
// (the mapping database), every capability, and the slots of every CNode.
//
// Why one value per core. Delete and revoke reach every copy and every descendant of an
// object, in whatever CNode and whatever domain they sit, so the CNodes cannot live in
// separate per-domain values. A domain's `CSpace` is just the ID of its root CNode. The
// kernel keeps exactly one `CoreCapabilities` in its per-core block and passes it
// `inout`; no other core ever reads or writes it (cross-core copies are the monitors'
// business).
//
// Shape. Two arenas of records, linked by indexes (no classes, no pointers):
//
// - `objects`: one record per object: type, extent, and its place in the derivation
//   tree: parent, first and last child, previous and next sibling. Children of an object
//   are kept in ascending address order (retype only ever appends above the last child,
//   see the watermark below; narrow inserts a range of units in its place), so the tree
//   is also an interval tree. Objects without a
//   parent (created at boot) form the root list. A CNode's record holds its slots.
// - `nodes`: one record per capability: its object, rights, badge, the slot it sits in,
//   and its place in the object's doubly linked list of copies. Every copy of an object
//   is equal in standing: there is no original.
//
// Watermark. An object's space is used from the bottom up: a retype must place its new
// objects at or above the end of the object's last child (its watermark, O(1) from the
// last-child link), and children never overlap. When the top child dies the watermark
// drops to the end of the one below it; when the last child dies it is 0 and the whole
// object can be retyped again. Capacity below the watermark left free by a child that
// died is reusable only once every child above it has died too: the price of never
// searching for a hole. The watermark belongs to the object, so retyping through any
// copy of a capability consumes the same space; no copy can retype over another's
// children.
//
// Lifetime. An object lives while it has at least one capability or at least one child.
// Deleting the last capability of an object with children leaves the object as a record
// without capabilities (it keeps its place in the tree and its children keep their
// memory); it dies with its last child. When an object dies its record is freed (its
// generation moves on), a CNode's slots are deleted in turn, and its parent may die too.
// A cycle of CNodes holding each other's capabilities is kept alive by itself after its
// last outside capability is gone; revoking an ancestor's capability reclaims it, as in
// seL4.
//
// Cost. Lookup, identify, copy, mint: O(1). Retype of n objects: O(n). Delete: O(1) plus
// O(1) per object that dies and O(slots) per CNode that dies. Revoke: O(copies +
// descendants) plus the deaths it causes. Nothing is O(total objects).

public struct CoreCapabilities: Equatable {
    /// The most objects one retype may create: bounds the kernel's work per invocation.
    public static let maximumRetypeCount = 512

    var objects: [ObjectRecord] = []
    /// Beside each record, by the same index: a CNode's slots (the index of the
    /// capability node in each, nil when empty) and a translation table's occupied
    /// entries (ascending by entry: which capability is mapped there); empty for every
    /// other type. Kept out of `ObjectRecord` so that a record is plain data, which the
    /// compiler copies without touching reference counts.
    var cnodeSlots: [[Int?]] = []
    var mappedEntries: [[MappedEntry]] = []
    var freeObjects: [Int] = []
    var nodes: [CapabilityNode] = []
    var freeNodes: [Int] = []
    /// The list of objects without a parent, linked through their sibling links.
    var firstRoot: Int?
    var lastRoot: Int?
    /// The same roots but those of `ObjectSpace.none`, ordered by space and then base:
    /// roots of one space are disjoint, so a new root can overlap only its two
    /// neighbours here (`checkRoot`). The kernel makes roots for every domain it starts,
    /// so this check must not walk them all.
    var rootsByAddress: [Int] = []

    /// Objects alive on this core.
    public private(set) var liveObjectCount = 0
    /// Objects destroyed so far: while it stays the same, every object alive at some
    /// point is still alive (the kernel's cheap check before it trusts objects it
    /// remembers, such as a domain's PML4).
    public private(set) var objectsDestroyed: UInt64 = 0
    /// Capabilities in slots on this core.
    public private(set) var liveCapabilityCount = 0
    /// What the kernel must still do to memory and page tables for the operations so far
    /// (see MemoryEffect.swift); it takes them with `takeEffects()` before user code runs.
    var effects: [MemoryEffect] = []

    public init() {}
}

/// One object: its type and extent, its place in the derivation tree, its copies.
struct ObjectRecord: Equatable {
    /// `.null` while the record is free.
    var type: CapabilityType = .null
    var base: UInt64 = 0
    var size: UInt64 = 0
    /// Moves on each time the record is freed, so stale `ObjectID`s stop matching.
    var generation: UInt32 = 0
    var parent: Int?
    var firstChild: Int?
    var lastChild: Int?
    var previousSibling: Int?
    var nextSibling: Int?
    /// The first of the object's capabilities (a doubly linked list through the nodes).
    var firstCopy: Int?
    var copyCount = 0
    /// Copies or descendants may live on other cores (CoreCapabilities+Shared.swift):
    /// only the monitor may revoke or retype it, through the cross-core protocols.
    var shared = false

    var isLive: Bool { type != .null }
    var end: UInt64 { base &+ size }
}

/// One capability, sitting in one slot.
struct CapabilityNode: Equatable {
    /// The object named; -1 while the node is free.
    var object: Int = -1
    var rights: CapabilityRights = []
    var badge: UInt64 = 0
    /// The slot: which CNode object and which index in it.
    var slot = SlotLocation(cnode: -1, index: 0)
    var previousCopy: Int?
    var nextCopy: Int?
    /// Where this copy is mapped, if it is (a frame or a translation table below a PML4).
    var mapping: Mapping?

    var isLive: Bool { object >= 0 }
}

/// A slot, as the kernel finds it after resolving an address.
struct SlotLocation: Equatable {
    var cnode: Int
    var index: Int
}

// MARK: - Record keeping (used only by the invoke halves of the operations)

extension CoreCapabilities {
    @inline(__always)
    func id(of object: Int) -> ObjectID {
        ObjectID(index: Int32(object), generation: objects[object].generation)
    }

    /// The record index of a live object, nil if the ID is stale or out of range.
    @inline(__always)
    func index(of id: ObjectID) -> Int? {
        let i = Int(id.index)
        guard i >= 0, i < objects.count, objects[i].isLive, objects[i].generation == id.generation
        else { return nil }
        return i
    }

    /// Where the next retype of `object` may start, relative to its base.
    func watermark(of object: Int) -> UInt64 {
        guard let last = objects[object].lastChild else { return 0 }
        return objects[last].end - objects[object].base
    }

    /// Creates an object record and links it as the last child of `parent` (or the last
    /// root). The caller has checked that it sits above the parent's other children.
    mutating func createObject(type: CapabilityType, base: UInt64, size: UInt64, parent: Int?) -> Int {
        createObject(type: type, base: base, size: size, parent: parent,
                     after: parent.map { objects[$0].lastChild } ?? lastRoot)
    }

    /// Creates an object record and links it among `parent`'s children (or the roots)
    /// right after `previous` (nil: first). The caller has checked that it sits between
    /// `previous` and the sibling after it.
    mutating func createObject(type: CapabilityType, base: UInt64, size: UInt64, parent: Int?, after previous: Int?) -> Int {
        let object: Int
        if let reused = freeObjects.popLast() {
            object = reused
        } else {
            objects.append(ObjectRecord())
            cnodeSlots.append([])
            mappedEntries.append([])
            object = objects.count - 1
        }
        objects[object].type = type
        objects[object].base = base
        objects[object].size = size
        objects[object].parent = parent
        if type == .cnode {
            cnodeSlots[object] = Array(repeating: nil, count: Int(size / CapabilityType.cnodeSlotBytes))
        }
        let next = previous.map { objects[$0].nextSibling } ?? (parent.map { objects[$0].firstChild } ?? firstRoot)
        objects[object].previousSibling = previous
        objects[object].nextSibling = next
        if let previous {
            objects[previous].nextSibling = object
        } else if let parent {
            objects[parent].firstChild = object
        } else {
            firstRoot = object
        }
        if let next {
            objects[next].previousSibling = object
        } else if let parent {
            objects[parent].lastChild = object
        } else {
            lastRoot = object
        }
        if parent == nil, type.rules.space != .none {
            rootsByAddress.insert(object, at: rootPosition(space: type.rules.space, base: base))
        }
        liveObjectCount += 1
        return object
    }

    /// The index in `rootsByAddress` of the first root that sorts at or after `base` in
    /// `space`. O(log roots).
    func rootPosition(space: ObjectSpace, base: UInt64) -> Int {
        var low = 0, high = rootsByAddress.count
        while low < high {
            let middle = (low + high) / 2
            let other = objects[rootsByAddress[middle]]
            if (other.type.rules.space.rawValue, other.base) < (space.rawValue, base) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Unlinks a dead object (no copies, no children) from the tree and frees its record.
    mutating func freeObject(_ object: Int) {
        let record = objects[object]
        if let previous = record.previousSibling {
            objects[previous].nextSibling = record.nextSibling
        } else if let parent = record.parent {
            objects[parent].firstChild = record.nextSibling
        } else {
            firstRoot = record.nextSibling
        }
        if let next = record.nextSibling {
            objects[next].previousSibling = record.previousSibling
        } else if let parent = record.parent {
            objects[parent].lastChild = record.previousSibling
        } else {
            lastRoot = record.previousSibling
        }
        if record.parent == nil, record.type.rules.space != .none {
            var position = rootPosition(space: record.type.rules.space, base: record.base)
            while rootsByAddress[position] != object { position += 1 }
            rootsByAddress.remove(at: position)
        }
        objects[object] = ObjectRecord(generation: record.generation &+ 1)
        cnodeSlots[object] = []
        mappedEntries[object] = []
        freeObjects.append(object)
        liveObjectCount -= 1
        objectsDestroyed += 1
    }

    /// Puts a new capability to `object` into an empty slot, next to `sibling` in the
    /// object's list of copies when given, so copies stay adjacent.
    @discardableResult
    mutating func createNode(object: Int, rights: CapabilityRights, badge: UInt64,
                             at slot: SlotLocation, after sibling: Int? = nil) -> Int {
        let node: Int
        if let reused = freeNodes.popLast() {
            node = reused
        } else {
            nodes.append(CapabilityNode())
            node = nodes.count - 1
        }
        let next = sibling.map { nodes[$0].nextCopy } ?? objects[object].firstCopy
        nodes[node] = CapabilityNode(object: object, rights: rights, badge: badge, slot: slot,
                                     previousCopy: sibling, nextCopy: next)
        if let sibling { nodes[sibling].nextCopy = node } else { objects[object].firstCopy = node }
        if let next { nodes[next].previousCopy = node }
        objects[object].copyCount += 1
        cnodeSlots[slot.cnode][slot.index] = node
        liveCapabilityCount += 1
        return node
    }

    /// Takes a capability out of its slot and out of its object's copies, and out of the
    /// table it is mapped in (the kernel is told to clear that entry). Returns the object
    /// when that left it with neither copies nor children, so that it must die.
    mutating func removeNode(_ node: Int) -> Int? {
        if nodes[node].mapping != nil { removeMapping(of: node) }
        let record = nodes[node]
        let object = record.object
        if let previous = record.previousCopy {
            nodes[previous].nextCopy = record.nextCopy
        } else {
            objects[object].firstCopy = record.nextCopy
        }
        if let next = record.nextCopy { nodes[next].previousCopy = record.previousCopy }
        objects[object].copyCount -= 1
        cnodeSlots[record.slot.cnode][record.slot.index] = nil
        nodes[node] = CapabilityNode()
        freeNodes.append(node)
        liveCapabilityCount -= 1
        let dead = objects[object].copyCount == 0 && objects[object].firstChild == nil
        return dead ? object : nil
    }
}
