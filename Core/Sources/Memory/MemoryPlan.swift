// How the bootstrap core carves RAM into per-core shares.
//
// There is no shared allocator: each core's CPU driver owns the frames of its share and
// runs its own FrameAllocator over them. The bootstrap core computes the plan once, from
// the firmware's memory map, and hands each core its share at start-up; after that no
// core touches another's memory except through the channel area, the one region every
// core may map, which holds the cross-core message channels.
//
// The steps:
//  1. Usable ranges are cleaned: rounded inwards to whole frames, sorted, merged. The
//     firmware map is untrusted input, so no order is assumed.
//  2. RAM at or above `limit` is dropped (the kernel does not map it) and counted in
//     `ignoredBytes`.
//  3. Reserved ranges (rounded outwards to whole frames) are cut out.
//  4. The channel area is the first stretch large enough that lies wholly below 4 GiB,
//     so that anything that needs 32-bit addresses can reach it; failing that, the first
//     stretch large enough anywhere.
//  5. What remains is cut, in address order, into `cores` consecutive pieces whose frame
//     counts differ by at most one (the first cores get the extra frames). Each piece is
//     as few ranges as the holes in RAM allow.
//
//     With NUMA nodes (the SRAT's processor and memory affinities, `NUMALayout`), each
//     node's memory is cut so among that node's cores instead, so every core's share,
//     and so everything its CPU driver and its monitor's memory service hand out, lies
//     on its own node. Memory on no node with cores goes to core 0's node. If a node
//     with cores has too little memory for them, or a core has no node, the plan falls
//     back to the plain cut (and says so in `isNodeAware`).
//
// This runs once, with a boot heap, so it uses arrays.

import Basics

public struct MemoryPlan: Equatable, Sendable {
    /// The least memory a core may be given.
    public static let minimumShareBytes: UInt64 = 1 * .mebibyte

    /// The memory every core may map for cross-core channels; empty if none was asked for.
    public var channelArea: PhysicalRange
    /// Each core's memory, indexed by core number: sorted, disjoint, page-aligned ranges.
    public var shares: [[PhysicalRange]]
    /// Usable RAM at or above the limit, left out of the plan.
    public var ignoredBytes: UInt64
    /// Whether the shares were cut per NUMA node (each on its core's node).
    public var isNodeAware: Bool

    public init(channelArea: PhysicalRange, shares: [[PhysicalRange]], ignoredBytes: UInt64, isNodeAware: Bool = false) {
        self.channelArea = channelArea
        self.shares = shares
        self.ignoredBytes = ignoredBytes
        self.isNodeAware = isNodeAware
    }

    /// Which NUMA node each core and each memory range is on, from the SRAT.
    public struct NUMALayout: Equatable, Sendable {
        /// By core number; nil for a core the SRAT does not place.
        public var coreNodes: [UInt32?]
        public var memory: [(range: PhysicalRange, node: UInt32)]

        public init(coreNodes: [UInt32?], memory: [(range: PhysicalRange, node: UInt32)]) {
            self.coreNodes = coreNodes
            self.memory = memory
        }

        public static func == (a: Self, b: Self) -> Bool {
            a.coreNodes == b.coreNodes && a.memory.map { $0.range } == b.memory.map { $0.range } && a.memory.map { $0.node } == b.memory.map { $0.node }
        }

        /// The node `address` lies on, if any range says.
        public func node(of address: PhysicalAddress) -> UInt32? {
            memory.first { $0.range.contains(address) }?.node
        }
    }

    /// The bytes in core `core`'s share.
    public func shareBytes(_ core: Int) -> UInt64 {
        shares[core].reduce(0) { $0 + $1.size }
    }

    /// Plans the memory of `cores` cores. Fails with `notEnoughMemory` if a core would get
    /// less than `minimumShareBytes` or the channel area does not fit, and with
    /// `invalidArgument` if `cores` is not positive.
    public static func make(usable: [PhysicalRange], reserved: [PhysicalRange], cores: Int,
                            channelAreaBytes: UInt64, limit: PhysicalAddress,
                            numa: NUMALayout? = nil) throws(MemoryError) -> MemoryPlan {
        guard cores >= 1 else { throw .invalidArgument }
        let frame = FrameAllocator.frameSize
        let top = limit.alignedDown(to: frame)

        // 1, 2: clean the usable ranges and drop what lies above the limit.
        var ignored: UInt64 = 0
        var available: [PhysicalRange] = []
        for range in usable.map({ PhysicalRange(start: $0.start.alignedUp(to: frame),
                                                end: $0.end.alignedDown(to: frame)) }).normalized {
            if range.end > top { ignored += range.end - max(range.start, top) }
            let kept = PhysicalRange(start: range.start, end: min(range.end, top))
            if !kept.isEmpty { available.append(kept) }
        }

        // 3: cut out the reserved ranges.
        let holes = reserved.map({ PhysicalRange(start: $0.start.alignedDown(to: frame),
                                                 end: $0.end.alignedUp(to: frame)) }).normalized
        available = subtract(holes, from: available)

        // 4: the channel area.
        var channelArea = PhysicalRange(start: PhysicalAddress(0), end: PhysicalAddress(0))
        if channelAreaBytes > 0 {
            let bytes = PhysicalAddress(channelAreaBytes).alignedUp(to: frame).rawValue
            guard bytes >= channelAreaBytes else { throw .notEnoughMemory }
            let fourGiB = PhysicalAddress(4 * .gibibyte)
            guard let index = available.firstIndex(where: { $0.size >= bytes && $0.start + bytes <= fourGiB })
                    ?? available.firstIndex(where: { $0.size >= bytes })
            else { throw .notEnoughMemory }
            channelArea = PhysicalRange(start: available[index].start, end: available[index].start + bytes)
            available[index].start = channelArea.end
            if available[index].isEmpty { available.remove(at: index) }
        }

        // 5: equal consecutive pieces, per node where the SRAT allows.
        if let numa, let shares = nodeShares(available, cores: cores, numa: numa) {
            return MemoryPlan(channelArea: channelArea, shares: shares, ignoredBytes: ignored, isNodeAware: true)
        }
        guard let shares = cut(available, into: cores) else { throw .notEnoughMemory }
        return MemoryPlan(channelArea: channelArea, shares: shares, ignoredBytes: ignored)
    }

    /// `available` cut among each node's cores; nil if some core has no node or some
    /// node has too little memory for its cores.
    static func nodeShares(_ available: [PhysicalRange], cores: Int, numa: NUMALayout) -> [[PhysicalRange]]? {
        guard numa.coreNodes.count == cores, let home = numa.coreNodes.first ?? nil else { return nil }
        var nodes: [UInt32] = []
        for node in numa.coreNodes {
            guard let node else { return nil }
            if !nodes.contains(node) { nodes.append(node) }
        }
        // Each stretch of RAM goes to the node its SRAT range names (split where ranges
        // split it), or to core 0's node.
        var byNode: [[PhysicalRange]] = Array(repeating: [], count: nodes.count)
        for range in available {
            var start = range.start
            while start < range.end {
                let entry = numa.memory.first { $0.range.contains(start) }
                let next = numa.memory.map { $0.range.start }.filter { $0 > start && $0 < range.end }.min()
                let end = min(entry.map { min($0.range.end, range.end) } ?? (next ?? range.end), range.end)
                let node = entry.flatMap { e in nodes.firstIndex(of: e.node) } ?? nodes.firstIndex(of: home)!
                byNode[node].append(PhysicalRange(start: start, end: end))
                start = end
            }
        }
        var shares: [[PhysicalRange]] = Array(repeating: [], count: cores)
        for (index, node) in nodes.enumerated() {
            let members = (0..<cores).filter { numa.coreNodes[$0] == node }
            guard let cut = cut(byNode[index].normalized, into: members.count) else { return nil }
            for (core, share) in zip(members, cut) { shares[core] = share }
        }
        return shares
    }

    /// `available` (sorted, disjoint) cut in address order into `count` consecutive
    /// pieces whose frame counts differ by at most one (the first get the extra frames);
    /// nil if a piece would be smaller than `minimumShareBytes`.
    static func cut(_ available: [PhysicalRange], into count: Int) -> [[PhysicalRange]]? {
        let frame = FrameAllocator.frameSize
        let totalFrames = available.reduce(0) { $0 + $1.size / frame }
        let perCore = totalFrames / UInt64(count)
        let extra = totalFrames % UInt64(count)
        guard perCore * frame >= minimumShareBytes else { return nil }

        var shares: [[PhysicalRange]] = []
        shares.reserveCapacity(count)
        var rangeIndex = 0
        var cursor = available.first?.start ?? PhysicalAddress(0)
        for core in 0..<count {
            var wanted = (perCore + (UInt64(core) < extra ? 1 : 0)) * frame
            var share: [PhysicalRange] = []
            while wanted > 0 {
                let range = available[rangeIndex]
                let take = min(wanted, range.end - cursor)
                share.append(PhysicalRange(start: cursor, end: cursor + take))
                wanted -= take
                cursor = cursor + take
                if cursor == range.end, rangeIndex + 1 < available.count {
                    rangeIndex += 1
                    cursor = available[rangeIndex].start
                }
            }
            shares.append(share)
        }
        return shares
    }

    /// `ranges` minus `holes`; both sorted and merged.
    static func subtract(_ holes: [PhysicalRange], from ranges: [PhysicalRange]) -> [PhysicalRange] {
        var result: [PhysicalRange] = []
        for range in ranges {
            var start = range.start
            for hole in holes where hole.overlaps(PhysicalRange(start: start, end: range.end)) {
                if hole.start > start { result.append(PhysicalRange(start: start, end: hole.start)) }
                start = max(start, hole.end)
            }
            if start < range.end { result.append(PhysicalRange(start: start, end: range.end)) }
        }
        return result
    }
}
