import XCTest
@testable import SwordfishTool

final class TerminalSmokeTestTests: XCTestCase {
    static let good = """
        up 0.241 s, 3 ticks on core 0 (tsc 2599 MHz)
        up 0.243 s, 3 ticks on core 0 (tsc 2599 MHz)
        core  apic  state         ticks  domains  dropped
        core   frames     free     used   heap KiB
        id    name        state                     preemptions  upcalls
        help            this list
        hello from user mode
        help  httpd  halt
        latency matrix (round trip, cycles; row = from, column = to):
        threads: spinning until stopped
        ^C
        domain threads (4) on core 0 stopped: killed by its monitor
        swordfish> oncore 1 threads forever
        threads: spinning until stopped
        ^C
        domain threads (3) on core 1 stopped: killed by its monitor
        swordfish> halt
        powering off

        """

    func testAGoodTranscriptPassesEveryCheck() {
        let results = TerminalSmokeTest.problems(in: Self.good, ending: .exited(status: 1))
        XCTAssertEqual(results.count, TerminalSmokeTest.checks.count + 2)
        for (name, problems) in results { XCTAssertEqual(problems, [], name) }
    }

    func testAnEmptyConsoleFailsEveryCheck() {
        let results = TerminalSmokeTest.problems(in: "", ending: .timedOut(seconds: 60))
        for (name, problems) in results { XCTAssertFalse(problems.isEmpty, name) }
    }

    func testAnEscapeSequenceRunAsACommandFails() {
        let console = Self.good + "unknown command '[Z'; type 'help'\n"
        let results = TerminalSmokeTest.problems(in: console, ending: .exited(status: 1))
        XCTAssertEqual(results.filter { !$0.1.isEmpty }.map(\.0), ["unknown escape sequences never become a command"])
    }

    func testOnlyEscapeSequenceBytesCountAsLeaked() {
        let console = Self.good + "unknown command 'garbage'; type 'help'\n"
        let results = TerminalSmokeTest.problems(in: console, ending: .exited(status: 1))
        XCTAssertTrue(results.allSatisfy { $0.1.isEmpty })
        XCTAssertEqual(TerminalSmokeTest.unknownCommand("unknown command '1;5C'; type 'help'"), "1;5C")
    }

    func testTheHelpTextIsNoProofThatSkbRan() {
        let console = Self.good.replacingOccurrences(of: "latency matrix (round trip, cycles; row = from, column = to):\n", with: "")
            + "skb             the knowledge base: cores, topology, latency matrix\n"
        let results = TerminalSmokeTest.problems(in: console, ending: .exited(status: 1))
        XCTAssertEqual(results.filter { !$0.1.isEmpty }.map(\.0), ["unknown escape sequences never become a command"])
    }

    func testAProgramStoppedBeforeItRanFails() {
        let console = Self.good.replacingOccurrences(of: "threads: spinning until stopped\n", with: "")
            + "threads: spinning until stopped\n"
        let results = TerminalSmokeTest.problems(in: console, ending: .exited(status: 1))
        XCTAssertEqual(results.dropLast().last?.1, ["threads was reported stopped before it ran"])
    }

    func testAProgramOnAnotherCoreLeftRunningFails() {
        let console = Self.good.replacingOccurrences(of: "domain threads (3) on core 1 stopped: killed by its monitor\n", with: "")
        let results = TerminalSmokeTest.problems(in: console, ending: .exited(status: 1))
        XCTAssertEqual(results.filter { !$0.1.isEmpty }.map(\.0), ["Ctrl-C stops a program started on another core with oncore"])
    }
}
