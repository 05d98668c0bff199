import Foundation

/// The shell as someone pipes commands into the QEMU line `swordfish build` prints:
/// input written before the kernel has set up the serial port arrives whole, and a line
/// longer than the shell takes is refused with a message instead of cut and run.
/// Counted as one test per check (see `ShellTranscriptTest`).
public enum ConsoleSmokeTest {
    /// Longer than the shell's 200-character line: the `hello` it names must not run.
    static let longLine = "oncore 1 hello " + String(repeating: "x", count: 300)

    /// What the guest is sent, all of it before QEMU has started the kernel.
    static let input = "cores\n\(longLine)\nhalt\n"

    /// The problems with one check's part of the console, by check name.
    static func problems(in console: String, ending: GuestEnding) -> [(String, [String])] {
        var early: [String] = []
        if !console.contains("core  apic  state") { early.append("the first command, 'cores', printed no core table") }
        if let unknown = console.lines.first(where: { $0.contains("unknown command") }) {
            early.append("the shell saw a command that was not typed: \(unknown)")
        }
        if ending != .exited(status: 1) { early.append("'halt' did not power off cleanly: \(ending)") }
        var long: [String] = []
        if !console.contains("line too long") { long.append("no 'line too long' message for a \(longLine.count)-character line") }
        if console.contains("hello from") { long.append("the cut line ran its program") }
        return [("piped input arrives from its first byte", early), ("a line too long is refused with a message", long)]
    }

    public static func run(repository: Repository, kernel: String, accelerator: Accelerator, timeout: Duration = .seconds(60)) -> TestCounts {
        ShellTranscriptTest(suite: "console", log: "console-smoke", input: Array(input.utf8), problems: problems(in:ending:))
            .run(repository: repository, kernel: kernel, accelerator: accelerator, timeout: timeout)
    }
}
