import XCTest
import ABI
import Basics
@testable import MonitorProtocols

/// Every schedule of a small case, as a model checker would: depth-first over each
/// choice of which ring delivers next and when each local event happens, checking the
/// invariants at the end of every schedule. States already explored are not explored
/// again (the key is the whole machine and the events left), but their schedules are
/// still counted: the schedules from a state are the sum of those from its successors,
/// so the reported count is that of every distinct delivery order.
final class MonitorExhaustiveTests: XCTestCase {
    /// Something a core's guest side does, at a moment the search chooses.
    enum Event {
        case register(core: Int, Name, owner: DomainID, RequestID)
        case end(DomainID)
    }

    struct Search {
        var schedules = 0
        var violations = 0
        var states = 0
        var firstViolation: String? = nil
        /// Schedules and violating schedules from each state explored.
        var memo: [String: (schedules: Int, violations: Int)] = [:]
        let check: (SimulatedMachine) -> [String]
    }

    func search(_ machine: SimulatedMachine, _ events: [Event], _ check: @escaping (SimulatedMachine) -> [String]) -> Search {
        var search = Search(check: check)
        (search.schedules, search.violations) = explore(machine, events, [], &search)
        return search
    }

    /// The schedules from `machine` with `events` still to happen, and how many of them
    /// break an invariant. `path` holds the choices so far (a ring as "from→to", an
    /// event by name) for the report.
    func explore(_ machine: SimulatedMachine, _ events: [Event], _ path: [String], _ search: inout Search) -> (Int, Int) {
        let key = "\(machine.monitors)|\(machine.queues)|\(machine.answers.map { "\($0)" })|\(events)"
        if let known = search.memo[key] { return known }
        search.states += 1
        var total = (0, 0)
        for (from, to) in machine.nonEmptyQueues {
            var next = machine
            next.deliver(from: from, to: to)
            let counts = explore(next, events, path + ["\(from)→\(to)"], &search)
            total = (total.0 + counts.0, total.1 + counts.1)
        }
        for i in events.indices {
            var next = machine
            switch events[i] {
            case .register(let core, let name, let owner, let id):
                next.at(core) { $0.register(name, endpoint: EndpointToken(UInt64(core)), by: owner, request: id) }
            case .end(let domain):
                next.at(domain.core.rawValue) { $0.domainEnded(domain.local, how: .exited(status: 0)) }
            }
            var rest = events
            rest.remove(at: i)
            let counts = explore(next, rest, path + ["\(events[i])"], &search)
            total = (total.0 + counts.0, total.1 + counts.1)
        }
        if total.0 == 0 {
            // No choice left: one complete schedule.
            var problems = search.check(machine)
            if !machine.isQuiet { problems.append("not quiet") }
            problems += machine.replicaDifferences()
            if machine.monitors.contains(where: { $0.counters.dropped > 0 }) { problems.append("a slot was dropped") }
            if !problems.isEmpty && search.firstViolation == nil {
                search.firstViolation = "\(problems[0]) after \(path.joined(separator: ", "))"
            }
            total = (1, problems.isEmpty ? 0 : 1)
        }
        search.memo[key] = total
        return total
    }

    /// Three cores with one domain each, their start broadcasts delivered unless `startsInFlight`.
    func threeCores(breakage: Breakage? = nil, startsInFlight: Bool = false) -> SimulatedMachine {
        var machine = SimulatedMachine(coreCount: 3, breakage: breakage)
        var nextLocal: [UInt32] = [1, 1, 1]
        _ = machine.startInitialDomains(perCore: 1, nextLocal: &nextLocal, inFlight: startsInFlight)
        return machine
    }

    func domain(_ core: Int) -> DomainID { DomainID(core: CoreID(core), local: LocalDomainNumber(1)) }

    /// A name whose home, of 3 cores, is `home`.
    func name(homedAt home: Int) -> Name {
        (0...).lazy.map { Name("svc\($0)")! }.first { $0.home(coreCount: 3).rawValue == home }!
    }

    /// Two concurrent registrations of one name, from domains on cores 0 and 1, for each
    /// home (2: both askers remote; 0 or 1: one asker is the home), and with the domains'
    /// start broadcasts still in flight or not.
    func raceSearch(breakage: Breakage? = nil, startsInFlight cases: [Bool] = [false, true]) -> Search {
        var total = Search { _ in [] }
        for startsInFlight in cases {
        for home in 0..<3 {
            let name = name(homedAt: home)
            let events: [Event] = [.register(core: 0, name, owner: domain(0), RequestID(1)),
                                   .register(core: 1, name, owner: domain(1), RequestID(2))]
            let search = self.search(threeCores(breakage: breakage, startsInFlight: startsInFlight), events) { machine in
                let answers = machine.answers.map(\.answer)
                var problems: [String] = []
                if answers.filter({ $0 == .registered }).count != 1 || answers.filter({ $0 == .failed(.nameTaken) }).count != 1 {
                    problems.append("home \(home): answers \(answers)")
                }
                let winner = machine.answers.first { $0.answer == .registered }.map { DomainID(core: CoreID(Int($0.request.rawValue) - 1), local: LocalDomainNumber(1)) }
                if machine.monitors[home].names.map(\.owner) != (winner.map { [$0] } ?? []) {
                    problems.append("home \(home): table \(describe(machine.monitors[home].names)), winner \(winner.map(describe) ?? "none")")
                }
                return problems
            }
            print("race for one name homed at core \(home)\(startsInFlight ? ", domain starts in flight" : ""): "
                  + "\(search.schedules) schedules (\(search.states) states), \(search.violations) violations")
            total.schedules += search.schedules
            total.violations += search.violations
            total.firstViolation = total.firstViolation ?? search.firstViolation
        }
        }
        return total
    }

    func testEveryScheduleOfTwoRegistrationsHasOneWinner() {
        let search = raceSearch()
        print("\(search.schedules) schedules, \(search.violations) violations")
        XCTAssertEqual(search.violations, 0, search.firstViolation ?? "")
        XCTAssertGreaterThan(search.schedules, 100)
    }

    /// Domain 0.1 registers a name homed at core 2 while it ends, and 1.1 registers the
    /// same name: whatever the order, 0.1 holds nothing at the end, every replica agrees,
    /// and 1.1 wins unless 0.1 held the name when 1.1's request reached the home.
    func testEveryScheduleOfARegistrationRacingItsDomainsEnd() {
        let name = name(homedAt: 2)
        let events: [Event] = [.register(core: 0, name, owner: domain(0), RequestID(1)), .end(domain(0)),
                               .register(core: 1, name, owner: domain(1), RequestID(2))]
        let search = self.search(threeCores(), events) { machine in
            var problems: [String] = []
            let answers = machine.answers
            if answers.count != 2 || Set(answers.map(\.request.rawValue)) != [1, 2] { problems.append("answers \(answers)") }
            if machine.monitors[0].names.contains(where: { $0.owner == self.domain(0) }) { problems.append("the ended domain holds a name") }
            if machine.monitors[0].domains.contains(where: { $0.id == self.domain(0) }) { problems.append("the ended domain is in the table") }
            let second = answers.first { $0.request == RequestID(2) }?.answer
            let held = machine.monitors[0].names.map(\.owner)
            if (second == .registered) != (held == [self.domain(1)]) { problems.append("1.1 answered \(String(describing: second)), table \(held)") }
            return problems
        }
        print("registration racing its domain's end: \(search.schedules) schedules (\(search.states) states), \(search.violations) violations")
        XCTAssertEqual(search.violations, 0, search.firstViolation ?? "")
    }

    /// Checking the checker: a monitor that grants names itself is caught in some schedule.
    func testTheSearchCatchesGrantsWithoutTheHome() {
        let search = raceSearch(breakage: .grantWithoutHome, startsInFlight: [false])
        print("grantWithoutHome: \(search.schedules) schedules, \(search.violations) violations; first: \(search.firstViolation ?? "none")")
        XCTAssertGreaterThan(search.violations, 0)
    }
}
