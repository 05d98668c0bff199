import Foundation

/// One boot of the shell fed input, its console judged check by check: what the console
/// tests (`ConsoleSmokeTest`, `TerminalSmokeTest`) share. Each named check counts as one
/// test; it prints `<suite>: N passed, M failed` and a `FAIL <suite>: …` line per problem.
struct ShellTranscriptTest {
    /// The name in result lines.
    var suite: String
    /// The console's log, `results/logs/<log>.log`.
    var log: String
    /// Written before the kernel has set up the serial port: it arrives whole.
    var input: [UInt8]
    /// Sent once the console shows their cue.
    var replies: [ConsoleReply] = []
    /// Whether a panic ends the boot (not where the test stops a core on purpose).
    var panicStops = true
    /// The problems each check finds in the console, by check name.
    var problems: (_ console: String, _ ending: GuestEnding) -> [(String, [String])]

    func run(repository: Repository, kernel: String, accelerator: Accelerator, timeout: Duration) -> TestCounts {
        let logPath = "\(repository.logs)/\(log).log"
        let configuration = QEMUConfiguration(kernel: kernel, cores: 2, memory: MemorySize(mebibytes: 256)!, accelerator: accelerator,
                                              kernelArguments: "", initrd: KernelBuild.existingBootImage(for: kernel), hasNetwork: true)
        RawOutput.note("\(suite): printf '…' | \(configuration.command) > \(repository.relative(logPath))")
        let ending: GuestEnding
        do {
            ending = try GuestBoot.run(configuration, log: logPath, timeout: timeout, input: input, replies: replies,
                                       panicStops: panicStops)
        } catch {
            TestRunner.report("FAIL \(suite): \(error)")
            return TestCounts(failed: 1)
        }
        let text = FileManager.default.contents(atPath: logPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return TestCounts.judging(problems(text, ending), suite: suite, log: repository.relative(logPath))
    }
}

extension TestCounts {
    /// One test per named check: passed when it found no problem, else a `FAIL` line per
    /// problem; then the suite's `<suite>: N passed, M failed` line.
    static func judging(_ checks: [(String, [String])], suite: String, log: String) -> TestCounts {
        var counts = TestCounts()
        for (name, problems) in checks {
            if problems.isEmpty {
                counts.passed += 1
            } else {
                counts.failed += 1
                problems.forEach { TestRunner.report("FAIL \(suite): \(name): \($0) (\(log))") }
            }
        }
        TestRunner.report("\(suite): \(counts)")
        return counts
    }
}
