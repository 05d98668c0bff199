// Where a long-lived service goes when its starter does not say: the knowledge base's
// choice (`ServicePlacement`), made by a monitor from its replica, so a program needs
// neither the base nor its NUMA facts to ask (`MonitorRequest.serviceCore`; netd is
// placed this way, docs/network.md).
import Basics
import KnowledgeBase

extension Monitor {
    /// The core `ServicePlacement` picks among the cores that run monitors and have not
    /// stopped, with the replica's NUMA nodes; nil until the knowledge base is here.
    public var serviceCore: CoreID? {
        guard let knowledge else { return nil }
        let monitors = configuration.monitorCores.isEmpty ? (0..<coreCount).map { CoreID($0) } : configuration.monitorCores
        let running = monitors.filter { !stoppedCores.contains($0) }
        return ServicePlacement.core(among: running, node: { knowledge.base.numaNode(of: $0) })
    }
}
