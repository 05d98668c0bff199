import CoreTestSupport
// The reference model for the random-sequence tests: the capability rules written again
// the slow and obvious way, with dictionaries, linear scans and a garbage-collection
// fixpoint instead of linked trees and work lists. It shares nothing with the module but
// the public value types; its size and type rules are written out here from the design.

@testable import Capabilities

struct ReferenceModel {
    struct Object: Equatable {
        var type: CapabilityType
        var base: UInt64
        var size: UInt64
        var parent: Int?
        var slotCount: Int
        var end: UInt64 { base + size }
    }
    struct Cap: Equatable {
        var object: Int
        var rights: CapabilityRights
        var badge: UInt64
    }
    struct Slot: Hashable {
        var cnode: Int
        var index: Int
    }
    /// What died, as the kernel is told.
    struct Death: Hashable, Comparable {
        var type: UInt8, base: UInt64, size: UInt64, wasRoot: Bool
        static func < (a: Death, b: Death) -> Bool {
            (a.type, a.base, a.size, a.wasRoot ? 1 : 0) < (b.type, b.base, b.size, b.wasRoot ? 1 : 0)
        }
    }

    /// Where a capability is mapped: the table object and the entry.
    struct Mapped: Equatable {
        var table: Int
        var entry: Int
    }

    var objects: [Int: Object] = [:]
    var caps: [Slot: Cap] = [:]
    /// Mapping records, by the slot of the mapped capability.
    var mappings: [Slot: Mapped] = [:]
    var nextID = 0

    // MARK: Rules, from the design

    static let sources: [CapabilityType: Set<CapabilityType>] = [
        .physicalRAM: [.physicalRAM], .frame: [.physicalRAM, .frame], .deviceFrame: [.deviceFrame],
        .cnode: [.physicalRAM], .pml4: [.physicalRAM], .pdpt: [.physicalRAM],
        .pageDirectory: [.physicalRAM], .pageTable: [.physicalRAM], .dispatcher: [.physicalRAM],
        .endpoint: [.physicalRAM], .irq: [.irq], .ioPortRange: [.ioPortRange], .notify: [.notify],
    ]

    static func fullRights(_ type: CapabilityType) -> CapabilityRights {
        switch type {
        case .frame, .deviceFrame: [.read, .write, .execute]
        case .pml4, .pdpt, .pageDirectory, .pageTable, .dispatcher: [.write]
        case .endpoint: [.read, .write, .grant]
        case .irq, .ioPortRange, .notify: [.read, .write]
        default: []
        }
    }

    static func isPowerOfTwo(_ x: UInt64) -> Bool { x > 0 && x.nonzeroBitCount == 1 }

    /// The translation-table level of a type (4 = PML4), nil for other types.
    static func level(_ type: CapabilityType) -> Int? {
        switch type {
        case .pml4: 4
        case .pdpt: 3
        case .pageDirectory: 2
        case .pageTable: 1
        default: nil
        }
    }

    /// Extent and alignment for a retype's size argument, nil if refused.
    static func extent(_ type: CapabilityType, _ argument: UInt64) -> (extent: UInt64, alignment: UInt64)? {
        switch type {
        case .physicalRAM:
            return isPowerOfTwo(argument) && argument >= 4096 && argument <= 1 << 51 ? (argument, argument) : nil
        case .frame, .deviceFrame:
            guard argument > 0, argument % 4096 == 0, argument <= 1 << 51 else { return nil }
            var alignment: UInt64 = 1
            while argument % (alignment * 2) == 0 { alignment *= 2 }
            return (argument, alignment)
        case .cnode:
            return isPowerOfTwo(argument) && argument >= 16 && argument <= 65536 ? (argument * 64, argument * 64) : nil
        case .pml4, .pdpt, .pageDirectory, .pageTable, .dispatcher:
            return argument == 0 ? (4096, 4096) : nil
        case .endpoint:
            return argument == 0 ? (256, 256) : nil
        case .irq, .ioPortRange, .notify:
            return argument >= 1 ? (argument, 1) : nil
        case .null, .kernel:
            return argument == 0 ? (0, 1) : nil
        }
    }

    // MARK: Queries

    mutating func add(_ object: Object) -> Int {
        nextID += 1
        objects[nextID] = object
        return nextID
    }

    func children(of object: Int) -> [Int] { objects.filter { $0.value.parent == object }.map(\.key) }

    func descendants(of object: Int) -> Set<Int> {
        var found: Set<Int> = []
        var frontier = [object]
        while let next = frontier.popLast() {
            for child in children(of: next) where found.insert(child).inserted { frontier.append(child) }
        }
        return found
    }

    func watermark(of object: Int) -> UInt64 {
        let base = objects[object]!.base
        return children(of: object).map { objects[$0]!.end - base }.max() ?? 0
    }

    func capability(_ cap: Cap) -> Capability {
        let object = objects[cap.object]!
        return Capability(type: object.type, base: object.base, size: object.size, rights: cap.rights, badge: cap.badge)
    }

    func resolve(_ address: CapabilityAddress, root: Int) -> Result<Slot, CapabilityError> {
        guard let rootObject = objects[root], rootObject.type == .cnode else { return .failure(.invalidRoot) }
        guard Int(address.rootSlot) < rootObject.slotCount else { return .failure(.invalidSlot) }
        let rootSlot = Slot(cnode: root, index: Int(address.rootSlot))
        guard let leaf = address.leafSlot else { return .success(rootSlot) }
        guard let cap = caps[rootSlot], objects[cap.object]!.type == .cnode else { return .failure(.notACNode) }
        guard Int(leaf) < objects[cap.object]!.slotCount else { return .failure(.invalidSlot) }
        return .success(Slot(cnode: cap.object, index: Int(leaf)))
    }

    func occupied(_ address: CapabilityAddress, root: Int) -> Result<Slot, CapabilityError> {
        resolve(address, root: root).flatMap { caps[$0] == nil ? .failure(.slotEmpty) : .success($0) }
    }

    // MARK: Operations

    mutating func createRoot(_ type: CapabilityType, base: UInt64, size: UInt64, at slot: Slot) -> Int {
        let id = add(Object(type: type, base: base, size: size, parent: nil,
                            slotCount: type == .cnode ? Int(size / 64) : 0))
        caps[slot] = Cap(object: id, rights: Self.fullRights(type), badge: 0)
        return id
    }

    mutating func retype(_ source: CapabilityAddress, to type: CapabilityType, size argument: UInt64,
                         count: Int, offset: UInt64?, into destination: CapabilityAddress,
                         root: Int) -> Result<[Death], CapabilityError> {
        let sourceSlot: Slot
        switch occupied(source, root: root) {
        case .failure(let error): return .failure(error)
        case .success(let slot): sourceSlot = slot
        }
        let cap = caps[sourceSlot]!
        let parent = objects[cap.object]!
        guard Self.sources[type]?.contains(parent.type) == true else {
            return .failure(.retypeNotAllowed(from: parent.type, to: type))
        }
        guard let (extent, alignment) = Self.extent(type, argument) else { return .failure(.sizeNotAllowed) }
        guard (1 ... 512).contains(count) else { return .failure(.invalidCount) }
        let used = watermark(of: cap.object)
        // Wide arithmetic, so that no overflow needs special cases.
        let start: UInt128
        if let offset {
            guard offset >= used else { return .failure(.regionInUse) }
            let absolute = UInt128(parent.base) + UInt128(offset)
            guard absolute <= UInt128(UInt64.max) else { return .failure(.regionExhausted) }
            guard absolute % UInt128(alignment) == 0 else { return .failure(.misaligned) }
            start = UInt128(offset)
        } else {
            let lowest = UInt128(parent.base) + UInt128(used)
            let aligned = (lowest + UInt128(alignment) - 1) / UInt128(alignment) * UInt128(alignment)
            guard aligned <= UInt128(UInt64.max) else { return .failure(.regionExhausted) }
            start = aligned - UInt128(parent.base)
        }
        guard start + UInt128(extent) * UInt128(count) <= UInt128(parent.size) else {
            return .failure(.regionExhausted)
        }
        let first: Slot
        switch resolve(destination, root: root) {
        case .failure(let error): return .failure(error)
        case .success(let slot): first = slot
        }
        let slots = (0 ..< count).map { Slot(cnode: first.cnode, index: first.index + $0) }
        guard slots.last!.index < objects[first.cnode]!.slotCount else { return .failure(.invalidSlot) }
        guard slots.allSatisfy({ caps[$0] == nil }) else { return .failure(.slotOccupied) }

        let split = type == parent.type
        for (k, slot) in slots.enumerated() {
            let id = add(Object(type: type, base: parent.base + UInt64(start) + UInt64(k) * extent, size: extent,
                                parent: cap.object, slotCount: type == .cnode ? Int(argument) : 0))
            caps[slot] = Cap(object: id, rights: split ? cap.rights : Self.fullRights(type), badge: split ? cap.badge : 0)
        }
        return .success([])
    }

    mutating func mint(_ source: CapabilityAddress, root: Int, to destination: CapabilityAddress,
                       destinationRoot: Int, rights: CapabilityRights, badge: UInt64) -> Result<[Death], CapabilityError> {
        let sourceSlot: Slot
        switch occupied(source, root: root) {
        case .failure(let error): return .failure(error)
        case .success(let slot): sourceSlot = slot
        }
        var cap = caps[sourceSlot]!
        if badge != 0 {
            let type = objects[cap.object]!.type
            guard type == .endpoint || type == .notify else { return .failure(.notBadgeable) }
            guard cap.badge == 0 else { return .failure(.alreadyBadged) }
            cap.badge = badge
        }
        let slot: Slot
        switch resolve(destination, root: destinationRoot) {
        case .failure(let error): return .failure(error)
        case .success(let found): slot = found
        }
        guard caps[slot] == nil else { return .failure(.slotOccupied) }
        cap.rights = cap.rights.intersection(rights)
        caps[slot] = cap
        return .success([])
    }

    /// The table a capability names, if it may be mapped into or unmapped from.
    func table(_ address: CapabilityAddress, root: Int) -> Result<(id: Int, level: Int), CapabilityError> {
        let slot: Slot
        switch occupied(address, root: root) {
        case .failure(let error): return .failure(error)
        case .success(let found): slot = found
        }
        let cap = caps[slot]!
        let type = objects[cap.object]!.type
        guard let level = Self.level(type) else { return .failure(.wrongType(type)) }
        guard cap.rights.contains(.write) else { return .failure(.insufficientRights) }
        return .success((cap.object, level))
    }

    static func checkEntry(_ entry: UInt64, level: Int) -> CapabilityError? {
        if entry >= 512 { return .entryOutOfRange }
        if level == 4 && (entry == 0 || entry >= 256) { return .entryReserved }
        return nil
    }

    mutating func map(_ source: CapabilityAddress, into tableAddress: CapabilityAddress, entry: UInt64,
                      rights: CapabilityRights, root: Int) -> Result<[Death], CapabilityError> {
        let table: (id: Int, level: Int)
        switch self.table(tableAddress, root: root) {
        case .failure(let error): return .failure(error)
        case .success(let found): table = found
        }
        if let error = Self.checkEntry(entry, level: table.level) { return .failure(error) }
        let wanted = Mapped(table: table.id, entry: Int(entry))
        guard !mappings.values.contains(wanted) else { return .failure(.entryOccupied) }
        let sourceSlot: Slot
        switch occupied(source, root: root) {
        case .failure(let error): return .failure(error)
        case .success(let found): sourceSlot = found
        }
        let cap = caps[sourceSlot]!
        let object = objects[cap.object]!
        if table.level == 1 {
            guard object.type == .frame || object.type == .deviceFrame else { return .failure(.wrongType(object.type)) }
            guard object.size == 4096 else { return .failure(.pageSizeMismatch) }
            guard cap.rights.isSuperset(of: rights.union(.read)) else { return .failure(.insufficientRights) }
        } else {
            guard Self.level(object.type) == table.level - 1 else { return .failure(.wrongType(object.type)) }
        }
        guard mappings[sourceSlot] == nil else { return .failure(.alreadyMapped) }
        mappings[sourceSlot] = wanted
        return .success([])
    }

    mutating func unmap(entry: UInt64, from tableAddress: CapabilityAddress, root: Int) -> Result<[Death], CapabilityError> {
        let table: (id: Int, level: Int)
        switch self.table(tableAddress, root: root) {
        case .failure(let error): return .failure(error)
        case .success(let found): table = found
        }
        if let error = Self.checkEntry(entry, level: table.level) { return .failure(error) }
        guard let slot = mappings.first(where: { $0.value == Mapped(table: table.id, entry: Int(entry)) })?.key else {
            return .failure(.entryEmpty)
        }
        mappings[slot] = nil
        return .success([])
    }

    /// Drops the records of capabilities that are gone and of tables that died.
    mutating func pruneMappings() {
        mappings = mappings.filter { caps[$0.key] != nil && objects[$0.value.table] != nil }
    }

    mutating func delete(_ address: CapabilityAddress, root: Int) -> Result<[Death], CapabilityError> {
        occupied(address, root: root).map { slot in
            caps[slot] = nil
            return collectGarbage([])
        }
    }

    mutating func revoke(_ address: CapabilityAddress, root: Int) -> Result<[Death], CapabilityError> {
        occupied(address, root: root).map { kept in
            let object = caps[kept]!.object
            let badge = caps[kept]!.badge
            for (slot, cap) in caps where cap.object == object && slot != kept && (badge == 0 || cap.badge == badge) {
                caps[slot] = nil
            }
            // A badged capability reaches only its badge's copies.
            guard badge == 0 else { return [] }
            let doomed = descendants(of: object)
            var deaths: [Death] = []
            for id in doomed {
                deaths.append(death(id))
                objects[id] = nil
            }
            for (slot, cap) in caps where doomed.contains(cap.object) || doomed.contains(slot.cnode) {
                caps[slot] = nil
            }
            return collectGarbage(deaths)
        }
    }

    func death(_ id: Int) -> Death {
        let object = objects[id]!
        return Death(type: object.type.rawValue, base: object.base, size: object.size, wasRoot: object.parent == nil)
    }

    /// Removes, until nothing changes, every object without capabilities and without
    /// children, and the capabilities in the slots of every CNode removed.
    mutating func collectGarbage(_ deaths: [Death]) -> [Death] {
        var deaths = deaths
        while true {
            let named = Set(caps.values.map(\.object))
            let parents = Set(objects.values.compactMap(\.parent))
            let dead = objects.keys.filter { !named.contains($0) && !parents.contains($0) }
            if dead.isEmpty {
                pruneMappings()
                return deaths.sorted()
            }
            for id in dead {
                deaths.append(death(id))
                objects[id] = nil
                for slot in caps.keys where slot.cnode == id { caps[slot] = nil }
            }
        }
    }
}
