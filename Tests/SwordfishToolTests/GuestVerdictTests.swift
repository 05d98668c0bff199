import XCTest
@testable import SwordfishTool

final class GuestVerdictTests: XCTestCase {
    private let twoCores = GuestConfiguration(cores: 2, memory: MemorySize(mebibytes: 128)!)

    private let passingLog = """
        Swordfish booting
        core 0 up (apic 0)
        core 1 up (apic 1)
        PASS frame allocator
        PASS page tables
        PASS channel ping-pong
        3 passed, 0 failed

        """

    private func verdict(_ log: String, _ ending: GuestEnding, cores: Int = 2) -> GuestVerdict {
        GuestVerdict(
            configuration: GuestConfiguration(cores: cores, memory: MemorySize(mebibytes: 128)!),
            log: GuestConsoleLog(log), ending: ending, expected: []
        )
    }

    func testACleanRunCountsTheGuestsTests() {
        let result = verdict(passingLog, .exited(status: 1))
        XCTAssertEqual(result.problems, [])
        XCTAssertEqual(result.counts, TestCounts(passed: 3, failed: 0))
        XCTAssertTrue(result.isSuccess)
    }

    func testACoreLeftOutOnPurposeMustBeReportedAndStayDown() {
        let skipping = GuestConfiguration(cores: 3, memory: MemorySize(mebibytes: 128)!, unstartedCore: 2)
        let reported = "core 0 up (apic 0)\ncore 1 up (apic 1)\ncore 2 (apic 2) did not start: no answer within 1 s\n1 passed, 0 failed\n"
        XCTAssertEqual(GuestVerdict(configuration: skipping, log: GuestConsoleLog(reported), ending: .exited(status: 1), expected: []).problems, [])
        let silent = "core 0 up (apic 0)\ncore 1 up (apic 1)\n1 passed, 0 failed\n"
        XCTAssertEqual(GuestVerdict(configuration: skipping, log: GuestConsoleLog(silent), ending: .exited(status: 1), expected: []).problems,
                       [.unstartedCoreNotReported(2)])
        let cameUp = "core 0 up (apic 0)\ncore 1 up (apic 1)\ncore 2 up (apic 2)\n1 passed, 0 failed\n"
        XCTAssertEqual(GuestVerdict(configuration: skipping, log: GuestConsoleLog(cameUp), ending: .exited(status: 1), expected: []).problems,
                       [.unstartedCoreNotReported(2)])
    }

    func testTheLogIsRead() {
        let log = GuestConsoleLog(passingLog)
        XCTAssertEqual(log.coresUp, [0: 0, 1: 1])
        XCTAssertEqual(log.passedTests, ["frame allocator", "page tables", "channel ping-pong"])
        XCTAssertEqual(log.summary, TestCounts(passed: 3, failed: 0))
        XCTAssertEqual(log.panics, [])
    }

    func testCarriageReturnsAndIndentationAreIgnored() {
        let log = "core 0 up (apic 0)\r\n  core 1 up (apic 2)\r\nPASS a\r\n1 passed, 0 failed\r\n"
        let result = verdict(log, .exited(status: 1))
        XCTAssertEqual(result.problems, [])
        XCTAssertEqual(GuestConsoleLog(log).coresUp, [0: 0, 1: 2])
        XCTAssertEqual(result.counts, TestCounts(passed: 1, failed: 0))
    }

    func testGuestFailuresAreCountedWithoutAnExtraProblem() {
        let log = """
            core 0 up (apic 0)
            core 1 up (apic 1)
            PASS a
            FAIL b: expected 3, got 4
            FAIL c: timeout
            1 passed, 2 failed
            """
        let result = verdict(log, .exited(status: 3))
        XCTAssertEqual(result.problems, [])
        XCTAssertEqual(result.counts, TestCounts(passed: 1, failed: 2))
        XCTAssertEqual(GuestConsoleLog(log).failedTests, ["b: expected 3, got 4", "c: timeout"])
    }

    func testTimeout() {
        let log = "core 0 up (apic 0)\ncore 1 up (apic 1)\nPASS a\n"
        let result = verdict(log, .timedOut(seconds: 180))
        XCTAssertEqual(result.problems, [.timedOut(seconds: 180), .noSummaryLine])
        XCTAssertEqual(result.counts, TestCounts(passed: 0, failed: 2))
        XCTAssertEqual(GuestProblem.timedOut(seconds: 180).reason, "timed out after 180 s")
    }

    func testPanicAnywhereFails() {
        let log = """
            core 0 up (apic 0)
            core 1 up (apic 1)
            PANIC core 1: page fault (#PF, vector 14) error 0x2
              rip 0x0000000000105a3c rsp 0x0000000000200ff0 cr2 0x0000000000000000
              backtrace: 0x105a3c 0x1043f0 0x10210e
            PASS a
            1 passed, 0 failed
            """
        let result = verdict(log, .exited(status: 1))
        XCTAssertEqual(result.problems, [.panicked(headline: "PANIC core 1: page fault (#PF, vector 14) error 0x2")])
        XCTAssertEqual(result.counts, TestCounts(passed: 1, failed: 1))
        XCTAssertEqual(GuestConsoleLog(log).panics, [
            PanicReport(
                headline: "PANIC core 1: page fault (#PF, vector 14) error 0x2", core: 1,
                rip: 0x105a3c, backtrace: [0x105a3c, 0x1043f0, 0x10210e]
            ),
        ])
    }

    func testAPanicThatStoppedTheBootIsNotAlsoABadExitStatus() {
        let log = "core 0 up (apic 0)\nPANIC core 0: double fault (#DF, vector 8)\n"
        let result = verdict(log, .stoppedAfterPanic, cores: 1)
        XCTAssertEqual(result.problems, [.panicked(headline: "PANIC core 0: double fault (#DF, vector 8)"), .noSummaryLine])
    }

    func testMissingCores() {
        let log = "core 0 up (apic 0)\ncore 2 up (apic 2)\nPASS a\n1 passed, 0 failed\n"
        let result = verdict(log, .exited(status: 1), cores: 4)
        XCTAssertEqual(result.problems, [.missingCores([1, 3])])
        XCTAssertEqual(result.counts, TestCounts(passed: 1, failed: 1))
        XCTAssertEqual(GuestProblem.missingCores([1, 3]).reason, "no 'core N up' line for cores 1, 3")
        XCTAssertEqual(GuestProblem.missingCores([5]).reason, "no 'core N up' line for core 5")
    }

    func testCoreIdsAreNotAPICIds() {
        // APIC ids need not be 0..<n; the guest numbers its cores itself.
        let log = "core 0 up (apic 0)\ncore 1 up (apic 4)\n0 passed, 0 failed\n"
        XCTAssertEqual(verdict(log, .exited(status: 1)).problems, [])
    }

    func testMalformedCoreLinesDoNotCount() {
        let log = "core 0 up (apic 0)\ncore 1 up\ncore one up (apic 1)\ncore 1 is up (apic 1)\n0 passed, 0 failed\n"
        XCTAssertEqual(verdict(log, .exited(status: 1)).problems, [.missingCores([1])])
    }

    func testNoFinalLine() {
        let log = "core 0 up (apic 0)\ncore 1 up (apic 1)\nPASS a\nFAIL b: oops\n"
        let result = verdict(log, .exited(status: 3))
        XCTAssertEqual(result.problems, [.noSummaryLine])
        XCTAssertEqual(result.counts, TestCounts(passed: 0, failed: 1))
    }

    func testAllPassedButTheExitSaysOtherwise() {
        let log = "core 0 up (apic 0)\ncore 1 up (apic 1)\n2 passed, 0 failed\n"
        XCTAssertEqual(verdict(log, .exited(status: 3)).problems, [.unexpectedExitStatus(3)])
        XCTAssertEqual(verdict(log, .exited(status: 0)).problems, [.unexpectedExitStatus(0)], "reset or triple fault")
        XCTAssertEqual(verdict(log, .exited(status: 1)).problems, [])
    }

    func testTheLastSummaryLineWins() {
        let log = "core 0 up (apic 0)\ncore 1 up (apic 1)\n5 passed, 0 failed\n7 passed, 1 failed\n"
        XCTAssertEqual(GuestConsoleLog(log).summary, TestCounts(passed: 7, failed: 1))
    }

    /// A log in which every core reports every check `GuestChecks` declares for it.
    private func declaredLog(_ configuration: GuestConfiguration, leavingOut omitted: ExpectedCheck? = nil) -> String {
        var lines = (0..<configuration.cores).filter { $0 != configuration.unstartedCore }.map { "core \($0) up (apic \($0))" }
        if let skipped = configuration.unstartedCore { lines.append("core \(skipped) (apic \(skipped)) did not start: no answer") }
        var passed = 0
        for check in configuration.expectedChecks {
            let runs = check == omitted ? check.runs - 1 : check.runs
            lines += Array(repeating: "PASS core \(check.core): \(check.name)", count: runs)
            passed += runs
        }
        return (lines + ["\(passed) passed, 0 failed", ""]).joined(separator: "\n")
    }

    func testEveryDeclaredCheckReportedPasses() {
        for configuration in GuestConfiguration.standardSet {
            let result = GuestVerdict(configuration: configuration, log: GuestConsoleLog(declaredLog(configuration)), ending: .exited(status: 1))
            XCTAssertEqual(result.problems, [], "\(configuration)")
        }
    }

    func testACheckTheKernelDidNotRunFailsTheBootThoughItsSummarySaysAllPassed() {
        let configuration = GuestConfiguration(cores: 2, memory: MemorySize(mebibytes: 128)!)
        let fuzz = configuration.expectedChecks.first { $0.core == 0 && $0.runs == 3 }!     // capfuzz's three seeds
        let onCore1 = configuration.expectedChecks.first { $0.core == 1 }!
        for omitted in [fuzz, onCore1] {
            let result = GuestVerdict(configuration: configuration, log: GuestConsoleLog(declaredLog(configuration, leavingOut: omitted)),
                                      ending: .exited(status: 1))
            XCTAssertEqual(result.problems, [.missingChecks(core: omitted.core, names: [omitted.name])])
            XCTAssertFalse(result.isSuccess)
        }
    }

    func testAFailureReportsTheCheckByName() {
        let log = GuestConsoleLog("FAIL core 2: timer: ticks arrive: fewer than 3 ticks in 5 s\nPASS core 0: heap: random allocations\n")
        XCTAssertEqual(log.checkReports, [
            CheckReport(core: 2, text: "timer: ticks arrive: fewer than 3 ticks in 5 s", passed: false),
            CheckReport(core: 0, text: "heap: random allocations", passed: true),
        ])
        XCTAssertTrue(log.checkReports[0].reports("timer: ticks arrive"))
        XCTAssertFalse(log.checkReports[0].reports("timer: ticks"))
        XCTAssertFalse(log.checkReports[1].reports("heap: random"))
    }

    func testFailLinesCountEvenIfTheSummaryDisagrees() {
        let log = "core 0 up (apic 0)\ncore 1 up (apic 1)\nFAIL core 1: a: broken\nFAIL core 0: b: broken\n5 passed, 1 failed\n"
        let result = verdict(log, .exited(status: 3))
        XCTAssertEqual(result.problems, [.failuresNotCounted(lines: 2, summary: 1)])
        XCTAssertEqual(result.counts, TestCounts(passed: 5, failed: 2))
    }

    func testEmptyLogHasEveryProblem() {
        let result = verdict("", .exited(status: 0))
        XCTAssertEqual(result.problems, [.missingCores([0, 1]), .noSummaryLine])
    }
}

final class TestCountsTests: XCTestCase {
    func testSummaryLines() {
        XCTAssertEqual(TestCounts(summaryLine: "12 passed, 0 failed"), TestCounts(passed: 12, failed: 0))
        XCTAssertEqual(TestCounts(summaryLine: "1 passed, 2 failed, 3 skipped"), TestCounts(passed: 1, failed: 2))
        XCTAssertNil(TestCounts(summaryLine: "12 passed"))
        XCTAssertNil(TestCounts(summaryLine: "12 passed, 0 failed!"))
        XCTAssertNil(TestCounts(summaryLine: "a passed, 0 failed"))
        XCTAssertNil(TestCounts(summaryLine: "1 passed, 0 failed, 2 ignored"))
        XCTAssertNil(TestCounts(summaryLine: "1 passed, 0 failed,"))
        XCTAssertNil(TestCounts(summaryLine: "tests: 1 passed, 0 failed"))
    }

    func testDescriptionIsTheSummaryLine() {
        XCTAssertEqual(TestCounts(passed: 3, failed: 1).description, "3 passed, 1 failed")
        XCTAssertEqual(TestCounts(passed: 3, failed: 1) + TestCounts(passed: 2, failed: 0), TestCounts(passed: 5, failed: 1))
    }
}
