import Foundation

/// The shell as someone types at a terminal: keys arrive as a terminal sends them (escape
/// sequences for the arrow keys, Tab, control keys), and Ctrl-C comes once the program
/// it stops has said it runs. Each check types one line and looks for what only that
/// line, edited as the keys say, prints; one boot for all of them (see
/// `ShellTranscriptTest`).
public enum TerminalSmokeTest {
    static let up = "\u{1B}[A", left = "\u{1B}[D", tab = "\t"
    static let controlU = "\u{15}", controlW = "\u{17}"
    /// Escape sequences the shell has no key for: a CSI with no meaning here, an unknown
    /// VT220 key, Ctrl-Right, an unknown SS3 key, Alt-x.
    static let unknownSequences = "\u{1B}[Z\u{1B}[99~\u{1B}[1;5C\u{1B}OZ\u{1B}x"

    /// Printed by `threads forever` before it spins, never yielding, until stopped.
    static let spinning = "threads: spinning until stopped"

    /// One check: the keys typed, and what must be on the console afterwards.
    struct Check: Sendable {
        var name: String
        var keys: String
        var problems: @Sendable (_ lines: [String]) -> [String]
    }

    static let checks: [Check] = [
        Check(name: "Up recalls the previous command", keys: "uptime\n" + up + "\n") { lines in
            let runs = lines.filter { $0.hasPrefix("up ") && $0.contains("ticks on core 0") }.count
            return runs == 2 ? [] : ["'uptime', then Up and Enter: uptime ran \(runs) time(s), not 2"]
        },
        Check(name: "a line edited with Left and an insert runs as edited", keys: "cors" + left + "e\n") { lines in
            expect(lines, toContain: "core  apic  state", "'cors', Left, 'e' did not run 'cores'")
        },
        Check(name: "Ctrl-U kills to the start of the line", keys: "garbage words" + controlU + "mem\n") { lines in
            expect(lines, toContain: "core   frames", "'garbage words', Ctrl-U, 'mem' did not run 'mem'")
        },
        Check(name: "Ctrl-W kills the previous word", keys: "domains bogus" + controlW + "\n") { lines in
            expect(lines, toContain: "id    name", "'domains bogus', Ctrl-W did not run 'domains'")
        },
        Check(name: "Tab completes a command", keys: "hel" + tab + "\n") { lines in
            expect(lines, toContain: "help            this list", "'hel', Tab did not run 'help'")
        },
        Check(name: "Tab completes a program name", keys: "run hel" + tab + "\n") { lines in
            expect(lines, toContain: "hello from user mode", "'run hel', Tab did not run hello")
        },
        Check(name: "Tab lists the commands an ambiguous prefix may become", keys: "h" + tab + controlU) { lines in
            lines.contains("help  httpd  halt") ? [] : ["'h', Tab did not list 'help  httpd  halt'"]
        },
        // Leaked bytes would change the command word, or (with an Enter made up) be a
        // command of their own, with a `[`, `;` or `~` in it.
        Check(name: "unknown escape sequences never become a command",
              keys: unknownSequences + "skb" + unknownSequences + "\n") { lines in
            expect(lines, toContain: "latency matrix (round trip", "'skb' between unknown escape sequences did not run")
                + lines.compactMap(unknownCommand).filter { $0.contains(where: { "[;~".contains($0) }) }
                    .map { "escape sequence bytes were run as a command: '\($0)'" }
        },
    ]

    /// Every check's keys, then a program that never yields; Ctrl-C once it runs; the
    /// same on core 1 through `oncore`; then halt.
    static let input = checks.map(\.keys).joined() + "run threads forever\n"
    static let replies = [ConsoleReply(cue: spinning, bytes: [0x03] + Array("oncore 1 threads forever\n".utf8)),
                          ConsoleReply(cue: spinning, bytes: [0x03] + Array("halt\n".utf8))]

    static func problems(in console: String, ending: GuestEnding) -> [(String, [String])] {
        let lines = console.lines
        var results = checks.map { ($0.name, $0.problems(lines)) }
        var interrupt: [String] = []
        let started = lines.firstIndex { $0.contains(spinning) }
        // The shell asks the monitors to kill the program on Ctrl-C.
        let stopped = lines.firstIndex { $0.contains("domain threads") && $0.contains("on core 0 stopped: killed by its monitor") }
        let remoteStopped = lines.firstIndex { $0.contains("domain threads") && $0.contains("on core 1 stopped: killed by its monitor") }
        let halted = lines.firstIndex { $0.contains("powering off") }
        if started == nil { interrupt.append("'run threads forever' did not start: no '\(spinning)'") }
        if stopped == nil { interrupt.append("Ctrl-C did not stop threads") }
        if let stopped, let started, stopped < started { interrupt.append("threads was reported stopped before it ran") }
        if let stopped, let halted, halted < stopped { interrupt.append("'halt' ran before threads was stopped") }
        if halted == nil || ending != .exited(status: 1) { interrupt.append("'halt' after Ctrl-C did not power off cleanly: \(ending)") }
        results.append(("Ctrl-C stops a program that never yields, and the next command runs", interrupt))
        var remote: [String] = []
        if remoteStopped == nil { remote.append("Ctrl-C did not stop 'oncore 1 threads forever'") }
        if let remoteStopped, let halted, halted < remoteStopped { remote.append("'halt' ran before core 1's threads was stopped") }
        results.append(("Ctrl-C stops a program started on another core with oncore", remote))
        return results
    }

    /// The word of a line `unknown command '<word>'; type 'help'`.
    static func unknownCommand(_ line: String) -> String? {
        guard let start = line.range(of: "unknown command '"), let end = line.range(of: "'; type 'help'", options: .backwards),
              start.upperBound <= end.lowerBound else { return nil }
        return String(line[start.upperBound..<end.lowerBound])
    }

    static func expect(_ lines: [String], toContain text: String, _ problem: String) -> [String] {
        lines.contains { $0.contains(text) } ? [] : [problem]
    }

    public static func run(repository: Repository, kernel: String, accelerator: Accelerator, timeout: Duration = .seconds(60)) -> TestCounts {
        ShellTranscriptTest(suite: "terminal", log: "terminal-smoke", input: Array(input.utf8), replies: replies,
                            problems: problems(in:ending:))
            .run(repository: repository, kernel: kernel, accelerator: accelerator, timeout: timeout)
    }
}
