import Foundation

/// `swordfish test`: every suite, one total.
///
/// Host suites are SwiftPM test runs, counted from their xUnit reports. Guest suites are
/// boots of the kernel with `-append test` in several configurations, counted from what
/// the guest prints, plus one failure for each way a boot can go wrong unnoticed by the
/// guest itself (see `GuestVerdict`). The last line printed is the total, `N passed, M
/// failed`, alone on its line.
public struct TestRunner: Sendable {
    public var repository: Repository
    public var runsHostSuites = true
    public var runsGuestSuites = true
    /// `swordfish bench --quick` against Linux: the slowest suite, and the only one that
    /// boots Linux, so only the full run (CI's) includes it.
    public var runsBenchSmokeTest = true
    /// Of the guest suites, only the web server's (`--http-only`).
    public var runsOnlyHTTPSuite = false
    public var configurations = GuestConfiguration.standardSet
    public var accelerator = AcceleratorRequest.auto
    public var timeout: Duration = .seconds(180)
    /// How long one host suite (its build included) may run before it counts as hung.
    public var hostSuiteTimeout: Duration = .seconds(900)
    public var probe = HostProbe.live
    /// Boot this ELF instead of building the kernel.
    public var prebuiltKernel: String?

    /// How many lines of a failing suite's log to show.
    static let tailLength = 30

    public init(repository: Repository) {
        self.repository = repository
    }

    /// Runs the selected suites and returns the total, after printing it.
    public func run() -> TestCounts {
        var total = TestCounts()
        do {
            try FileManager.default.createDirectory(atPath: repository.logs, withIntermediateDirectories: true)
        } catch {
            Self.report("FAIL setup: cannot create \(repository.logs): \(error)")
            total.failed += 1
        }
        if runsHostSuites {
            for suite in hostSuites {
                total += run(suite)
            }
        }
        if runsGuestSuites {
            total += runGuestSuites()
        }
        if runsBenchSmokeTest {
            // `swordfish bench --quick` completes and writes a well-formed report (the
            // figures themselves are never checked: timings belong in benchmarks).
            total += BenchSmokeTest.run(repository: repository, accelerator: accelerator, kernel: prebuiltKernel)
        }
        Self.report("\(total)")
        return total
    }

    // MARK: Host suites

    struct HostSuite {
        var name: String
        var command: ShellCommand
        var xunitPath: String
        var logPath: String
    }

    var hostSuites: [HostSuite] {
        func suite(_ name: String, _ arguments: [String]) -> HostSuite {
            let xunit = "\(repository.logs)/host-\(name).xml"
            return HostSuite(
                name: name,
                // SwiftPM writes the XCTest report only for a parallel run.
                command: ShellCommand("swift", ["test", "--parallel"] + arguments + ["--xunit-output", xunit]),
                xunitPath: xunit,
                logPath: "\(repository.logs)/host-\(name).log"
            )
        }
        return [
            suite("Core", ["--package-path", repository.corePackage]),
            suite("tool", ["--package-path", repository.root, "--scratch-path", repository.testScratch]),
        ]
    }

    /// SwiftPM writes XCTest results to the named file and Swift Testing results beside it.
    static func xunitFiles(for path: String) -> [String] {
        let base = path.hasSuffix(".xml") ? String(path.dropLast(4)) : path
        return [path, base + "-swift-testing.xml"]
    }

    private func run(_ suite: HostSuite) -> TestCounts {
        let log = repository.relative(suite.logPath)
        RawOutput.note("host \(suite.name): \(suite.command) > \(log)")
        for file in Self.xunitFiles(for: suite.xunitPath) {
            try? FileManager.default.removeItem(atPath: file)
        }
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(suite.command, output: .file(suite.logPath), timeout: hostSuiteTimeout)
        } catch {
            Self.report("FAIL host \(suite.name): \(error)")
            return TestCounts(failed: 1)
        }
        if result.timedOut {
            Self.report("FAIL host \(suite.name): still running after \(hostSuiteTimeout.components.seconds) s; stopped (\(log))")
            Self.reportTail(of: suite.logPath)
            return TestCounts(failed: 1)
        }
        let status = result.status
        let reports = Self.xunitFiles(for: suite.xunitPath).compactMap { path in
            FileManager.default.contents(atPath: path).flatMap(XUnitReport.init(data:))
        }
        var counts = reports.reduce(TestCounts()) { $0 + $1.counts }
        var problems: [String] = reports.flatMap(\.failedTests).map { "test \($0) failed" }
        if reports.isEmpty {
            counts.failed += 1
            problems.append(status == 0
                ? "swift test wrote no xUnit report" : "swift test exited with status \(status) and no report: build failure or crash")
        } else if status != 0, counts.failed == 0 {
            counts.failed += 1
            problems.append("swift test exited with status \(status) though every test passed")
        }
        Self.report("host \(suite.name): \(counts)")
        if !problems.isEmpty {
            for problem in problems {
                Self.report("FAIL host \(suite.name): \(problem) (\(log))")
            }
            Self.reportTail(of: suite.logPath)
        }
        return counts
    }

    // MARK: Guest suites

    private func runGuestSuites() -> TestCounts {
        let kernel: String
        do {
            try QEMUInstaller.ensureInstalled()
            kernel = try prebuiltKernel ?? KernelBuild(repository: repository).run()
        } catch {
            Self.report("FAIL guest: \(error); no guest suite ran")
            return TestCounts(failed: 1)
        }
        let choice = AcceleratorChoice(for: accelerator, on: probe)
        if let warning = choice.warning {
            RawOutput.note("warning: \(warning)")
        }
        if runsOnlyHTTPSuite {
            return HTTPSuite.run(repository: repository, kernel: kernel, accelerator: choice.accelerator)
        }
        let symbolizer = Symbolizer(kernel: kernel, sourceRoot: repository.root)
        var total = TestCounts()
        if let problem = LazyGlobalsCheck.problem(kernel: kernel) {
            Self.report("FAIL \(LazyGlobalsCheck.name): \(problem)")
            total += TestCounts(failed: 1)
        } else {
            Self.report("PASS \(LazyGlobalsCheck.name)")
            total += TestCounts(passed: 1)
        }
        for configuration in configurations {
            let qemu = QEMUConfiguration(
                kernel: kernel, cores: configuration.cores, memory: configuration.memory,
                accelerator: choice.accelerator, kernelArguments: configuration.kernelArguments,
                initrd: KernelBuild.existingBootImage(for: kernel), numaNodes: configuration.numaNodes, hasNetwork: true
            )
            total += run(configuration, qemu, symbolizer)
        }
        total += ConsoleSmokeTest.run(repository: repository, kernel: kernel, accelerator: choice.accelerator)
        total += TerminalSmokeTest.run(repository: repository, kernel: kernel, accelerator: choice.accelerator)
        total += ProgramTests.run(repository: repository, kernel: kernel, accelerator: choice.accelerator)
        total += TraceSmokeTest.run(repository: repository, kernel: kernel, accelerator: choice.accelerator)
        total += StoppedCoreTest.run(repository: repository, kernel: kernel, accelerator: choice.accelerator)
        total += HTTPSuite.run(repository: repository, kernel: kernel, accelerator: choice.accelerator)
        return total
    }

    private func run(
        _ configuration: GuestConfiguration, _ qemu: QEMUConfiguration, _ symbolizer: Symbolizer
    ) -> TestCounts {
        let logPath = "\(repository.logs)/guest-\(configuration).log"
        let log = repository.relative(logPath)
        RawOutput.note("guest \(configuration): \(qemu.command) > \(log)")
        let ending: GuestEnding
        do {
            ending = try GuestBoot.run(qemu, log: logPath, timeout: timeout)
        } catch {
            Self.report("FAIL guest \(configuration): \(error)")
            return TestCounts(failed: 1)
        }
        let text = (FileManager.default.contents(atPath: logPath)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let console = GuestConsoleLog(text)
        let verdict = GuestVerdict(configuration: configuration, log: console, ending: ending)
        Self.report("guest \(configuration): \(verdict.counts)")
        if !verdict.isSuccess {
            for failure in console.failedTests {
                Self.report("FAIL guest \(configuration): test \(failure)")
            }
            for problem in verdict.problems {
                Self.report("FAIL guest \(configuration): \(problem.reason) (\(log))")
            }
            Self.reportTail(of: logPath)
            for panic in console.panics {
                let frames = symbolizer.describe(panic)
                if !frames.isEmpty {
                    Self.report("  \(panic.headline)")
                    frames.forEach { Self.report($0) }
                }
            }
            for fault in console.faults {
                Self.report("  \(fault.line)")
                symbolizer.describe(fault).forEach { Self.report($0) }
            }
        }
        return verdict.counts
    }

    // MARK: Output

    /// A result line, on standard output, unbuffered so that it interleaves correctly
    /// with notes on standard error.
    static func report(_ line: String) {
        RawOutput.write(line + "\n", to: STDOUT_FILENO)
    }

    /// The end of a log, each line marked so that none reads as a result line.
    static func reportTail(of path: String) {
        let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        var lines = text.lines
        if lines.last == "" { lines.removeLast() }
        report("  last \(min(lines.count, tailLength)) lines of \(path):")
        for line in lines.suffix(tailLength) {
            report("  | " + line)
        }
    }
}
