// What an unmap costs as the machine grows, measured in the simulator (the paper's
// Fig. 6): one page of an address space every core uses, unmapped from core 0. Counted:
// the messages the shootdown sends, and its critical path in hops (the longest chain of
// messages, each sent on receipt of the one before, from the request to the answer),
// for each of the knowledge base's four multicast trees. Two machines: the paper's 8×4
// AMD (its first N cores; at 64 the same eight packages with eight cores each, as the
// revoke cost table has it) and that 64-core machine from its first core up, so that
// small counts fill one package before the next.
//
// Modelled cycles come from the knowledge base's multicast cost model
// (`MulticastCostModel`) applied to the tree the protocol used: one round down and back
// up. Like that model, they leave out the work each core does (the invalidation itself).
import Basics
import CapabilityProtocols
import CapabilitySimulation
import KnowledgeBase
import ShootdownProtocol

public struct UnmapCostRow: Equatable, Sendable {
    public struct Figures: Equatable, Sendable {
        public var messages: Int
        public var hops: Int
        public var cycles: UInt64
    }

    public var cores: Int
    /// One per tree, in `MulticastKind.allCases` order.
    public var figures: [Figures]

    public func figures(of kind: MulticastKind) -> Figures {
        figures[MulticastKind.allCases.firstIndex(of: kind) ?? 0]
    }
}

public enum UnmapCost {
    public enum Machine: String, CaseIterable, Sendable {
        /// The paper's 8×4 AMD, its first N cores (beyond 32, 8 packages of N/8).
        case amd8x4
        /// 8 packages of 8 cores with the 8×4 AMD's latencies, its first N cores.
        case sixtyFourCores

        public var title: String {
            switch self {
            case .amd8x4: return "the paper's 8×4 AMD (at 64 cores, 8 packages of 8)"
            case .sixtyFourCores: return "a 64-core machine (8 packages of 8), its first N cores"
            }
        }

        /// The core counts the machine has: beyond 32, the 8×4 AMD grows by whole
        /// packages of eight, so only multiples of 8.
        public var coreCounts: [Int] {
            switch self {
            case .amd8x4: return Array(2...32) + Array(stride(from: 40, through: 64, by: 8))
            case .sixtyFourCores: return Array(2...64)
            }
        }

        public func knowledge(cores: Int) -> KnowledgeBase {
            RevokeCost.machine(cores: self == .amd8x4 ? cores : 64)
        }
    }

    public static let coreCounts = [2, 4, 8, 16, 32, 64]

    /// The table: one row per core count.
    public static func table(on machine: Machine, coreCounts: [Int] = coreCounts) -> [UnmapCostRow] {
        coreCounts.map { cores in
            let knowledge = machine.knowledge(cores: cores)
            return UnmapCostRow(cores: cores, figures: MulticastKind.allCases.map { figures(cores: cores, tree: $0, knowledge: knowledge) })
        }
    }

    /// Runs the unmap on the first `cores` cores of `knowledge` with `tree`, checked as
    /// every simulated run is.
    public static func figures(cores: Int, tree: MulticastKind, knowledge: KnowledgeBase) -> UnmapCostRow.Figures {
        let (messages, hops) = simulate(cores: cores, tree: tree, knowledge: knowledge)
        let everyCore = CoreMask.all(cores).cores
        let multicast = knowledge.multicastTree(from: CoreID(0), to: everyCore, kind: tree)
        let cycles = MulticastCostModel.typical(for: knowledge).completionCycles(of: multicast, in: knowledge)
        return UnmapCostRow.Figures(messages: messages, hops: hops, cycles: cycles)
    }

    /// The unmap's messages and hops; (-1, -1) if the run broke a rule, so no table
    /// shows a figure from a wrong run.
    public static func simulate(cores: Int, tree: MulticastKind, knowledge: KnowledgeBase) -> (messages: Int, hops: Int) {
        var machine = ShootdownMachine(coreCount: cores, configuration: ShootdownMonitor.Configuration(knowledge: knowledge, tree: tree),
                                       users: [CoreMask.all(cores)])
        for core in 0..<cores { machine.touch(on: core, space: 0, page: 0) }
        machine.startShootdown(on: 0, space: 0, page: 0, pages: 1, kind: .unmap)
        machine.deliverAll()
        machine.finalChecks()
        guard machine.violations.isEmpty, let shootdown = machine.shootdowns.first else { return (-1, -1) }
        return (machine.monitors.reduce(0) { $0 + $1.counters.sent }, shootdown.hops)
    }
}
