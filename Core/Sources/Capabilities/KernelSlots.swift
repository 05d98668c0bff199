// Slots in the CPU driver's own CNodes, shared out among a core's domains with a quota
// for each. The kernel holds capabilities for domains in CNodes of its own: the transit
// CNodes keep the capability of every same-core message that waits, the keeper CNodes
// a copy of every domain's RAM block. With one fixed CNode for the whole core, one
// domain could take every slot and stop every other domain from sending a capability
// (or the core from starting a domain). Here the CNodes grow, one page at a time, as
// slots are needed (`needsNode`: the kernel makes another from its frames and calls
// `addNode`), and each domain may hold only as many slots as its quota, which grows
// with the domain's own memory (`quota(forDomainBytes:)`). What one domain can take is
// then bounded by what it was given, and the last CNode's page is the only cost the
// others share.

public struct KernelSlots: Sendable {
    /// A slot: which of the kernel's CNodes, and the slot in it (never 0, the CNode's
    /// own capability).
    public struct Slot: Equatable, Sendable {
        public let node: Int
        public let index: UInt32
        public init(node: Int, index: UInt32) { (self.node, self.index) = (node, index) }
    }

    public enum Refusal: Error, Equatable, Sendable {
        /// The owner holds its quota already.
        case quotaReached
        /// Every CNode is full: add one (`addNode`) and ask again.
        case needsNode
    }

    /// Slots per CNode, slot 0 (the CNode itself) included.
    public let slotsPerNode: UInt32
    public private(set) var nodes = 0
    private var free: [Slot] = []
    private var held: [(owner: Int, count: Int)] = []

    public init(slotsPerNode: UInt32) {
        self.slotsPerNode = max(slotsPerNode, 2)
    }

    /// The slots in use by all owners.
    public var inUse: Int { held.reduce(0) { $0 + $1.count } }

    /// The slots `owner` holds.
    public func held(by owner: Int) -> Int { held.first { $0.owner == owner }?.count ?? 0 }

    /// A slot for `owner`, which may hold at most `quota`.
    public mutating func take(for owner: Int, quota: Int) -> Result<Slot, Refusal> {
        let index = held.firstIndex { $0.owner == owner }
        guard (index.map { held[$0].count } ?? 0) < quota else { return .failure(.quotaReached) }
        guard let slot = free.popLast() else { return .failure(.needsNode) }
        if let index { held[index].count += 1 } else { held.append((owner, 1)) }
        return .success(slot)
    }

    /// `owner` gives `slot` back.
    public mutating func give(_ slot: Slot, from owner: Int) {
        guard slot.node < nodes, slot.index > 0, slot.index < slotsPerNode, !free.contains(slot),
              let index = held.firstIndex(where: { $0.owner == owner }) else { return }
        held[index].count -= 1
        if held[index].count == 0 { held.remove(at: index) }
        free.append(slot)
    }

    /// Records a new CNode (the kernel made it); its slots are free. Returns its number.
    @discardableResult
    public mutating func addNode() -> Int {
        let node = nodes
        nodes += 1
        // Lowest slots last, so they are taken first.
        for index in stride(from: slotsPerNode - 1, through: 1, by: -1) { free.append(Slot(node: node, index: index)) }
        return node
    }

    /// Capabilities in flight (or kernel slots generally) a domain with `bytes` of its
    /// own memory may hold: one per 16 KiB, at least 4. A domain spawned with its
    /// 64 KiB of RAM, its tables and its program's pages gets about 16.
    public static func quota(forDomainBytes bytes: UInt64) -> Int {
        max(4, Int(min(bytes / 16_384, 1 << 20)))
    }
}
