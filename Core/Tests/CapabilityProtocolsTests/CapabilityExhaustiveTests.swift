import XCTest
import CapabilityProtocols
import CapabilitySimulation

/// Every schedule of every pair of requests on three cores (ExhaustiveSearch.swift).
final class CapabilityExhaustiveTests: XCTestCase {
    func testEveryScheduleOfTwoOperationsOnThreeCores() {
        let result = ExhaustiveSearch.run(cores: 3, operations: 2)
        print("\(result.cases) cases, \(result.states) states: \(result.schedules) schedules, \(result.violations) violations")
        XCTAssertEqual(result.violations, 0, result.firstViolation ?? "")
        XCTAssertEqual(result.cases, 120 + 66)
        XCTAssertGreaterThan(result.schedules, 10_000)
    }

    /// Checking the checker: every breakage is caught in some schedule.
    func testTheSearchCatchesEveryBreakage() {
        for breakage in CapabilityBreakage.allCases {
            let result = ExhaustiveSearch.run(cores: 3, operations: 2, breakage: breakage)
            print("\(breakage): \(result.schedules) schedules, \(result.violations) violations; first: \(result.firstViolation ?? "none")")
            XCTAssertGreaterThan(result.violations, 0, "\(breakage)")
        }
    }
}
