// The knowledge base in the guest. Every core reads its own place in the machine
// (CPUID: package, core, SMT thread, which caches it shares) and sends it to core 0;
// core 0 adds the latency matrix the cores measured and NUMA nodes from the SRAT, and
// keeps the result. Multicast trees are computed from it, and a multicast runs as a
// message-driven protocol: each core forwards down its part of the tree and
// acknowledges up once its whole subtree has.
import Arch
import Basics
import KernelMessages
import KnowledgeBase

/// One multicast in flight on this core.
struct MulticastState {
    var id: UInt64 = 0
    var parent: CoreID? = nil
    var awaitedAcks = 0
    var reached = 0
    var duplicates = 0
    /// Set on the root when the last acknowledgement arrived.
    var completed = false
}

extension CoreState {
    /// This core's own place in the machine, from CPUID.
    func ownFacts() -> CoreFacts {
        let record = CPUIDRecord.collect { leaf, subleaf in
            let r = CPU.cpuid(leaf, subleaf)
            return CPUIDRegisters(eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx)
        }
        return CoreFacts(core: id, topology: CPUIDTopology(record, apicID: apicID))
    }

    /// On core 0: wait for every live core's place, measure latencies, build the base.
    func buildKnowledge(live: CoreSet, numaDomains: [(apicID: APICID, domain: UInt32)]) {
        places[0] = ownFacts()
        _ = waitUntil(milliseconds: 2000, halting: true) {
            (0..<coreCount).allSatisfy { !live.contains(CoreID($0)) || places[$0] != nil }
        }
        gatherLatencyMatrix(live: live)
        var latency = LatencyMatrix(count: coreCount)
        for from in 0..<coreCount {
            for to in 0..<coreCount where latencyRows[from][to] != 0 {
                latency.set(from: CoreID(from), to: CoreID(to), latencyRows[from][to])
            }
        }
        var base = KnowledgeBase(cores: places.compactMap { $0 }, latency: latency)
        base.assignNUMANodes(numaDomains)
        knowledge = base
    }

    /// On core 0: tell every core its children in `tree` (in slices of five).
    func distribute(_ tree: MulticastTree) {
        multicastChildren = tree.children(of: id)
        for core in 1..<max(coreCount, 1) where !failedCores[core] {
            let children = tree.children(of: CoreID(core))
            var offset = 0
            repeat {
                let slice = Array(children[offset..<min(offset + 5, children.count)])
                send(.treeChildren(total: children.count, offset: offset, children: slice), to: CoreID(core))
                offset += 5
            } while offset < children.count
        }
        // Let the slices land before the first multicast uses them.
        for core in 1..<max(coreCount, 1) where !failedCores[core] {
            _ = pingRoundTrip(to: CoreID(core), token: 0x7EE0_0000 | UInt64(core), timeout: 5000)
        }
    }

    /// On core 0: one multicast down the distributed tree; cycles until the last
    /// acknowledgement, and what the acknowledgements said. Nil on timeout.
    func multicastOnce(id multicastID: UInt64) -> (cycles: UInt64, reached: Int, duplicates: Int)? {
        let start = CPU.timestamp()
        multicast = MulticastState(id: multicastID, parent: nil, awaitedAcks: multicastChildren.count)
        for child in multicastChildren { send(.multicast(id: multicastID), to: child) }
        if multicastChildren.isEmpty { multicast.completed = true }
        guard waitUntil(milliseconds: 5000, { multicast.completed }) else { return nil }
        return (CPU.timestamp() - start, multicast.reached, multicast.duplicates)
    }

    func handleTreeChildren(total: Int, offset: Int, children: [CoreID]) {
        if offset == 0 { multicastChildren.removeAll() }
        if multicastChildren.count == offset { multicastChildren += children }
    }

    func handleMulticast(id multicastID: UInt64, from source: CoreID) {
        if multicast.id == multicastID {
            multicast.duplicates += 1          // delivered twice: a broken tree
            return
        }
        multicast = MulticastState(id: multicastID, parent: source, awaitedAcks: multicastChildren.count)
        for child in multicastChildren { send(.multicast(id: multicastID), to: child) }
        acknowledgeIfDone()
    }

    func handleMulticastAck(id multicastID: UInt64, reached: Int, duplicates: Int) {
        guard multicast.id == multicastID, multicast.awaitedAcks > 0 else { malformedMessages += 1; return }
        multicast.awaitedAcks -= 1
        multicast.reached += reached
        multicast.duplicates += duplicates
        acknowledgeIfDone()
    }

    func acknowledgeIfDone() {
        guard multicast.awaitedAcks == 0 else { return }
        if let parent = multicast.parent {
            send(.multicastAck(id: multicast.id, reached: multicast.reached + 1, duplicates: multicast.duplicates), to: parent)
            multicast.parent = nil
        } else {
            multicast.completed = true
        }
    }
}
