import XCTest
import Foundation
import CapabilityProtocols
import CapabilitySimulation

/// Thousands of seeded runs of the capability protocols (CapabilitySimulation.swift says
/// what each run does, SimulatedMachine.swift what it checks). A failing seed prints the
/// command that replays it; `SWORDFISH_CORES=C SWORDFISH_SEED=S swift test --filter
/// CapabilitySimulationTests/testReplay` prints its trace.
final class CapabilitySimulationTests: XCTestCase {
    func runSeeds(cores: Int, count: Int, first: UInt64 = 0, file: StaticString = #filePath, line: UInt = #line) {
        let failures = simulateSeeds(cores: cores, first: first, count: count)
        for failure in failures.prefix(3) {
            XCTFail("seed \(failure.seed): \(failure.violation) — replay: swordfish simulate --cores \(cores) --seed \(failure.seed)", file: file, line: line)
        }
        print("\(cores) cores: \(count) seeds, \(failures.count) failing")
    }

    func testReplay() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let seed = environment["SWORDFISH_SEED"].flatMap(UInt64.init) else { throw XCTSkip("set SWORDFISH_SEED") }
        let cores = environment["SWORDFISH_CORES"].flatMap(Int.init) ?? 4
        var simulation = CapabilitySimulation(options: SimulationOptions(cores: cores), seed: seed)
        simulation.tracing = true
        let violations = simulation.run()
        print(simulation.machine.trace.joined(separator: "\n"))
        XCTAssertEqual(violations, [])
    }

    func testTwoCoreSeeds() { runSeeds(cores: 2, count: 2_000) }
    func testThreeCoreSeeds() { runSeeds(cores: 3, count: 3_000) }
    func testFourCoreSeeds() { runSeeds(cores: 4, count: 3_000) }
    func testEightCoreSeeds() { runSeeds(cores: 8, count: 1_500) }
    func testSixtyFourCoreSeeds() { runSeeds(cores: 64, count: 500) }
}

extension CapabilitySimulationTests {
    /// Many more seeds, run by hand: SWORDFISH_MANY_SEEDS=N.
    func testManySeeds() throws {
        guard let count = ProcessInfo.processInfo.environment["SWORDFISH_MANY_SEEDS"].flatMap(Int.init) else { throw XCTSkip("set SWORDFISH_MANY_SEEDS") }
        for cores in [2, 3, 4, 5, 8, 16] { runSeeds(cores: cores, count: count, first: 1_000_000) }
    }
}

extension CapabilitySimulationTests {
    /// Over seeds 0..<300 on `cores` cores: each request `counting` takes, by its
    /// operation and first answer ("copy done"), and the ones done by another core
    /// ("copy done remotely"); `adding` counts more from each finished run. Printed too.
    func tallyAnswers(cores: Int, counting: (SimulatedRequest) -> Bool = { _ in true },
                      adding: (CapabilitySimulation, inout [String: Int]) -> Void = { _, _ in }) -> [String: Int] {
        var tally: [String: Int] = [:]
        for seed in 0..<300 as Range<UInt64> {
            var simulation = CapabilitySimulation(options: SimulationOptions(cores: cores), seed: seed)
            _ = simulation.run()
            for request in simulation.machine.requests where counting(request) {
                guard let answer = request.answers.first else { continue }
                let kind = "\(request.operation)".split(separator: " ")[0]
                tally["\(kind) \(answer)", default: 0] += 1
                if request.hops > 0 && answer == .done { tally["\(kind) done remotely", default: 0] += 1 }
            }
            adding(simulation, &tally)
        }
        print(tally.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
        return tally
    }

    /// The runs must really reach the races they are there for, or passing proves little.
    func testSeedsReachTheConflictsTheyAreFor() {
        let tally = tallyAnswers(cores: 4, adding: { simulation, tally in
            for m in simulation.machine.monitors {
                tally["notOwner", default: 0] += m.counters.notOwner
                tally["stale", default: 0] += m.counters.stale
            }
        })
        for key in ["revoke done remotely", "copy done remotely", "retype done remotely", "delete done remotely",
                    "retype hasDescendants", "copy revoked", "revoke revoked", "copy noRoom", "notOwner", "stale"] {
            XCTAssertGreaterThan(tally[key, default: 0], 0, key)
        }
    }
}

extension CapabilitySimulationTests {
    /// The seeded runs carry device objects across cores too: copies and revokes of them
    /// finish remotely, and their retypes are refused.
    func testSeedsExerciseDeviceObjects() {
        let tally = tallyAnswers(cores: 3, counting: { request in request.object.map { !$0.kind.isMemory } ?? false })
        for key in ["copy done remotely", "revoke done remotely", "delete done", "retype notRetypeable"] {
            XCTAssertGreaterThan(tally[key, default: 0], 0, key)
        }
    }
}
