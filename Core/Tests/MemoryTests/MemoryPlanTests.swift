import XCTest
import CoreTestSupport
import Basics
@testable import Memory

final class MemoryPlanTests: XCTestCase {
    /// QEMU's pc machine: low RAM up to the EBDA at 0x9FC00, RAM from 1 MiB to the
    /// PCI hole at 3 GiB, the rest above 4 GiB.
    static func qemuMap(megabytes: UInt64) -> [PhysicalRange] {
        let total = megabytes * mib
        let belowHole = min(total, 3 * gib)
        var map = [range(0, 0x9FC00), range(mib, belowHole)]
        if total > 3 * gib { map.append(range(4 * gib, 4 * gib + total - 3 * gib)) }
        return map
    }

    /// The first MiB, a kernel image at 1 MiB, and unaligned boot structures.
    static let reserved = [range(0, mib), range(mib, 3 * mib + 0x123), range(0x600_0100, 0x600_2F00)]

    static let maps: [(String, [PhysicalRange])] = [
        ("128 MiB", qemuMap(megabytes: 128)), ("1 GiB", qemuMap(megabytes: 1024)), ("4 GiB", qemuMap(megabytes: 4096)),
    ]

    func testQEMUMapsAndCoreCounts() throws {
        for (name, map) in Self.maps {
            for cores in [1, 2, 3, 8, 64] {
                for channel: UInt64 in [0, 2 * mib + 100] {
                    let plan = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: cores,
                                                   channelAreaBytes: channel, limit: PhysicalAddress(1 << 46))
                    check(plan, usable: map, reserved: Self.reserved, cores: cores, channelBytes: channel,
                          limit: 1 << 46, "\(name), \(cores) cores, channel \(channel)")
                }
            }
        }
    }

    func testFourGiBMapSplitsAcrossThePCIHole() throws {
        let map = Self.qemuMap(megabytes: 4096)
        let plan = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 2, channelAreaBytes: 0,
                                       limit: PhysicalAddress(1 << 46))
        // About 3 GiB below the hole and 1 GiB above: the first core stays below, the
        // second takes the rest of low memory and all of high memory.
        XCTAssertEqual(plan.shares[0].count, 2)  // the boot structures leave a gap
        XCTAssertEqual(plan.shares[1].count, 2)
        XCTAssertEqual(plan.shares[1].last, range(4 * gib, 5 * gib))
        XCTAssertEqual(plan.ignoredBytes, 0)
    }

    /// Two nodes of 2 GiB each on QEMU's 4 GiB map (node 1 starts at 2 GiB and runs past
    /// the hole), cores 0–1 on node 0 and 2–3 on node 1: every share on its node.
    func testNUMANodesCutTheirOwnMemory() throws {
        let map = Self.qemuMap(megabytes: 4096)
        let numa = MemoryPlan.NUMALayout(coreNodes: [0, 0, 1, 1],
                                         memory: [(range(0, 2 * gib), 0), (range(2 * gib, 5 * gib), 1)])
        let plan = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 4, channelAreaBytes: mib,
                                       limit: PhysicalAddress(1 << 46), numa: numa)
        XCTAssertTrue(plan.isNodeAware)
        check(plan, usable: map, reserved: Self.reserved, cores: 4, channelBytes: mib, limit: 1 << 46, "numa")
        for (core, share) in plan.shares.enumerated() {
            for r in share {
                XCTAssertEqual(numa.node(of: r.start), numa.coreNodes[core], "core \(core): \(r)")
                XCTAssertEqual(numa.node(of: PhysicalAddress(r.end.rawValue - 1)), numa.coreNodes[core], "core \(core): \(r)")
            }
        }
        // Node 1 has 2 GiB (the hole takes 1 GiB of its range) for two cores, cut evenly.
        XCTAssertEqual(plan.shareBytes(2) + plan.shareBytes(3), 2 * gib)
        XCTAssertEqual(plan.shareBytes(2), plan.shareBytes(3))
        XCTAssertLessThanOrEqual(max(plan.shareBytes(0), plan.shareBytes(1)) - min(plan.shareBytes(0), plan.shareBytes(1)), UInt64(frame))
        // Without an SRAT, or with nodes the plan cannot honour, the plain cut.
        let plain = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 4, channelAreaBytes: mib,
                                        limit: PhysicalAddress(1 << 46))
        XCTAssertFalse(plain.isNodeAware)
        for bad in [MemoryPlan.NUMALayout(coreNodes: [0, 0, nil, 1], memory: numa.memory),       // a core on no node
                    MemoryPlan.NUMALayout(coreNodes: [0, 0, 1], memory: numa.memory),            // too few cores listed
                    MemoryPlan.NUMALayout(coreNodes: [0, 0, 1, 1], memory: [(range(0, 5 * gib - 512 * 1024), 0),
                                                                             (range(5 * gib - 512 * 1024, 5 * gib), 1)])] {
            let fallback = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 4, channelAreaBytes: mib,
                                               limit: PhysicalAddress(1 << 46), numa: bad)
            XCTAssertFalse(fallback.isNodeAware)
            XCTAssertEqual(fallback.shares, plain.shares)
        }
        // Memory on no node goes to core 0's node.
        let partial = MemoryPlan.NUMALayout(coreNodes: [0, 1], memory: [(range(3 * gib, 5 * gib), 1)])
        let split = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 2, channelAreaBytes: mib,
                                        limit: PhysicalAddress(1 << 46), numa: partial)
        XCTAssertTrue(split.isNodeAware)
        XCTAssertEqual(split.shares[1], [range(4 * gib, 5 * gib)])
    }

    func testLimitIgnoresHighMemory() throws {
        let map = Self.qemuMap(megabytes: 4096)
        let plan = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 3, channelAreaBytes: mib,
                                       limit: PhysicalAddress(4 * gib + 0x800))
        XCTAssertEqual(plan.ignoredBytes, gib)
        for share in plan.shares { for r in share { XCTAssertLessThanOrEqual(r.end, PhysicalAddress(3 * gib)) } }
        check(plan, usable: map, reserved: Self.reserved, cores: 3, channelBytes: mib, limit: 4 * gib, "limit")

        let half = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 3, channelAreaBytes: mib,
                                       limit: PhysicalAddress(4 * gib + 512 * mib))
        XCTAssertEqual(half.ignoredBytes, 512 * mib)
        check(half, usable: map, reserved: Self.reserved, cores: 3, channelBytes: mib, limit: 4 * gib + 512 * mib,
              "half")
    }

    func testChannelAreaPrefersMemoryBelowFourGiB() throws {
        let plan = try MemoryPlan.make(usable: Self.qemuMap(megabytes: 4096), reserved: Self.reserved, cores: 4,
                                       channelAreaBytes: 64 * mib, limit: PhysicalAddress(1 << 46))
        XCTAssertEqual(plan.channelArea, range(3 * mib + frame, 67 * mib + frame))

        // Low memory too small for it: it goes above 4 GiB.
        let sparse = [range(mib, 40 * mib), range(4 * gib, 5 * gib)]
        let high = try MemoryPlan.make(usable: sparse, reserved: [], cores: 2, channelAreaBytes: 64 * mib,
                                       limit: PhysicalAddress(1 << 46))
        XCTAssertEqual(high.channelArea, range(4 * gib, 4 * gib + 64 * mib))
        check(high, usable: sparse, reserved: [], cores: 2, channelBytes: 64 * mib, limit: 1 << 46, "high")

        XCTAssertThrowsError(try MemoryPlan.make(usable: sparse, reserved: [], cores: 2, channelAreaBytes: 2 * gib,
                                                 limit: PhysicalAddress(1 << 46))) {
            XCTAssertEqual($0 as? MemoryError, .notEnoughMemory)
        }
        XCTAssertThrowsError(try MemoryPlan.make(usable: sparse, reserved: [], cores: 2, channelAreaBytes: .max,
                                                 limit: PhysicalAddress(1 << 46))) {
            XCTAssertEqual($0 as? MemoryError, .notEnoughMemory)
        }
    }

    func testTooManyCoresOrTooLittleMemory() throws {
        let map = Self.qemuMap(megabytes: 128)
        // 125 MiB - 16 KiB to share: 124 cores get 1 MiB each, 125 would not.
        let plan = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 124, channelAreaBytes: 0,
                                       limit: PhysicalAddress(1 << 46))
        XCTAssertEqual(plan.shares.count, 124)
        for share in plan.shares { XCTAssertGreaterThanOrEqual(share.map(\.size).reduce(0, +), mib) }
        for cores in [125, 1000] {
            XCTAssertThrowsError(try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: cores,
                                                     channelAreaBytes: 0, limit: PhysicalAddress(1 << 46))) {
                XCTAssertEqual($0 as? MemoryError, .notEnoughMemory)
            }
        }
        for cores in [0, -1] {
            XCTAssertThrowsError(try MemoryPlan.make(usable: map, reserved: [], cores: cores, channelAreaBytes: 0,
                                                     limit: PhysicalAddress(1 << 46))) {
                XCTAssertEqual($0 as? MemoryError, .invalidArgument)
            }
        }
        XCTAssertThrowsError(try MemoryPlan.make(usable: [], reserved: [], cores: 1, channelAreaBytes: 0,
                                                 limit: PhysicalAddress(1 << 46))) {
            XCTAssertEqual($0 as? MemoryError, .notEnoughMemory)
        }
        XCTAssertThrowsError(try MemoryPlan.make(usable: map, reserved: [], cores: 1, channelAreaBytes: 0,
                                                 limit: PhysicalAddress(mib))) {
            XCTAssertEqual($0 as? MemoryError, .notEnoughMemory)
        }
    }

    func testUntidyFirmwareMapIsCleanedUp() throws {
        // Unsorted, overlapping, unaligned, with an empty entry.
        let messy = [range(64 * mib + 5, 100 * mib + 7), range(mib + 1, 40 * mib), range(30 * mib, 70 * mib),
                     range(200 * mib, 200 * mib)]
        let plan = try MemoryPlan.make(usable: messy, reserved: [], cores: 3, channelAreaBytes: 0,
                                       limit: PhysicalAddress(1 << 46))
        let tidy = [range(mib + frame, 100 * mib)]
        check(plan, usable: tidy, reserved: [], cores: 3, channelBytes: 0, limit: 1 << 46, "messy")
        XCTAssertEqual(plan.shares.map(\.count), [1, 1, 1])
    }

    func testSharesFeedFrameAllocators() throws {
        let map = Self.qemuMap(megabytes: 128)
        let plan = try MemoryPlan.make(usable: map, reserved: Self.reserved, cores: 8, channelAreaBytes: 4 * mib,
                                       limit: PhysicalAddress(1 << 46))
        let memory = SimulatedMemory(base: 0, size: Int(128 * mib))
        for share in plan.shares {
            var frames = try memory.allocator(share)
            XCTAssertEqual(UInt64(frames.totalFrames) * frame, share.reduce(0) { $0 + $1.size })
            let one = try XCTUnwrap(frames.allocate())
            XCTAssertTrue(share.contains { $0.contains(one) })
            XCTAssertTrue(frames.checkConsistency())
        }
    }

    // MARK: The properties every plan has

    private func check(_ plan: MemoryPlan, usable: [PhysicalRange], reserved: [PhysicalRange], cores: Int,
                       channelBytes: UInt64, limit: UInt64, _ context: String, line: UInt = #line) {
        func fail(_ message: String) { XCTFail("\(context): \(message)", line: line) }
        // Usable memory, rounded inwards, below the limit.
        let allowed = usable.map { range($0.start.alignedUp(to: frame).rawValue,
                                         min($0.end.alignedDown(to: frame).rawValue, limit)) }
        let forbidden = reserved.map {
            range($0.start.alignedDown(to: frame).rawValue, $0.end.alignedUp(to: frame).rawValue)
        }
        func isAllowed(_ r: PhysicalRange) -> Bool {
            allowed.contains { $0.start <= r.start && r.end <= $0.end } && !forbidden.contains { $0.overlaps(r) }
        }

        // The channel area.
        let channel = plan.channelArea
        if channelBytes == 0 {
            if !channel.isEmpty { fail("channel area without asking") }
        } else {
            if channel.size != PhysicalAddress(channelBytes).alignedUp(to: frame).rawValue { fail("channel size") }
            if !channel.start.isAligned(to: frame) { fail("channel alignment") }
            if !isAllowed(channel) { fail("channel area \(channel) not in free usable memory") }
        }

        // Each share: page-aligned, sorted, non-empty, no two adjacent ranges, allowed.
        if plan.shares.count != cores { fail("\(plan.shares.count) shares") }
        var all: [PhysicalRange] = []
        for (core, share) in plan.shares.enumerated() {
            if share.isEmpty { fail("core \(core) has nothing") }
            for (i, r) in share.enumerated() {
                if r.isEmpty || !r.start.isAligned(to: frame) || !r.end.isAligned(to: frame) {
                    fail("core \(core) range \(r) empty or unaligned")
                }
                if !isAllowed(r) { fail("core \(core) range \(r) outside usable memory or reserved") }
                if channel.overlaps(r) { fail("core \(core) range \(r) overlaps the channel area") }
                if i > 0 && share[i - 1].end >= r.start { fail("core \(core) ranges unsorted or mergeable") }
            }
            // Consecutive: each core's memory lies above the previous core's.
            if core > 0, let last = plan.shares[core - 1].last, let first = share.first, last.end > first.start {
                fail("core \(core) not after core \(core - 1)")
            }
            all += share
        }
        all.sort { $0.start < $1.start }
        for i in all.indices.dropFirst() where all[i - 1].end > all[i].start { fail("shares overlap") }

        // Balanced within one frame (within each node for a plan cut per node), at least
        // the minimum.
        let sizes = plan.shares.map { $0.reduce(0) { $0 + $1.size } }
        if let low = sizes.min(), let high = sizes.max() {
            if high - low > frame && !plan.isNodeAware { fail("unbalanced: \(low)…\(high)") }
            if low < MemoryPlan.minimumShareBytes { fail("share below the minimum") }
        }

        // Nothing lost: shares plus channel area are all the allowed memory.
        var available: UInt64 = 0
        for a in allowed where !a.isEmpty {
            available += a.size
            for f in forbidden where f.overlaps(a) {
                available -= min(a.end, f.end) - max(a.start, f.start)
            }
        }
        if sizes.reduce(0, +) + channel.size != available {
            fail("\(sizes.reduce(0, +)) + \(channel.size) bytes planned of \(available)")
        }
        XCTAssertEqual(plan.ignoredBytes, usable.reduce(0) { total, r in
            let end = r.end.alignedDown(to: frame).rawValue
            let start = max(r.start.alignedUp(to: frame).rawValue, limit)
            return total + (end > start ? end - start : 0)
        }, context, line: line)
    }
}
