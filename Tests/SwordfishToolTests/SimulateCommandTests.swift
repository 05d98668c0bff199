import Foundation
import XCTest
import CapabilityProtocols
import CapabilitySimulation
import ShootdownSimulation
@testable import SwordfishTool

final class SimulateCommandTests: XCTestCase {
    func parse(_ arguments: [String]) throws -> Simulate {
        try XCTUnwrap(SwordfishCommand.parseAsRoot(["simulate"] + arguments) as? Simulate)
    }

    func testOptions() throws {
        let plain = try parse([])
        XCTAssertEqual([plain.cores, plain.seeds], [4, 1000])
        XCTAssertEqual(plain.firstSeed, 0)
        XCTAssertNil(plain.seed)
        XCTAssertFalse(plain.exhaustive || plain.revokeCost)
        let seeds = try parse(["--cores", "64", "--seeds", "10", "--first-seed", "500"])
        XCTAssertEqual([seeds.cores, seeds.seeds], [64, 10])
        XCTAssertEqual(seeds.firstSeed, 500)
        XCTAssertEqual(try parse(["--cores", "3", "--seed", "17"]).seed, 17)
        let exhaustive = try parse(["--exhaustive", "--cores", "3", "--operations", "2"])
        XCTAssertTrue(exhaustive.exhaustive)
        XCTAssertEqual(exhaustive.operations, 2)
        XCTAssertEqual(try parse(["--breakage", "skipMark"]).breakage, .skipMark)
        XCTAssertTrue(try parse(["--revoke-cost"]).revokeCost)
        XCTAssertEqual(plain.simulated, .capabilities)
        XCTAssertFalse(plain.unmapCost)
        XCTAssertNil(plain.unmapBreakage)
        let unmap = try parse(["--protocol", "unmap", "--cores", "16", "--first-seed", "9", "--unmap-breakage", "answerEarly"])
        XCTAssertEqual(unmap.simulated, .unmap)
        XCTAssertEqual(unmap.unmapBreakage, .answerEarly)
        XCTAssertEqual(unmap.firstSeed, 9)
        XCTAssertTrue(try parse(["--unmap-cost"]).unmapCost)
    }

    func testBadOptionsAreRejected() {
        for arguments in [["--cores", "0"], ["--cores", "65"], ["--seeds", "0"], ["--exhaustive", "--cores", "8"],
                          ["--exhaustive", "--operations", "4"], ["--exhaustive", "--revoke-cost"], ["--breakage", "nonsense"],
                          ["--protocol", "nonsense"], ["--protocol", "unmap", "--exhaustive"], ["--protocol", "unmap", "--breakage", "skipMark"],
                          ["--unmap-breakage", "answerEarly"], ["--unmap-cost", "--revoke-cost"], ["--unmap-cost", "--exhaustive"],
                          ["--protocol", "unmap", "--unmap-breakage", "nonsense"]] {
            XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["simulate"] + arguments), "\(arguments)")
        }
    }

    func testSeedsEndWithTheCountLine() {
        let outcome = SimulationReport.seeds(cores: 3, first: 0, count: 20)
        XCTAssertEqual(outcome.lines, ["20 schedules, 0 violations"])
        XCTAssertEqual(outcome.violations, 0)
    }

    /// A broken protocol's seeds: one line per failing seed, each ending with the command
    /// that replays it (as `command` spells it), then the count; replaying the first
    /// failing seed finds the same violation. Returns the replay's outcome.
    func assertEachFailureReplays(_ outcome: SimulationReport.Outcome, count: Int, command: (UInt64) -> String,
                                  replay: (UInt64) -> SimulationReport.Outcome,
                                  file: StaticString = #filePath, line: UInt = #line) throws -> SimulationReport.Outcome {
        XCTAssertGreaterThan(outcome.violations, 0, file: file, line: line)
        XCTAssertEqual(outcome.lines.last, "\(count) schedules, \(outcome.violations) violations", file: file, line: line)
        let failing = outcome.lines.dropLast()
        XCTAssertEqual(failing.count, outcome.violations, file: file, line: line)
        let first = try XCTUnwrap(failing.first, file: file, line: line)
        let seed = try XCTUnwrap(first.firstMatch(of: /^seed (\d+): ./).flatMap { UInt64($0.1) }, file: file, line: line)
        XCTAssertTrue(first.hasSuffix(" — replay: \(command(seed))"), first, file: file, line: line)
        let replayed = replay(seed)
        XCTAssertEqual(replayed.violations, 1, file: file, line: line)
        XCTAssertTrue(replayed.lines.contains(first), file: file, line: line)
        return replayed
    }

    func testAFailingSeedPrintsItsReplay() throws {
        let outcome = SimulationReport.seeds(cores: 4, first: 0, count: 40, breakage: .forgetRemoteCopy)
        let replay = try assertEachFailureReplays(outcome, count: 40, command: { "swordfish simulate --cores 4 --seed \($0) --breakage forgetRemoteCopy" }) {
            SimulationReport.seeds(cores: 4, first: $0, count: 1, trace: true, breakage: .forgetRemoteCopy)
        }
        XCTAssertGreaterThan(replay.lines.count, 10, "the replay prints its trace")
    }

    func testExhaustiveEndsWithTheCountLine() {
        let outcome = SimulationReport.exhaustive(cores: 2, operations: 1)
        XCTAssertEqual(outcome.violations, 0)
        XCTAssertNotNil(outcome.lines.last?.wholeMatch(of: /\d+ schedules, 0 violations/))
    }

    func testRevokeCostTableAndChart() throws {
        let rows = RevokeCost.table(coreCounts: [2, 32])
        let table = SimulationReport.revokeCostTable(rows)
        XCTAssertTrue(table[0].contains("swift run swordfish simulate --revoke-cost"))
        XCTAssertEqual(table.filter { $0.hasPrefix("   32") }.count, 1)
        let svg = SimulationReport.revokeCostChart(rows)
        XCTAssertEqual(BenchReport.problems(inSVG: Data(svg.utf8)), [])
        XCTAssertTrue(svg.contains("per-package tree"))
    }

    func testUnmapSeedsEndWithTheCountLine() {
        let outcome = SimulationReport.unmapSeeds(cores: 5, first: 0, count: 30)
        XCTAssertEqual(outcome.lines, ["30 schedules, 0 violations"])
        XCTAssertEqual(outcome.violations, 0)
    }

    /// An unmap that answers before its acknowledgements.
    func testAFailingUnmapSeedPrintsItsReplay() throws {
        let outcome = SimulationReport.unmapSeeds(cores: 4, first: 0, count: 20, breakage: .answerEarly)
        let command = { (seed: UInt64) in "swordfish simulate --protocol unmap --cores 4 --seed \(seed) --unmap-breakage answerEarly" }
        let replay = try assertEachFailureReplays(outcome, count: 20, command: command) {
            SimulationReport.unmapSeeds(cores: 4, first: $0, count: 1, trace: true, breakage: .answerEarly)
        }
        XCTAssertTrue(replay.lines[0].hasPrefix("[0] seed "), "the replay prints its trace")
    }

    func testUnmapCostTableAndChart() throws {
        let tables = UnmapCost.Machine.allCases.map { ($0, UnmapCost.table(on: $0, coreCounts: [2, 32])) }
        let table = SimulationReport.unmapCostTable(tables)
        XCTAssertTrue(table[0].contains("swift run swordfish simulate --unmap-cost"))
        XCTAssertEqual(table.filter { $0.hasPrefix("   32") }.count, 2, "a row per machine")
        XCTAssertEqual(table.filter { $0.contains("NUMA-aware") }.count, 2)
        // The NUMA-aware row at 32 cores on the 8×4 AMD: 62 messages, 4 hops.
        let row = try XCTUnwrap(table.first { $0.hasPrefix("   32") })
        XCTAssertEqual(row.split(separator: " ").suffix(3).prefix(2), ["62", "4"])
        let svg = SimulationReport.unmapCostChart(tables)
        XCTAssertEqual(BenchReport.problems(inSVG: Data(svg.utf8)), [])
        for tree in ["unicast", "broadcast", "per-package", "NUMA-aware"] { XCTAssertTrue(svg.contains(tree), tree) }
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2 * 3 * 4, "a line per tree, measure and machine")
    }
}
