// Every schedule of a small case, as a model checker would (the monitors' exhaustive
// test, Core/Tests/MonitorProtocolsTests/MonitorExhaustiveTests.swift, does the same):
// one RAM object owned by core 0 with a copy on every other core, and every choice of
// `operations` requests from a menu (on each core: copy to the next core, delete,
// revoke, retype into two, the holding domain's end); then the same object with frames
// made by core 1 and copied to core 2, and a menu of revokes, frame copies, deletes and
// a move among them. For each choice, a depth-first search over every order of
// delivering the rings' slots and issuing the requests, checking the machine's
// invariants at every step and `finalChecks` at the end of every schedule. A state already explored is not explored again, but its schedules are still
// counted: the schedules from a state are the sum of those from its successors.
import Basics
import CapabilityProtocols

public struct ExhaustiveSearch {
    /// One request of the menu.
    public enum MenuItem: Hashable, Sendable, CustomStringConvertible {
        case operation(SimulatedOperation, core: Int)
        case endDomain(core: Int)

        public var description: String {
            switch self {
            case .operation(let operation, let core): return "\(operation) on \(core)"
            case .endDomain(let core): return "end of domain \(core).1"
            }
        }
    }

    public struct Result: Sendable {
        /// Choices of requests searched.
        public var cases = 0
        public var schedules = 0
        public var violations = 0
        public var states = 0
        public var firstViolation: String? = nil
    }

    struct Key: Hashable {
        var machine: SimulatedMachine
        var remaining: [MenuItem]
        var clean: Bool
    }

    let breakage: CapabilityBreakage?
    var memo: [Key: (schedules: Int, violations: Int)] = [:]
    var result = Result()

    /// The menu on `cores` cores when every core holds record 1 of the object.
    public static func menu(cores: Int) -> [MenuItem] {
        let r = RecordID(1)
        var items: [MenuItem] = []
        for c in 0..<cores {
            items += [.operation(.copy(r, to: (c + 1) % cores, domain: 2), core: c), .operation(.delete(r), core: c),
                      .operation(.revoke(r), core: c), .operation(.retype(r, count: 2), core: c), .endDomain(core: c)]
        }
        return items
    }

    /// The machine every plain case starts from: the object on core 0, copied to the others.
    public static func start(cores: Int, breakage: CapabilityBreakage?) -> SimulatedMachine {
        var machine = SimulatedMachine(coreCount: cores, objects: 1, breakage: breakage)
        for c in 1..<cores { machine.issue(.copy(RecordID(1), to: c, domain: 1), on: 0) }
        machine.deliverAll()
        return machine
    }

    /// The same, then core 1 retypes its copy into two frames (record 2 its first), and
    /// copies that frame to core 2 (its record 2 there): descendants away from the owner.
    public static func startWithDescendants(cores: Int, breakage: CapabilityBreakage?) -> SimulatedMachine {
        var machine = start(cores: cores, breakage: breakage)
        machine.issue(.retype(RecordID(1), count: 2), on: 1)
        machine.deliverAll()
        if cores > 2 { machine.issue(.copy(RecordID(2), to: 2, domain: 1), on: 1) }
        machine.deliverAll()
        return machine
    }

    /// The menu from `startWithDescendants`: revoke the RAM anywhere, copy, delete or
    /// revoke the frame where it is held, delete the owner's copy of the RAM (a move with
    /// descendants), and the end of core 1's domain (the frames' owner).
    public static func menuWithDescendants(cores: Int) -> [MenuItem] {
        let ram = RecordID(1), frame = RecordID(2)
        var items: [MenuItem] = (0..<cores).map { .operation(.revoke(ram), core: $0) }
        for holder in cores > 2 ? [1, 2] : [1] {
            items += [.operation(.copy(frame, to: 0, domain: 2), core: holder), .operation(.delete(frame), core: holder),
                      .operation(.revoke(frame), core: holder)]
        }
        return items + [.operation(.delete(ram), core: 0), .endDomain(core: 1)]
    }

    /// Every choice of `operations` menu items (with repetition) on `cores` cores, from
    /// both starts.
    public static func run(cores: Int = 3, operations: Int = 2, breakage: CapabilityBreakage? = nil) -> Result {
        var search = ExhaustiveSearch(breakage: breakage)
        for (start, menu) in [(start(cores: cores, breakage: breakage), menu(cores: cores)),
                              (startWithDescendants(cores: cores, breakage: breakage), menuWithDescendants(cores: cores))] {
            for choice in combinations(of: menu.count, taking: operations) {
                search.memo = [:]
                search.result.cases += 1
                let counts = search.explore(start, choice.map { menu[$0] }, [])
                search.result.schedules += counts.schedules
                search.result.violations += counts.violations
            }
        }
        return search.result
    }

    /// Every multiset of `k` indices below `n`, as sorted arrays.
    static func combinations(of n: Int, taking k: Int) -> [[Int]] {
        guard k > 0 else { return [[]] }
        var result: [[Int]] = []
        func extend(_ prefix: [Int], from: Int) {
            if prefix.count == k { return result.append(prefix) }
            for i in from..<n { extend(prefix + [i], from: i) }
        }
        extend([], from: 0)
        return result
    }

    mutating func explore(_ machine: SimulatedMachine, _ remaining: [MenuItem], _ path: [String]) -> (schedules: Int, violations: Int) {
        let key = Key(machine: machine, remaining: remaining, clean: machine.violations.isEmpty)
        if let known = memo[key] { return known }
        result.states += 1
        var total = (schedules: 0, violations: 0)
        if machine.violations.isEmpty {
            for (from, to) in machine.nonEmptyQueues {
                var next = machine
                next.deliver(from: from, to: to)
                let counts = explore(next, remaining, path + ["\(from)→\(to)"])
                total = (total.schedules + counts.schedules, total.violations + counts.violations)
            }
            for i in remaining.indices where !remaining[..<i].contains(remaining[i]) {
                var next = machine
                switch remaining[i] {
                case .operation(let operation, let core): next.issue(operation, on: core)
                case .endDomain(let core): next.endDomain(1, on: core)
                }
                var rest = remaining
                rest.remove(at: i)
                let counts = explore(next, rest, path + ["\(remaining[i])"])
                total = (total.schedules + counts.schedules, total.violations + counts.violations)
            }
        }
        if total.schedules == 0 {
            // No choice left (or an invariant already broken): one complete schedule.
            var end = machine
            if end.violations.isEmpty { end.finalChecks() }
            if let problem = end.violations.first, result.firstViolation == nil {
                result.firstViolation = "\(problem) after \(path.joined(separator: ", "))"
            }
            total = (1, end.violations.isEmpty ? 0 : 1)
        }
        memo[key] = total
        return total
    }
}
