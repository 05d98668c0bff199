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

    public init(channelArea: PhysicalRange, shares: [[PhysicalRange]], ignoredBytes: UInt64) {
        self.channelArea = channelArea
        self.shares = shares
        self.ignoredBytes = ignoredBytes
    }

    /// The bytes in core `core`'s share.
    public func shareBytes(_ core: Int) -> UInt64 {
        shares[core].reduce(0) { $0 + $1.size }
    }

    /// Plans the memory of `cores` cores. Fails with `notEnoughMemory` if a core would get
    /// less than `minimumShareBytes` or the channel area does not fit, and with
    /// `invalidArgument` if `cores` is not positive.
    public static func make(usable: [PhysicalRange], reserved: [PhysicalRange], cores: Int,
                            channelAreaBytes: UInt64, limit: PhysicalAddress) throws(MemoryError) -> MemoryPlan {
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

        // 5: equal consecutive pieces.
        let totalFrames = available.reduce(0) { $0 + $1.size / frame }
        let perCore = totalFrames / UInt64(cores)
        let extra = totalFrames % UInt64(cores)
        guard perCore * frame >= minimumShareBytes else { throw .notEnoughMemory }

        var shares: [[PhysicalRange]] = []
        shares.reserveCapacity(cores)
        var rangeIndex = 0
        var cursor = available.first?.start ?? PhysicalAddress(0)
        for core in 0..<cores {
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
        return MemoryPlan(channelArea: channelArea, shares: shares, ignoredBytes: ignored)
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
