import XCTest
import Foundation
import ShootdownProtocol
import ShootdownSimulation

/// Thousands of seeded runs of the shootdown protocol (ShootdownSimulation.swift says
/// what each run does, ShootdownMachine.swift what it checks): more than 10,000 seeds in
/// all, which `swordfish test` runs with the rest of the Core suite. A failing seed
/// prints the command that replays it; `SWORDFISH_CORES=C SWORDFISH_SEED=S swift test
/// --filter ShootdownSimulationTests/testReplay` prints its trace.
final class ShootdownSimulationTests: XCTestCase {
    func runSeeds(cores: Int, count: Int, first: UInt64 = 0, file: StaticString = #filePath, line: UInt = #line) {
        let failures = simulateShootdownSeeds(cores: cores, first: first, count: count)
        for failure in failures.prefix(3) {
            XCTFail("seed \(failure.seed): \(failure.violation) — replay: swordfish simulate --protocol unmap --cores \(cores) --seed \(failure.seed)",
                    file: file, line: line)
        }
        print("\(cores) cores: \(count) unmap seeds, \(failures.count) failing")
    }

    func testReplay() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let seed = environment["SWORDFISH_SEED"].flatMap(UInt64.init) else { throw XCTSkip("set SWORDFISH_SEED") }
        let cores = environment["SWORDFISH_CORES"].flatMap(Int.init) ?? 4
        var simulation = ShootdownSimulation(options: ShootdownSimulationOptions(cores: cores), seed: seed)
        simulation.tracing = true
        let violations = simulation.run()
        print(simulation.machine.trace.joined(separator: "\n"))
        XCTAssertEqual(violations, [])
    }

    func testOneCoreSeeds() { runSeeds(cores: 1, count: 500) }
    func testTwoCoreSeeds() { runSeeds(cores: 2, count: 3_000) }
    func testThreeCoreSeeds() { runSeeds(cores: 3, count: 2_500) }
    func testFourCoreSeeds() { runSeeds(cores: 4, count: 2_500) }
    func testEightCoreSeeds() { runSeeds(cores: 8, count: 1_500) }
    func testSixteenCoreSeeds() { runSeeds(cores: 16, count: 400) }
    func testSixtyFourCoreSeeds() { runSeeds(cores: 64, count: 30) }

    /// Many more seeds, run by hand: SWORDFISH_MANY_SEEDS=N.
    func testManySeeds() throws {
        guard let count = ProcessInfo.processInfo.environment["SWORDFISH_MANY_SEEDS"].flatMap(Int.init) else { throw XCTSkip("set SWORDFISH_MANY_SEEDS") }
        for cores in [2, 3, 4, 5, 8, 16, 33] { runSeeds(cores: cores, count: count, first: 1_000_000) }
    }
}

extension ShootdownSimulationTests {
    /// Checking the checker: each protocol broken on purpose must be caught by some seed.
    func testEachBreakageIsCaught() {
        for breakage in ShootdownBreakage.allCases {
            let failures = simulateShootdownSeeds(cores: 6, first: 0, count: 300, breakage: breakage)
            print("\(breakage): \(failures.count) of 300 seeds caught; first: \(failures.first?.violation ?? "none")")
            XCTAssertGreaterThan(failures.count, 0, "\(breakage) not caught")
        }
    }

    /// The runs must really reach the situations they are there for, or passing proves
    /// little: shootdowns that complete while a core is slow, that name a stopped core,
    /// messages a stopped core wrote before it stopped, garbage dropped.
    func testSeedsReachTheSituationsTheyAreFor() {
        var completed = 0, remote = 0, namedStopped = 0, fromStopped = 0, dropped = 0, lost = 0
        for seed in 0..<400 as Range<UInt64> {
            var simulation = ShootdownSimulation(options: ShootdownSimulationOptions(cores: 8), seed: seed)
            XCTAssertEqual(simulation.run(), [], "seed \(seed)")
            for shootdown in simulation.machine.shootdowns {
                guard let answer = shootdown.answers.first, answer.status == .completed else { continue }
                completed += 1
                if shootdown.hops > 0 { remote += 1 }
                if !answer.stopped.isEmpty { namedStopped += 1 }
            }
            for m in simulation.machine.monitors {
                fromStopped += m.counters.fromStoppedCores
                dropped += m.counters.dropped
            }
            lost += simulation.machine.lost
        }
        print("completed \(completed), remote \(remote), named stopped \(namedStopped), from stopped \(fromStopped), dropped \(dropped), lost \(lost)")
        for (name, count) in [("completed", completed), ("remote", remote), ("named stopped", namedStopped),
                              ("from stopped", fromStopped), ("dropped", dropped), ("lost", lost)] {
            XCTAssertGreaterThan(count, 0, name)
        }
    }
}
