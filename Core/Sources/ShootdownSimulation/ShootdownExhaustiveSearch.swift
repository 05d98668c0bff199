// Every schedule of a small case, after the capability protocols' exhaustive search:
// where the seeded runs sample schedules, this walks all of them — every order in which
// the rings deliver (each ring FIFO) and the stops are told, and, for a core that stops,
// every moment it can stop — and checks each end as `ShootdownMachine` does. The cases
// are small enough to walk without remembering states.
import Basics
import CapabilityProtocols
import KnowledgeBase
import ShootdownProtocol

public enum ShootdownExhaustiveSearch {
    public struct Result: Sendable {
        /// Complete schedules walked.
        public var schedules = 0
        public var violations = 0
        public var firstViolation: String?
    }

    /// Unmaps of page 0 of one address space every core uses and has touched, started
    /// together on each core of `initiators`, on `cores` cores in packages of two with
    /// `tree`; `stopping` stops at every possible moment (or never, when nil).
    public static func run(cores: Int, tree: MulticastKind, initiators: [Int] = [0], stopping: Int? = nil,
                           breakage: ShootdownBreakage? = nil) -> Result {
        let knowledge = KnowledgeBase.synthetic(packages: (cores + 1) / 2, coresPerPackage: 2,
                                                latencies: SyntheticLatencies(samePackage: 500, byHops: [600]))
        var machine = ShootdownMachine(coreCount: cores, configuration: ShootdownMonitor.Configuration(knowledge: knowledge, tree: tree),
                                       users: [CoreMask.all(cores)], breakage: breakage)
        for core in 0..<cores { machine.touch(on: core, space: 0, page: 0) }
        for initiator in initiators { machine.startShootdown(on: initiator, space: 0, page: 0, pages: 1, kind: .unmap) }
        var result = Result()
        walk(machine, stopping: stopping, into: &result)
        return result
    }

    /// Walks every schedule from `machine`; a violation ends its branch.
    static func walk(_ machine: ShootdownMachine, stopping: Int?, into result: inout Result) {
        guard machine.violations.isEmpty else { return record(machine.violations[0], into: &result) }
        var moved = false
        for ring in machine.nonEmptyQueues {
            var next = machine
            next.deliver(from: ring.from, to: ring.to)
            walk(next, stopping: stopping, into: &result)
            moved = true
        }
        for notice in machine.notices.indices {
            var next = machine
            next.tell(notice)
            walk(next, stopping: stopping, into: &result)
            moved = true
        }
        if let stopping, machine.running[stopping] {
            var next = machine
            next.stop(stopping)
            walk(next, stopping: stopping, into: &result)
            moved = true
        }
        guard !moved else { return }
        var end = machine
        end.finalChecks()
        result.schedules += 1
        if let violation = end.violations.first { record(violation, into: &result) }
    }

    static func record(_ violation: String, into result: inout Result) {
        result.schedules += 1
        result.violations += 1
        if result.firstViolation == nil { result.firstViolation = violation }
    }
}
