// Knowledge bases for machines we do not have: the multikernel paper's 2×4-core Intel,
// 4×4-core AMD and 8×4-core AMD systems, and any other grid of packages × cores. Host
// tests, the kernel's tests and the docs build trees on them, since QEMU's virtual
// machines have no interesting topology and no stable latencies.
//
// A synthetic machine's cores are numbered package by package (core p·n + i is core i of
// package p), with APIC IDs laid out as CPUID would report them (package above the core
// bits, no SMT). Each core has private L1 data and instruction caches; the cores of one
// package share the cache at `sharedCacheLevel` (L3 on the AMD parts, L2 on the Intel
// one), and on the AMD parts a private L2 as well. Round trips depend only on how many
// interconnect hops separate the two packages.

import Basics

/// Round-trip times of a synthetic machine, by distance.
public struct SyntheticLatencies: Sendable {
    /// Round trip between two cores of one package, in cycles.
    public var samePackage: UInt64
    /// Round trip between packages 1, 2, … interconnect hops apart (index hops − 1);
    /// farther packages use the last entry, and an empty list means `samePackage`.
    public var byHops: [UInt64]
    /// Interconnect links between packages. Empty: every package is one hop from every
    /// other (a shared bus).
    public var links: [(Int, Int)]

    public init(samePackage: UInt64, byHops: [UInt64], links: [(Int, Int)] = []) {
        self.samePackage = samePackage
        self.byHops = byHops
        self.links = links
    }

    /// The round trip between packages `hops` apart (0 = same package).
    public func roundTrip(hops: Int) -> UInt64 {
        guard hops > 0, let last = byHops.last else { return samePackage }
        return hops <= byHops.count ? byHops[hops - 1] : last
    }
}

extension KnowledgeBase {
    /// A machine of `packages` × `coresPerPackage` cores with every round trip measured
    /// as `latencies` gives it. Each package is its own NUMA node when
    /// `packagesAreNUMANodes` (one memory controller per socket, as on the AMD parts);
    /// otherwise no core has a NUMA node (a front-side-bus machine has no SRAT).
    public static func synthetic(
        packages: Int, coresPerPackage: Int, latencies: SyntheticLatencies,
        sharedCacheLevel: Int = 3, packagesAreNUMANodes: Bool = true
    ) -> KnowledgeBase {
        let packages = max(packages, 0), perPackage = max(coresPerPackage, 0)
        let coreBits = bitsNeeded(UInt32(clamping: perPackage))
        var cores: [CoreFacts] = []
        for package in 0..<packages {
            for index in 0..<perPackage {
                let apic = UInt32(clamping: package << coreBits | index)
                var caches = [
                    CacheFact(level: 1, kind: .data, sharingGroup: apic),
                    CacheFact(level: 1, kind: .instruction, sharingGroup: apic),
                ]
                for level in 2..<max(sharedCacheLevel, 2) {
                    caches.append(CacheFact(level: level, kind: .unified, sharingGroup: apic))
                }
                caches.append(CacheFact(level: max(sharedCacheLevel, 2), kind: .unified, sharingGroup: UInt32(clamping: package)))
                cores.append(CoreFacts(
                    core: CoreID(package * perPackage + index), apicID: APICID(apic),
                    place: CorePlace(package: package, core: index, thread: 0),
                    caches: caches, numaNode: packagesAreNUMANodes ? package : nil))
            }
        }

        let hops = packageHops(count: packages, links: latencies.links)
        var matrix = LatencyMatrix(count: cores.count)
        for a in cores {
            for b in cores where b.core != a.core {
                matrix[a.core, b.core] = latencies.roundTrip(hops: hops[a.place.package][b.place.package])
            }
        }
        return KnowledgeBase(cores: cores, latency: matrix)
    }

    /// Hop counts between `count` packages joined by `links` (breadth-first search);
    /// no links means all adjacent. Packages the links do not connect are `count` hops
    /// apart, farther than any connected pair. Links naming packages out of range are
    /// ignored.
    static func packageHops(count: Int, links: [(Int, Int)]) -> [[Int]] {
        guard count > 0 else { return [] }
        if links.isEmpty {
            return (0..<count).map { a in (0..<count).map { b in a == b ? 0 : 1 } }
        }
        var neighbours = [[Int]](repeating: [], count: count)
        for (a, b) in links where a >= 0 && a < count && b >= 0 && b < count && a != b {
            neighbours[a].append(b)
            neighbours[b].append(a)
        }
        return (0..<count).map { start in
            var distance = [Int](repeating: count, count: count)
            distance[start] = 0
            var queue = [start]
            var head = 0
            while head < queue.count {
                let here = queue[head]
                head += 1
                for next in neighbours[here] where distance[next] == count && next != start {
                    distance[next] = distance[here] + 1
                    queue.append(next)
                }
            }
            return distance
        }
    }

    // The paper's machines ([P] = Baumann et al., SOSP 2009; see
    // shared/reference/multikernel.md). Only two URPC latencies were recovered from the
    // paper: 180 cycles between cores sharing a cache on the 2×4 Intel and 618 cycles
    // across two HyperTransport hops on the 8×4 AMD (Table 2), plus 450 cycles on the
    // 2×2 AMD (Table 3). The other figures are our estimates, chosen between those and
    // marked as such.

    /// 2×4-core Intel (Xeon X5355): two packages on a front-side bus, cores of a package
    /// sharing the L2 (simplified: the X5355 shares each L2 between two cores), no NUMA.
    public static var intel2x4: KnowledgeBase {
        synthetic(packages: 2, coresPerPackage: 4, latencies: SyntheticLatencies(
            samePackage: 180,  // [P] Table 2: cores sharing a cache.
            byHops: [570]),    // Estimate: about 3× the shared-cache case, the line crossing the bus and chipset.
            sharedCacheLevel: 2, packagesAreNUMANodes: false)
    }

    /// 4×4-core AMD (Opteron 8380): four packages with a shared L3 each, joined in a
    /// HyperTransport square, so a package is one hop from two others and two from one.
    public static var amd4x4: KnowledgeBase {
        synthetic(packages: 4, coresPerPackage: 4, latencies: SyntheticLatencies(
            samePackage: 450,  // [P] Table 3: URPC on the 2×2 AMD, taken for the same-package case.
            byHops: [545,      // Estimate: about 20% above the same-package case for one hop.
                     560],     // Estimate: a second hop adds little once off the package.
            links: [(0, 1), (1, 2), (2, 3), (3, 0)]))
    }

    /// 8×4-core AMD (Opteron 8350, 32 cores): eight packages with a shared L3 each. The
    /// interconnect is modelled as a ring with a link across to the opposite package
    /// (three links per package), so no package is more than two hops away, matching the
    /// paper's farthest case of two HyperTransport hops.
    public static var amd8x4: KnowledgeBase {
        synthetic(packages: 8, coresPerPackage: 4, latencies: SyntheticLatencies(
            samePackage: 520,  // Estimate: a shared-L3 transfer at 2.0 GHz, above the 2×2 AMD's 450.
            byHops: [600,      // Estimate: between the same-package case and two hops.
                     618],     // [P] Table 2: two HyperTransport hops on the 8×4 AMD.
            links: [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 0),
                    (0, 4), (1, 5), (2, 6), (3, 7)]))
    }
}
