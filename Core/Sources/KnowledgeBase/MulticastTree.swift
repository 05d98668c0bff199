// Who sends to whom when one core must tell many: the message trees behind one-phase
// operations such as unmap / TLB shootdown.
//
// The multikernel paper (§5, Fig. 6) compares four ways for a monitor to reach every
// other core, on an 8×4-core AMD machine:
//
//   unicast     the root sends one point-to-point message to each other core in turn;
//   broadcast   the root writes one message into a channel every core reads, so all
//               the readers fetch the same cache line;
//   perPackage  the root sends one message to one core of each other package, which
//               forwards it to the rest of its package over the shared cache;
//   numaAware   as perPackage, but every sender sends to the farthest (highest
//               measured latency) receiver first, so the longest paths start earliest.
//
// At 32 cores the paper measured ~13.8k (broadcast), ~12.7k (unicast), ~4.8k
// (perPackage) and ~3.1k (NUMA-aware) cycles. A tree here is only the shape: who sends
// to whom and in what order. `MulticastCostModel` estimates what a shape costs.

import Basics

/// The paper's four multicast schemes (Fig. 6).
public enum MulticastKind: CaseIterable, Hashable, Sendable {
    case unicast, broadcast, perPackage, numaAware
}

/// A multicast from `root`: `children[c]` are the cores that core `c` sends to, in send
/// order. For `.broadcast` the root's children are the readers of its one shared message.
/// Acknowledgements travel back along the same edges.
public struct MulticastTree: Equatable, Sendable {
    public var kind: MulticastKind
    public var root: CoreID
    /// Indexed by core ID; a core beyond the end sends to nobody.
    public var children: [[CoreID]]

    public init(kind: MulticastKind, root: CoreID, children: [[CoreID]]) {
        self.kind = kind
        self.root = root
        self.children = children
    }

    /// The cores `core` sends to, in order.
    public func children(of core: CoreID) -> [CoreID] {
        core.rawValue >= 0 && core.rawValue < children.count ? children[core.rawValue] : []
    }

    /// The core that sends to `core`: the first sender listing it in a breadth-first walk
    /// from the root. nil for the root and for cores the tree does not reach.
    public func parent(of core: CoreID) -> CoreID? {
        guard core != root else { return nil }
        for sender in coresReached where children(of: sender).contains(core) { return sender }
        return nil
    }

    /// Every core the tree reaches, root first, breadth-first, each once even if a
    /// malformed tree lists it twice or has a cycle.
    public var coresReached: [CoreID] { walk().order }

    /// The number of message hops on the longest path from the root (0 for a root alone).
    public var depth: Int { walk().depth }

    /// The number of messages sent (edges, counting repeats).
    public var messageCount: Int { children.reduce(0) { $0 + $1.count } }

    /// True if the cores `0..<coreCount` are exactly the root and the cores sent to,
    /// each receiving one message (the root none), all reachable from the root.
    public func spansEachCoreOnce(coreCount: Int) -> Bool {
        guard coreCount > 0, root.rawValue >= 0, root.rawValue < coreCount else { return false }
        var received = [Int](repeating: 0, count: coreCount)
        received[root.rawValue] = 1
        for (sender, list) in children.enumerated() {
            guard list.isEmpty || sender < coreCount else { return false }
            for child in list {
                guard child.rawValue >= 0, child.rawValue < coreCount else { return false }
                received[child.rawValue] += 1
            }
        }
        return received.allSatisfy { $0 == 1 } && coresReached.count == coreCount
    }

    /// Breadth-first walk from the root, ignoring repeats; also the depth.
    private func walk() -> (order: [CoreID], depth: Int) {
        // Cores that can send are below `children.count`; a receiver beyond it (only a
        // hand-made tree has one) is looked up in a list rather than growing the array.
        var seen = [Bool](repeating: false, count: children.count)
        var seenBeyond: [CoreID] = []
        func mark(_ core: CoreID) -> Bool {
            guard core.rawValue >= 0 else { return false }
            if core.rawValue < seen.count {
                if seen[core.rawValue] { return false }
                seen[core.rawValue] = true
            } else {
                if seenBeyond.contains(core) { return false }
                seenBeyond.append(core)
            }
            return true
        }
        guard mark(root) else { return ([], 0) }
        var order = [root]
        var levelStart = 0
        var depth = 0
        while levelStart < order.count {
            let levelEnd = order.count
            for position in levelStart..<levelEnd {
                for child in children(of: order[position]) where mark(child) { order.append(child) }
            }
            if order.count > levelEnd { depth += 1 }
            levelStart = levelEnd
        }
        return (order, depth)
    }
}

extension KnowledgeBase {
    /// The `kind` tree from `root` to every other known core.
    public func multicastTree(from root: CoreID, kind: MulticastKind) -> MulticastTree {
        multicastTree(from: root, to: coreIDs, kind: kind)
    }

    /// The `kind` tree from `root` to `targets` (for example the cores a domain runs
    /// on). Targets the SKB does not know, repeats and the root itself are dropped.
    ///
    /// In the per-package kinds the root serves its own package directly; in every other
    /// package the target nearest to the root (ties: lowest ID) receives the message and
    /// forwards it to the package's other targets. `perPackage` sends nearest first,
    /// `numaAware` farthest first, both at the root and at every forwarder.
    public func multicastTree(from root: CoreID, to targets: [CoreID], kind: MulticastKind) -> MulticastTree {
        var receivers: [CoreID] = []
        for target in targets where target != root && facts(of: target) != nil && !receivers.contains(target) {
            receivers.append(target)
        }
        receivers.sort()
        let size = max(root.rawValue + 1, (receivers.last?.rawValue ?? -1) + 1, 0)
        var children = [[CoreID]](repeating: [], count: size)
        guard root.rawValue >= 0 else { return MulticastTree(kind: kind, root: root, children: children) }

        switch kind {
        case .unicast:
            children[root.rawValue] = receivers
        case .broadcast:
            // Nearer readers see the new line first, so they are listed (served) first.
            children[root.rawValue] = sortedByLatency(from: root, receivers, farthestFirst: false)
        case .perPackage, .numaAware:
            let farthestFirst = kind == .numaAware
            let rootPackage = package(of: root)
            var fromRoot: [CoreID] = []
            var handled: [Int] = []
            for receiver in receivers {
                guard let package = package(of: receiver) else { continue }
                if package == rootPackage {
                    fromRoot.append(receiver)
                    continue
                }
                guard !handled.contains(package) else { continue }
                handled.append(package)
                let members = receivers.filter { self.package(of: $0) == package }
                let forwarder = sortedByLatency(from: root, members, farthestFirst: false)[0]
                fromRoot.append(forwarder)
                children[forwarder.rawValue] = sortedByLatency(
                    from: forwarder, members.filter { $0 != forwarder }, farthestFirst: farthestFirst)
            }
            children[root.rawValue] = sortedByLatency(from: root, fromRoot, farthestFirst: farthestFirst)
        }
        return MulticastTree(kind: kind, root: root, children: children)
    }
}
