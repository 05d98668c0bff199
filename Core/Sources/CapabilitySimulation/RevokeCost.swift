// What a revoke costs as the machine grows, measured in the simulator: a RAM object on
// core 0, retyped there into frames, one frame copied to every other core (so the RAM
// has descendants on every core and the revoke must reach them all), then revoked from
// core 0. Counted: the messages the revoke sends, and its critical path in hops (the
// longest chain of messages, each sent on receipt of the one before, from the request
// to the answer). Both for the owner sending to every core itself (`.direct`) and for
// the per-package tree (`.viaGroups` with each core's package), on the paper's 8×4 AMD
// (the knowledge base's `amd8x4` fixture; up to 32 cores its first N cores, at 64 the
// same eight packages with eight cores each).
//
// Modelled cycles come from the knowledge base's multicast cost model
// (`MulticastCostModel`, which reproduces the order of the paper's Fig. 6) applied to the
// tree the protocol used, once for mark and ready and once for commit and done; like
// that model, they leave out the work each core does.
import Basics
import CapabilityProtocols
import KnowledgeBase

public struct RevokeCostRow: Equatable, Sendable {
    public struct Figures: Equatable, Sendable {
        public var messages: Int
        public var hops: Int
        public var cycles: UInt64
    }

    public var cores: Int
    public var direct: Figures
    public var tree: Figures
}

public enum RevokeCost {
    public static let coreCounts = [2, 4, 8, 16, 32, 64]

    /// The 8×4 AMD for `cores` cores: its first `cores` cores, or, beyond 32, eight
    /// packages of `cores / 8` with the same links and latencies.
    public static func machine(cores: Int) -> KnowledgeBase {
        guard cores > 32 else { return KnowledgeBase.amd8x4 }
        let amd = KnowledgeBase.amd8x4
        var base = KnowledgeBase.synthetic(packages: 8, coresPerPackage: cores / 8, latencies: SyntheticLatencies(samePackage: 0, byHops: [0]))
        // Same latencies as the 8×4 by package pair: a core of package p stands for core
        // 4p of the 8×4.
        for a in base.coreIDs {
            for b in base.coreIDs {
                let pa = base.package(of: a) ?? 0, pb = base.package(of: b) ?? 0
                let stand = (a == b) ? CoreID(pa * 4) : (pa == pb ? CoreID(pa * 4 + 1) : CoreID(pb * 4))
                base.latency.set(from: a, to: b, amd.latency[CoreID(pa * 4), stand])
            }
        }
        return base
    }

    /// Each of the first `cores` cores' package, as a revoke route's groups.
    public static func packages(of base: KnowledgeBase, cores: Int) -> [UInt8] {
        (0..<cores).map { UInt8(clamping: base.package(of: CoreID($0)) ?? 0) }
    }

    /// The table: one row per core count.
    public static func table(coreCounts: [Int] = coreCounts) -> [RevokeCostRow] {
        coreCounts.map { cores in
            let base = machine(cores: cores)
            let groups = packages(of: base, cores: cores)
            return RevokeCostRow(cores: cores, direct: figures(cores: cores, route: .direct, base: base),
                                 tree: figures(cores: cores, route: .viaGroups(groupOf: groups), base: base))
        }
    }

    static func figures(cores: Int, route: RevokeRoute, base: KnowledgeBase) -> RevokeCostRow.Figures {
        let (messages, hops) = simulate(cores: cores, route: route)
        let targets = CoreMask.all(cores).removing(CoreID(0))
        var children = [[CoreID]](repeating: [], count: cores)
        for c in 0..<cores { children[c] = route.children(of: CoreID(c), root: CoreID(0), targets: targets) }
        let kind: MulticastKind = route == .direct ? .unicast : .perPackage
        let tree = MulticastTree(kind: kind, root: CoreID(0), children: children)
        let round = MulticastCostModel.typical(for: base).completionCycles(of: tree, in: base)
        return RevokeCostRow.Figures(messages: messages, hops: hops, cycles: round &* 2)
    }

    /// Runs the revoke in the simulator: messages it sent and its hops.
    public static func simulate(cores: Int, route: RevokeRoute) -> (messages: Int, hops: Int) {
        var m = SimulatedMachine(coreCount: cores, objects: 1, objectSize: 64 * 4096, route: route, capacity: 256)
        let ram = RecordID(1)
        m.issue(.retype(ram, count: 64), on: 0)
        let frames = m.monitors[0].database.records.filter { $0.object.kind == .frame }
        for c in 1..<max(cores, 1) { m.issue(.copy(frames[c].id, to: c, domain: 1), on: 0) }
        m.deliverAll()
        let before = m.monitors.reduce(0) { $0 + $1.counters.sent }
        m.issue(.revoke(ram), on: 0)
        m.deliverAll()
        let sent = m.monitors.reduce(0) { $0 + $1.counters.sent } - before
        return (sent, m.requests.last?.hops ?? 0)
    }
}
