import Foundation
import XCTest
import CapabilityProtocols
import CapabilitySimulation
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
    }

    func testBadOptionsAreRejected() {
        for arguments in [["--cores", "0"], ["--cores", "65"], ["--seeds", "0"], ["--exhaustive", "--cores", "8"],
                          ["--exhaustive", "--operations", "4"], ["--exhaustive", "--revoke-cost"], ["--breakage", "nonsense"]] {
            XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["simulate"] + arguments), "\(arguments)")
        }
    }

    func testSeedsEndWithTheCountLine() {
        let outcome = SimulationReport.seeds(cores: 3, first: 0, count: 20)
        XCTAssertEqual(outcome.lines, ["20 schedules, 0 violations"])
        XCTAssertEqual(outcome.violations, 0)
    }

    /// A broken protocol: one line per failing seed, each with the command that replays
    /// it, then the count; and the replay finds the same violation.
    func testAFailingSeedPrintsItsReplay() throws {
        let outcome = SimulationReport.seeds(cores: 4, first: 0, count: 40, breakage: .forgetRemoteCopy)
        XCTAssertGreaterThan(outcome.violations, 0)
        XCTAssertEqual(outcome.lines.last, "40 schedules, \(outcome.violations) violations")
        let failing = outcome.lines.dropLast()
        XCTAssertEqual(failing.count, outcome.violations)
        let line = try XCTUnwrap(failing.first)
        let match = try XCTUnwrap(line.firstMatch(of: /^seed (\d+): (.+) — replay: swordfish simulate --cores 4 --seed (\d+) --breakage forgetRemoteCopy$/))
        XCTAssertEqual(match.1, match.3)
        let replay = SimulationReport.seeds(cores: 4, first: UInt64(match.1)!, count: 1, trace: true, breakage: .forgetRemoteCopy)
        XCTAssertEqual(replay.violations, 1)
        XCTAssertTrue(replay.lines.contains(line))
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
}
