// Where a long-lived service domain runs when nobody says (docs/network.md: netd is
// started "on the core the knowledge base picks"). The policy keeps services off core 0,
// where the shell, the boot-time monitor work and most short programs run, and near the
// memory of node 0, where the bootstrap core's devices are: the last core of NUMA node 0
// other than core 0. A machine of one core has only core 0. The monitors answer it from
// their replicas (`Monitor.serviceCore`).

import Basics

public enum ServicePlacement {
    /// The core for a service among `cores` (the cores that run), with each core's NUMA
    /// node as `node` says (nil: unknown, taken as node 0).
    public static func core(among cores: [CoreID], node: (CoreID) -> Int? = { _ in nil }) -> CoreID {
        let candidates = cores.filter { $0 != .bootstrap && (node($0) ?? 0) == 0 }
        return candidates.max() ?? .bootstrap
    }

    /// The same over the knowledge base's cores and their SRAT nodes.
    public static func core(in knowledge: KnowledgeBase) -> CoreID {
        core(among: knowledge.coreIDs, node: { knowledge.numaNode(of: $0) })
    }

    /// Where a client of a service on `service` goes when nobody says: another core than
    /// the service's if there is one (the last), so the two poll their rings in
    /// parallel; else the service's own.
    public static func client(of service: CoreID, among cores: [CoreID]) -> CoreID {
        cores.filter { $0 != service }.max() ?? service
    }
}
