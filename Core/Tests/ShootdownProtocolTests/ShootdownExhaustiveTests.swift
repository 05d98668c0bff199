import XCTest
import KnowledgeBase
import ShootdownProtocol
import ShootdownSimulation

/// Every schedule of small cases (ShootdownExhaustiveSearch.swift).
final class ShootdownExhaustiveTests: XCTestCase {
    func check(cores: Int, tree: MulticastKind, initiators: [Int] = [0], stopping: Int? = nil,
               file: StaticString = #filePath, line: UInt = #line) {
        let result = ShootdownExhaustiveSearch.run(cores: cores, tree: tree, initiators: initiators, stopping: stopping)
        print("\(cores) cores, \(tree), from \(initiators), stopping \(stopping.map(String.init) ?? "none"): \(result.schedules) schedules")
        XCTAssertEqual(result.violations, 0, result.firstViolation ?? "", file: file, line: line)
        XCTAssertGreaterThan(result.schedules, 1, file: file, line: line)
    }

    /// Core 2 forwards to core 3 in the per-package tree from core 0: it stops at every
    /// moment, and core 0 must still reach core 3.
    func testAForwarderStoppingAtEveryMoment() {
        check(cores: 4, tree: .perPackage, stopping: 2)
        check(cores: 4, tree: .numaAware, stopping: 3)
    }

    func testALeafStoppingAtEveryMoment() {
        check(cores: 3, tree: .unicast, stopping: 2)
        check(cores: 3, tree: .broadcast, stopping: 1)
    }

    func testTwoInitiatorsAtOnce() {
        check(cores: 4, tree: .perPackage, initiators: [0, 3])
        check(cores: 3, tree: .unicast, initiators: [0, 1])
    }

    /// Checking the checker: each breakage is caught in some schedule.
    func testEachBreakageIsCaught() {
        for breakage in ShootdownBreakage.allCases {
            let result = ShootdownExhaustiveSearch.run(cores: 4, tree: .perPackage, stopping: 2, breakage: breakage)
            XCTAssertGreaterThan(result.violations, 0, "\(breakage)")
        }
    }
}
