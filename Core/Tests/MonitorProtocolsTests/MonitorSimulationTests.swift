import XCTest
import Foundation
import Basics
@testable import MonitorProtocols

/// Thousands of seeded runs of N monitors (Simulation.swift says what each run does and
/// checks). A failing seed prints the one line that replays it with its trace.
final class MonitorSimulationTests: XCTestCase {
    /// Runs `count` seeds of `scenario` and fails with a replay line for each failing one
    /// (at most three reported).
    func runSeeds(_ scenario: Scenario, count: Int, file: StaticString = #filePath, line: UInt = #line) {
        var failures = 0, timeouts = 0, delivered = 0, requests = 0
        for seed in 0..<UInt64(count) {
            var simulation = Simulation(options: scenario.options, seed: seed)
            let violations = simulation.run()
            timeouts += simulation.timeouts
            delivered += simulation.machine.delivered
            requests += simulation.requests.count
            guard !violations.isEmpty else { continue }
            failures += 1
            if failures <= 3 {
                XCTFail("seed \(seed) of \(scenario): \(violations[0]) — replay: \(scenario.replayLine(seed: seed))", file: file, line: line)
            }
        }
        print("\(scenario): \(count) seeds, \(failures) failing; \(requests) requests, \(delivered) slots delivered, \(timeouts) timeouts")
    }

    func testCalmSeeds() { runSeeds(.calm, count: 600) }
    func testFaultSeeds() { runSeeds(.faults, count: 1000) }
    func testGarbageSeeds() { runSeeds(.garbage, count: 300) }
    func testEverythingSeeds() { runSeeds(.everything, count: 500) }
    func testTwoCoreSeeds() { runSeeds(.twoCores, count: 300) }
    func testEightCoreSeeds() { runSeeds(.eightCores, count: 200) }
    func testContentionSeeds() { runSeeds(.contention, count: 500) }
    func testStoppedCoreSeeds() { runSeeds(.stops, count: 500) }

    /// Faults must really produce what they are there for, or the runs above prove little.
    func testFaultsReachTimeoutsLateAnswersAndUndoneSpawns() {
        var timeouts = 0, late = 0, undone = 0, cancelled = 0
        for seed in 0..<200 as Range<UInt64> {
            var simulation = Simulation(options: Scenario.faults.options, seed: seed)
            _ = simulation.run()
            timeouts += simulation.timeouts
            late += simulation.machine.monitors.reduce(0) { $0 + $1.counters.lateAnswers }
            undone += simulation.machine.monitors.reduce(0) { $0 + $1.counters.spawnsUndone }
            cancelled += simulation.requests.filter {
                if case .register = $0.kind { return $0.answers == [.failed(.timedOut)] } else { return false }
            }.count
        }
        print("faults, 200 seeds: \(timeouts) timeouts, \(late) late answers, \(undone) spawns undone, \(cancelled) registrations cancelled")
        XCTAssertGreaterThan(timeouts, 50)
        XCTAssertGreaterThan(late, 10)
        XCTAssertGreaterThan(undone, 0)
        XCTAssertGreaterThan(cancelled, 5)
    }

    /// Two domains on different cores register one name in the same step: exactly one
    /// `registered`, one `nameTaken`, over many seeds, core counts and delivery orders.
    func testRaceForOneNameHasOneWinner() {
        var failures = 0
        var homeWasAsker = 0
        for seed in 0..<2000 as Range<UInt64> {
            var simulation = Simulation(options: SimulationOptions(cores: 2 + Int(seed % 4), requests: 0, timeout: 5_000, knowledge: false), seed: seed)
            let (violations, askerIsHome) = simulation.runRace()
            if askerIsHome { homeWasAsker += 1 }
            guard !violations.isEmpty else { continue }
            failures += 1
            if failures <= 3 { XCTFail("race seed \(seed): \(violations[0])") }
        }
        print("race: 2000 seeds, \(failures) failing (\(homeWasAsker) with the home among the two askers)")
        XCTAssertGreaterThan(homeWasAsker, 100, "both shapes of the race are run")
    }

    /// Replays one seed with its full trace: `SWORDFISH_SCENARIO=<scenario>
    /// SWORDFISH_SEED=<seed>` (the line a failing seed prints). Without them, replays seed
    /// 0 of `calm` and checks that a run is deterministic.
    func testReplay() {
        let environment = ProcessInfo.processInfo.environment
        let scenario = environment["SWORDFISH_SCENARIO"].flatMap(Scenario.init(rawValue:)) ?? .calm
        let seed = environment["SWORDFISH_SEED"].flatMap { UInt64($0) } ?? 0
        var first = Simulation(options: scenario.options, seed: seed)
        first.tracing = true
        let violations = first.run()
        var second = Simulation(options: scenario.options, seed: seed)
        second.tracing = true
        _ = second.run()
        XCTAssertEqual(first.trace, second.trace, "the same seed runs the same way")
        if environment["SWORDFISH_SEED"] != nil { print(first.trace.joined(separator: "\n")) }
        XCTAssertEqual(violations, [], "seed \(seed) of \(scenario)")
    }

    // MARK: Checking the checker

    /// Runs seeds of `options` with a protocol broken on purpose until one fails; the
    /// checker must catch it within `limit` seeds.
    func firstCaught(_ options: SimulationOptions, limit: UInt64) -> (seed: UInt64, violation: String)? {
        for seed in 0..<limit {
            var simulation = Simulation(options: options, seed: seed)
            if let violation = simulation.run().first { return (seed, violation) }
        }
        return nil
    }

    func testCheckerCatchesGrantsWithoutTheHome() {
        var options = Scenario.calm.options
        options.breakage = .grantWithoutHome
        let caught = firstCaught(options, limit: 100)
        XCTAssertNotNil(caught, "last-writer-wins registration not caught")
        print("grantWithoutHome caught at seed \(caught?.seed ?? 0): \(caught?.violation ?? "")")
    }

    func testCheckerCatchesAMissingBroadcast() {
        var options = Scenario.calm.options
        options.breakage = .skipNameBroadcast
        let caught = firstCaught(options, limit: 100)
        XCTAssertNotNil(caught, "a home that does not broadcast not caught")
        print("skipNameBroadcast caught at seed \(caught?.seed ?? 0): \(caught?.violation ?? "")")
    }

    func testCheckerCatchesAForgottenCancel() {
        var options = Scenario.faults.options
        options.breakage = .forgetCancel
        let caught = firstCaught(options, limit: 1000)
        XCTAssertNotNil(caught, "a timed-out registration left held not caught")
        print("forgetCancel caught at seed \(caught?.seed ?? 0): \(caught?.violation ?? "")")
    }

    func testTheRaceCatchesGrantsWithoutTheHome() {
        var caught = 0
        for seed in 0..<200 as Range<UInt64> {
            var options = SimulationOptions(cores: 3, requests: 0, timeout: 5_000)
            options.breakage = .grantWithoutHome
            var simulation = Simulation(options: options, seed: seed)
            if !simulation.runRace().violations.isEmpty { caught += 1 }
        }
        print("race with grantWithoutHome: \(caught) of 200 seeds caught")
        XCTAssertGreaterThan(caught, 100)
    }
}

extension Simulation {
    /// Two domains on different cores register one name in the same step, then the run
    /// settles in a seeded order. Returns the violations and whether one of the two
    /// askers was the name's home.
    mutating func runRace() -> (violations: [String], askerIsHome: Bool) {
        live = machine.startInitialDomains(perCore: 1, nextLocal: &nextLocal)
        let a = random.below(cores)
        let b = (a + 1 + random.below(cores - 1)) % cores
        let name = random.pick(namePool)
        // Some unrelated traffic first, so the race does not always start from an empty system.
        for _ in 0..<random.below(4) { issue(.lookup(name), on: random.below(cores)) }
        issue(.register(name, localDomains(of: a)[0].id), on: a)
        issue(.register(name, localDomains(of: b)[0].id), on: b)
        settle()
        checkAnswers()
        let raced = requests.suffix(2).map(\.answers)
        if raced.filter({ $0 == [.registered] }).count != 1 || raced.filter({ $0 == [.failed(.nameTaken)] }).count != 1 {
            violation("race for \(text(name)) on cores \(a) and \(b) answered \(raced)")
        }
        if violations.isEmpty { finalChecks() }
        let home = name.home(coreCount: cores).rawValue
        return (violations, home == a || home == b)
    }
}
