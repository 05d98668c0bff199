import XCTest
import CapabilityProtocols
import CapabilitySimulation

/// Every schedule of every pair of requests on three cores (ExhaustiveSearch.swift).
final class CapabilityExhaustiveTests: XCTestCase {
    func testEveryScheduleOfTwoOperationsOnThreeCores() {
        let result = ExhaustiveSearch.run(cores: 3, operations: 2)
        print("\(result.cases) cases, \(result.states) states: \(result.schedules) schedules, \(result.violations) violations")
        XCTAssertEqual(result.violations, 0, result.firstViolation ?? "")
        XCTAssertEqual(result.cases, 120)
        XCTAssertGreaterThan(result.schedules, 10_000)
    }

    /// Checking the checker: a revoke without the lock is caught in some schedule.
    func testTheSearchCatchesARevokeWithoutTheLock() {
        let result = ExhaustiveSearch.run(cores: 3, operations: 2, breakage: .revokeWithoutLock)
        print("revokeWithoutLock: \(result.schedules) schedules, \(result.violations) violations; first: \(result.firstViolation ?? "none")")
        XCTAssertGreaterThan(result.violations, 0)
    }
}
