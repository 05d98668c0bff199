import Foundation

/// A core that stops while a domain spans it (issue 12's bad input, docs/spanning.md):
/// `span survive 1` runs in the background (`spawn`) with a thread on core 1 reading a
/// shared page; once it says so, the suite stops core 1 (`panic 1`). Then core 1's
/// panic tells the other kernels it stops, every monitor stops waiting on it, the unmap
/// returns for the rest, the domain ends as usual, and the shell goes on. One boot,
/// one test per check (see `ShellTranscriptTest`).
public enum StoppedCoreTest {
    static let input = "spawn 0 span survive 1\n"
    /// `panic 1` once a thread there uses the page; `cores` and `halt` once the program
    /// ended (its end is the first `domain span (` line after the panic: the dispatcher
    /// on core 1 never ends, since nothing runs there any more).
    static let replies = [ConsoleReply(cue: "stop core 1 now", bytes: Array("panic 1\n".utf8)),
                          ConsoleReply(cue: "domain span (", bytes: Array("cores\nhalt\n".utf8))]

    static func problems(in console: String, ending: GuestEnding) -> [(String, [String])] {
        func expect(_ text: String, _ problem: String) -> [String] { console.contains(text) ? [] : [problem] }
        let stopped = expect("PANIC core 1:", "core 1 did not panic on `panic 1`")
            + expect("core 1 stopped", "core 1's panic did not end with 'core 1 stopped'")
        let monitors = expect("monitor on core 0: core 1 stopped; not waiting on it any more",
                              "core 0's monitor did not hear that core 1 stopped")
        let unmap = expect("span: core 1 stopped; unmap returned for the rest", "the unmap did not return after core 1 stopped")
            + (console.lines.contains { $0.hasPrefix("domain span (") && $0.hasSuffix("on core 0 exited with status 0") }
                ? [] : ["the spanning domain did not exit with status 0"])
        var goesOn = expect("stopped (it panicked)", "`cores` does not name core 1 stopped")
        if console.contains("PANIC core 0") { goesOn.append("core 0 panicked too") }
        if ending != .exited(status: 1) { goesOn.append("'halt' did not power off cleanly: \(ending)") }
        return [("a core's panic tells the others it stopped", stopped),
                ("every monitor stops waiting on a stopped core", monitors),
                ("unmap returns for the rest when a spanned core stops, and the domain ends", unmap),
                ("the other cores go on, and `cores` names the stopped one", goesOn)]
    }

    public static func run(repository: Repository, kernel: String, accelerator: Accelerator, timeout: Duration = .seconds(180)) -> TestCounts {
        ShellTranscriptTest(suite: "stopped-core", log: "stopped-core", input: Array(input.utf8), replies: replies,
                            panicStops: false, problems: problems(in:ending:))
            .run(repository: repository, kernel: kernel, accelerator: accelerator, timeout: timeout)
    }
}
