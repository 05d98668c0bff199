import XCTest
import CapabilityProtocols
import CapabilitySimulation

/// Checking the checker: each protocol broken on purpose (`CapabilityBreakage`) must be
/// caught by the seeded runs within a few hundred seeds, or the runs prove little.
final class CapabilityBreakageTests: XCTestCase {
    func caught(_ breakage: CapabilityBreakage, cores: Int = 4, seeds: Int = 400) -> Int {
        let failures = simulateSeeds(cores: cores, first: 0, count: seeds, breakage: breakage)
        print("\(breakage.rawValue): \(failures.count) of \(seeds) seeds fail; first: \(failures.first.map { "seed \($0.seed): \($0.violation)" } ?? "none")")
        return failures.count
    }

    func testSkippingTheMarkIsCaught() { XCTAssertGreaterThan(caught(.skipMark), 0) }
    func testForgettingARemoteCopyIsCaught() { XCTAssertGreaterThan(caught(.forgetRemoteCopy), 0) }
    func testRevokingWithoutTheLockIsCaught() { XCTAssertGreaterThan(caught(.revokeWithoutLock), 0) }
    func testRetypingWithoutTheOwnerIsCaught() { XCTAssertGreaterThan(caught(.retypeWithoutOwner), 0) }
    func testASilentMoveIsCaught() { XCTAssertGreaterThan(caught(.silentMove), 0) }
}
