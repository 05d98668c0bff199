// How a revoke's mark and commit travel from the owner to the cores taking part, and
// how their answers come back: the same tree both ways, as the knowledge base's
// multicasts do (Core/Sources/KnowledgeBase/MulticastTree.swift).
//
// Every core computes the tree from the message alone (root and target set) and its
// configuration, so no tree travels in a message: a core checks that a mark came from
// its parent in that tree and knows which children to forward to and wait for.
import Basics

public enum RevokeRoute: Equatable, Sendable {
    /// The owner sends to every target itself (the paper's unicast).
    case direct
    /// The owner sends to the targets of its own group and to one forwarder in each
    /// other group (its lowest-numbered target), which sends to the rest of its group:
    /// the knowledge base's per-package tree when `groupOf` holds each core's package.
    /// Cores beyond the list form one group of their own.
    case viaGroups(groupOf: [UInt8])

    func group(_ core: CoreID, _ groups: [UInt8]) -> Int {
        core.rawValue >= 0 && core.rawValue < groups.count ? Int(groups[core.rawValue]) : 256
    }

    /// The cores `core` sends to in a revoke from `root` to `targets` (the root not
    /// among them), lowest first.
    public func children(of core: CoreID, root: CoreID, targets: CoreMask) -> [CoreID] {
        let receivers = targets.removing(root).cores
        switch self {
        case .direct:
            return core == root ? receivers : []
        case .viaGroups(let groups):
            let rootGroup = group(root, groups)
            if core == root {
                var result: [CoreID] = []
                var groupsSeen: [Int] = []
                for r in receivers {
                    let g = group(r, groups)
                    if g == rootGroup {
                        result.append(r)
                    } else if !groupsSeen.contains(g) {
                        groupsSeen.append(g)
                        result.append(r)  // the lowest target of its group forwards
                    }
                }
                return result
            }
            let g = group(core, groups)
            guard targets.contains(core), g != rootGroup,
                  receivers.first(where: { group($0, groups) == g }) == core else { return [] }
            return receivers.filter { $0 != core && group($0, groups) == g }
        }
    }

    /// The core `core` hears a revoke from `root` from (and answers), or nil for the root
    /// and for cores that are not targets.
    public func parent(of core: CoreID, root: CoreID, targets: CoreMask) -> CoreID? {
        guard core != root, targets.contains(core) else { return nil }
        switch self {
        case .direct:
            return root
        case .viaGroups(let groups):
            let g = group(core, groups)
            if g == group(root, groups) { return root }
            let forwarder = targets.removing(root).cores.first { group($0, groups) == g }
            return forwarder == core ? root : forwarder
        }
    }
}
