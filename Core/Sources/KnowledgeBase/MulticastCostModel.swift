// How long a multicast takes, estimated from the SKB's measured round trips: used to
// choose a tree, and to check that the NUMA-aware tree is the cheapest, without timing
// anything in a test.
//
// The model (all times in cycles; "one-way" latency = measured round trip / 2; the
// "nearest one-way" latency is that of the closest pair of cores in the SKB):
//
//   Busy time. Writing a message or ack, or reading an ack, moves one cache line between
//   two cores' caches, and the busy core stalls for part of that move. So a send keeps
//   the sender busy for `sendCycles` and an ack read keeps the reader busy for
//   `receiveCycles` when the other core is the nearest kind of neighbour, and for
//   proportionally longer when it is farther: cost × one-way(a, b) / nearest one-way.
//
//   Point-to-point edges (every kind except the root's edges in a broadcast).
//   - The root has the message at time 0; any other core has it when it arrives.
//   - A core sends to its children one after another in list order, starting when it
//     has the message. A message is sent when its send's busy time ends and arrives
//     one one-way latency later.
//   - Acknowledgements aggregate up the tree: once a core has finished its sends, it
//     reads its children's acks in arrival order, each read taking its busy time. When
//     it has its message and every child's ack it is finished; unless it is the root, it
//     then writes its own ack (a send), which reaches its parent one one-way latency
//     after that write.
//   - The operation completes when the root is finished.
//
//   Broadcast (the root's edges when the tree's kind is `.broadcast`).
//   - The root writes the one shared message into its own cache (`sendCycles`). Each
//     reader notices the write one one-way latency later and asks for the line. The
//     fetches of that one line are served one after another in order of request (ties
//     in list order): each starts when the line is free and the request is there, holds
//     the line for the one-way latency between the root and that reader, and gives the
//     reader the message when it ends. Acks return point to point and are read by the
//     root as above.
//
// What the model leaves out: the work done on each core (invalidating the TLB), channel
// flow control, and contention on the interconnect other than the shared line. Pairs the
// SKB has not measured are charged its largest measured round trip. Arithmetic
// saturates, so a silly latency gives a silly answer, never a trap.
//
// With `typical(for:)` on the synthetic 8×4 AMD from core 0 this gives 10,331 cycles
// (broadcast) > 9,308 (unicast) > 3,552 (perPackage) > 3,302 (numaAware): the order of
// the paper's Fig. 6 (~13.8k, ~12.7k, ~4.8k, ~3.1k), with the same NUMA-aware figure.

import Basics

/// Parameters of the multicast cost model described above.
public struct MulticastCostModel: Equatable, Sendable {
    /// How long a sender is busy writing one message (or ack) for a nearest neighbour.
    public var sendCycles: UInt64
    /// How long a core is busy reading one acknowledgement from a nearest neighbour.
    public var receiveCycles: UInt64

    public init(sendCycles: UInt64, receiveCycles: UInt64) {
        self.sendCycles = sendCycles
        self.receiveCycles = receiveCycles
    }

    /// Defaults for `kb`: a send and an ack read each cost half of the nearest one-way
    /// latency (a quarter of the smallest round trip, at least 1 cycle): the stores and
    /// the load overlap part of the line's move, not all of it.
    public static func typical(for kb: KnowledgeBase) -> MulticastCostModel {
        let quarter = max((kb.latency.smallestMeasuredBetweenCores ?? 4) / 4, 1)
        return MulticastCostModel(sendCycles: quarter, receiveCycles: quarter)
    }

    /// The modelled cycles from the root starting to send until it holds the last
    /// acknowledgement. Cores the tree reaches more than once are counted at their
    /// first (breadth-first) appearance only.
    public func completionCycles(of tree: MulticastTree, in kb: KnowledgeBase) -> UInt64 {
        let order = tree.coresReached
        guard let root = order.first else { return 0 }
        let fallback = kb.latency.largestMeasured ?? 0
        let nearestOneWay = (kb.latency.smallestMeasuredBetweenCores ?? 0) / 2
        func oneWay(_ a: CoreID, _ b: CoreID) -> UInt64 { (kb.latency[a, b] ?? fallback) / 2 }
        /// `cost` scaled by how far apart `a` and `b` are.
        func busy(_ cost: UInt64, _ a: CoreID, _ b: CoreID) -> UInt64 {
            guard nearestOneWay > 0 else { return cost }
            let (product, overflow) = cost.multipliedReportingOverflow(by: oneWay(a, b))
            return overflow ? UInt64.max : product / nearestOneWay
        }

        // Positions in `order` stand in for cores. Only cores below `children.count` send,
        // so a table of that size finds every sender's children; others are searched.
        var positionOfCore = [Int?](repeating: nil, count: tree.children.count)
        for (p, core) in order.enumerated() where core.rawValue < positionOfCore.count { positionOfCore[core.rawValue] = p }
        func position(_ core: CoreID) -> Int? {
            guard core.rawValue >= 0 else { return nil }
            return core.rawValue < positionOfCore.count ? positionOfCore[core.rawValue] : order.firstIndex(of: core)
        }
        var childPositions = [[Int]](repeating: [], count: order.count)
        var hasParent = [Bool](repeating: false, count: order.count)
        for (p, core) in order.enumerated() {
            for child in tree.children(of: core) {
                // The breadth-first walk reached each core from its first sender, which
                // comes earlier in `order`; later listings of it are ignored.
                guard let c = position(child), c > p, !hasParent[c] else { continue }
                hasParent[c] = true
                childPositions[p].append(c)
            }
        }

        // When each core has the message and has finished sending: forwards in order.
        var has = [UInt64](repeating: 0, count: order.count)
        var sendsDone = [UInt64](repeating: 0, count: order.count)
        for p in order.indices {
            let sender = order[p]
            let receivers = childPositions[p]
            if p == 0 && tree.kind == .broadcast {
                let written = receivers.isEmpty ? 0 : sendCycles
                sendsDone[p] = written
                // Requests in arrival order, equal arrivals in list order.
                var requests: [(at: UInt64, index: Int)] = []
                for (index, c) in receivers.enumerated() { requests.append((written +| oneWay(root, order[c]), index)) }
                requests.sort { $0.at != $1.at ? $0.at < $1.at : $0.index < $1.index }
                var lineFree = written
                for request in requests {
                    let c = receivers[request.index]
                    lineFree = max(lineFree, request.at) +| oneWay(root, order[c])
                    has[c] = lineFree
                }
            } else {
                var clock = has[p]
                for c in receivers {
                    clock = clock +| busy(sendCycles, sender, order[c])
                    has[c] = clock +| oneWay(sender, order[c])
                }
                sendsDone[p] = clock
            }
        }

        // When each core is finished: backwards, so children come before their parents.
        var finished = [UInt64](repeating: 0, count: order.count)
        for p in order.indices.reversed() {
            let me = order[p]
            var acks: [(at: UInt64, from: CoreID)] = []
            for c in childPositions[p] {
                let child = order[c]
                acks.append((finished[c] +| busy(sendCycles, child, me) +| oneWay(child, me), child))
            }
            acks.sort { $0.at != $1.at ? $0.at < $1.at : $0.from < $1.from }
            var clock = max(has[p], sendsDone[p])
            for ack in acks { clock = max(clock, ack.at) +| busy(receiveCycles, me, ack.from) }
            finished[p] = clock
        }
        return finished[0]
    }
}

infix operator +| : AdditionPrecedence

/// Saturating addition.
func +| (a: UInt64, b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? UInt64.max : sum
}
