import XCTest
@testable import SwordfishTool

final class SubprocessTests: XCTestCase {
    func testAProgramThatRunsPastItsLimitIsStoppedWithItsChildren() throws {
        // The shell's child sleeps on after its parent would be killed alone: the whole
        // process group must go, or a hung `swift test` would leave its workers behind.
        let marker = "swordfish-subprocess-test-\(getpid())"
        let start = ContinuousClock.now
        let result = try Subprocess.run(ShellCommand("bash", ["-c", "exec -a \(marker) sleep 60 & wait"]),
                                        output: .standardError, timeout: .seconds(1))
        XCTAssertTrue(result.timedOut)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(30))
        XCTAssertEqual(processes(named: marker), [], "still running")
    }

    /// Processes whose command line starts with `name` (from /proc, as pgrep would).
    private func processes(named name: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard Int(entry) != nil, let line = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
            return String(decoding: line, as: UTF8.self).hasPrefix(name)
        }
    }

    func testAProgramWithinItsLimitIsNotStopped() throws {
        let result = try Subprocess.run(ShellCommand("bash", ["-c", "exit 3"]), output: .standardError, timeout: .seconds(30))
        XCTAssertFalse(result.timedOut)
        XCTAssertEqual(result.status, 3)
    }
}

final class ConsoleSmokeTestTests: XCTestCase {
    func testAConsoleThatLostItsFirstByteFails() {
        let good = "core  apic  state\n0 ...\nline too long: the shell takes 200 characters; nothing was run\npowering off\n"
        XCTAssertTrue(ConsoleSmokeTest.problems(in: good, ending: .exited(status: 1)).allSatisfy { $0.1.isEmpty })
        let lost = "unknown command 'ores'; type 'help'\nline too long\npowering off\n"
        let problems = ConsoleSmokeTest.problems(in: lost, ending: .exited(status: 1))
        XCTAssertEqual(problems[0].1.count, 2)
        XCTAssertEqual(problems[1].1, [])
    }

    func testALongLineThatWasCutAndRunFails() {
        let cut = "core  apic  state\nhello from user mode\npowering off\n"
        let problems = ConsoleSmokeTest.problems(in: cut, ending: .exited(status: 1))
        XCTAssertEqual(problems[1].1.count, 2)
    }
}
