import XCTest
import GuestChecks

final class GuestCheckTests: XCTestCase {
    private func names(_ checks: [GuestCheck]) -> [String] { checks.map { "\($0.name)" } }

    func testNamesAreUniqueAndNoneIsAPrefixOfAnother() {
        // A FAIL line is `<name>: <reason>`: a name that begins another's plus ": " would
        // let one check's failure count as the other's report.
        let all = names(GuestCheck.allCases)
        XCTAssertEqual(Set(all).count, all.count)
        for a in all {
            for b in all where a != b { XCTAssertFalse(b.hasPrefix(a + ": "), "\(a) / \(b)") }
        }
    }

    func testEveryPassLineFitsOneConsoleLine() {
        // A user program's console buffer sends a line at 200 bytes (Runtime.swift's
        // putchar): a longer PASS line arrives cut in two, and the host misses the check.
        for name in names(GuestCheck.allCases) {
            XCTAssertLessThanOrEqual("PASS core 99: \(name)\n".utf8.count, 200, name)
        }
    }

    func testEveryCoreRunsItsOwnChecksAndCoreZeroTheGlobalOnes() {
        let local = GuestCheck.allCases.filter { $0.scope == .everyCore }
        for core in 0..<4 {
            for check in local {
                let expected = check == .randomInvocations ? GuestCheck.fuzzRuns(onCore: core).count : 1
                XCTAssertEqual(check.expectedRuns(onCore: core, cores: 4, skippedCore: nil), expected, "\(check.name) on \(core)")
            }
        }
        XCTAssertEqual(GuestCheck.multicast.expectedRuns(onCore: 0, cores: 4, skippedCore: nil), 1)
        XCTAssertEqual(GuestCheck.multicast.expectedRuns(onCore: 1, cores: 4, skippedCore: nil), 0)
        XCTAssertEqual(GuestCheck.randomInvocations.expectedRuns(onCore: 0, cores: 1, skippedCore: nil), 3)
        XCTAssertEqual(GuestCheck.randomInvocations.expectedRuns(onCore: 2, cores: 4, skippedCore: nil), 1)
    }

    func testOneCoreRunsNoCrossCoreRequestsAndASkippedCoreNothing() {
        XCTAssertEqual(GuestCheck.nameRace.expectedRuns(onCore: 0, cores: 1, skippedCore: nil), 0)
        XCTAssertEqual(GuestCheck.nameRace.expectedRuns(onCore: 0, cores: 2, skippedCore: nil), 1)
        XCTAssertEqual(GuestCheck.nameRace.expectedRuns(onCore: 0, cores: 2, skippedCore: 1), 0)
        XCTAssertEqual(GuestCheck.timerTicks.expectedRuns(onCore: 2, cores: 4, skippedCore: 2), 0)
        XCTAssertEqual(GuestCheck.skippedCoreReported.expectedRuns(onCore: 0, cores: 4, skippedCore: 2), 1)
        XCTAssertEqual(GuestCheck.skippedCoreReported.expectedRuns(onCore: 0, cores: 4, skippedCore: nil), 0)
        XCTAssertEqual(GuestCheck.lateCoreStaysInINIT.expectedRuns(onCore: 0, cores: 4, skippedCore: 2), 1)
        XCTAssertEqual(GuestCheck.stopNeedsKernelCapability.expectedRuns(onCore: 0, cores: 1, skippedCore: nil), 0)
        XCTAssertEqual(GuestCheck.timerTicks.expectedRuns(onCore: 4, cores: 4, skippedCore: nil), 0)
    }

    func testChecksReportedOnlyOnFailureAreNeverExpected() {
        for check in GuestCheck.allCases where check.scope == .onlyOnFailure {
            XCTAssertEqual(check.expectedRuns(onCore: 0, cores: 8, skippedCore: nil), 0)
        }
    }
}
