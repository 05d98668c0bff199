import ArgumentParser
import Foundation
import Synchronization

/// `swordfish bench` (and `bench all`): Swordfish and a stock Linux booted one after the
/// other under the same QEMU options, each running the same operations, then the host
/// benchmark on real cores; one table of all of it.
struct BenchAll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Run every benchmark (the default).",
        discussion: """
            Boots the Swordfish kernel with `-append bench` and Debian's Linux kernel (fetched \
            with apt-get download into ~/.cache/swordfish, never into the repository) with a \
            small initramfs running Benchmarks/Linux/swordfish-bench.c, under the same \
            accelerator, CPU model, core count and memory; then runs swordfish-hostbench on \
            this machine's cores. Prints one table (or, with --json, the JSON) and always \
            writes results/bench.json and results/bench.svg; the guests' consoles go to \
            results/logs/bench-swordfish.log and bench-linux.log. Exits 1 when a side failed.
            """
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(help: "Number of cores of both guests.")
    var cores = 2

    @Option(help: "Guest RAM of both guests: a whole number of MiB or GiB such as 512M or 1G. (default: 512M)", transform: { text in
        try MemorySize(parsing: text)
    })
    var memory = MemorySize(mebibytes: 512)!

    @Option(help: "Accelerator: auto picks kvm only where KVM is hardware (kvm_intel or kvm_amd loaded), else tcg.")
    var accel = AcceleratorRequest.auto

    @Flag(help: "A short run: a tenth of the samples.")
    var quick = false

    @Flag(help: "Print the report as JSON instead of the table.")
    var json = false

    @Flag(help: "Under TCG, count instructions (QEMU -icount shift=0): the TSC then counts instructions, so figures are path lengths. Implies --accel tcg.")
    var icount = false

    @Option(help: ArgumentHelp("Boot this Swordfish ELF instead of building Kernel/.", valueName: "elf"))
    var kernel: String?

    func validate() throws {
        guard (1...255).contains(cores) else {
            throw ValidationError("--cores must be between 1 and 255")
        }
        if icount, accel == .kvm {
            throw ValidationError("--icount counts instructions under TCG; it cannot be used with --accel kvm")
        }
    }

    func run() throws {
        ChildProcesses.shared.stopChildrenOnSignals()
        let repository = try repository.locate()
        var bench = BenchRun(repository: repository)
        bench.cores = cores
        bench.memory = memory
        // Instructions are counted under TCG only; `validate` refused --accel kvm.
        let choice = AcceleratorChoice(for: icount ? .tcg : accel, on: .live)
        if let warning = choice.warning {
            RawOutput.note("warning: \(warning)")
        }
        bench.accelerator = choice.accelerator
        bench.countsInstructions = icount
        bench.quick = quick
        bench.prebuiltKernel = try kernel.map(KernelBuild.existing)
        bench.command = (["swordfish", "bench"] + CommandLine.arguments.dropFirst().drop { $0 == "bench" || $0 == "all" })
            .map(ShellQuoting.quote).joined(separator: " ")
        let report = bench.run()
        try bench.write(report, to: "\(repository.root)/results/bench")
        RawOutput.write(json ? report.json : report.table, to: STDOUT_FILENO)
        if !report.problems.isEmpty {
            throw ExitCode.failure
        }
    }
}

/// One run of every benchmark, as `swordfish bench` and the smoke test make it.
///
/// It always ends with a report: a side that fails (an image that cannot be built, a
/// guest that hangs) leaves its column saying so, and a problem in the report.
public struct BenchRun: Sendable {
    public var repository: Repository
    public var cores = 2
    public var memory = MemorySize(mebibytes: 512)!
    public var accelerator = Accelerator.tcg
    public var countsInstructions = false
    public var quick = false
    /// Boot this Swordfish ELF instead of building the kernel.
    public var prebuiltKernel: String?
    public var runsHostBenchmark = true
    public var linuxCache = LinuxGuest.defaultCache()
    /// Console logs go to `results/logs/<logName>-swordfish.log` and `-linux.log`.
    public var logName = "bench"
    /// The command line recorded in the report.
    public var command: String?

    public init(repository: Repository) {
        self.repository = repository
    }

    /// The Swordfish kernel's command line.
    public var swordfishArguments: String { quick ? "bench quick" : "bench" }

    /// How long each guest may take before it is stopped. A quick Linux run takes about
    /// a minute under TCG on two host cores, most of it booting; one thread for every
    /// CPU (`-icount`) is slower.
    var guestTimeout: Duration {
        var seconds = quick ? 150 : 900
        if countsInstructions { seconds *= 3 }
        return .seconds(seconds)
    }

    func configuration(kernel: String, initrd: String? = nil, arguments: String) -> QEMUConfiguration {
        QEMUConfiguration(kernel: kernel, cores: cores, memory: memory, accelerator: accelerator,
                          kernelArguments: arguments, initrd: initrd, countsInstructions: countsInstructions)
    }

    public func run() -> BenchReport {
        try? FileManager.default.createDirectory(atPath: repository.logs, withIntermediateDirectories: true)
        var qemuMissing: String?
        do { try QEMUInstaller.ensureInstalled() } catch { qemuMissing = "\(error)" }

        // The images first, so that the guests run back to back.
        var swordfishKernel: String?
        var linuxImage: LinuxGuest.Image?
        var swordfish = BenchSide.missing(qemuMissing ?? "not run")
        var linux = BenchSide.missing(qemuMissing ?? "not run")
        do {
            swordfishKernel = try prebuiltKernel ?? KernelBuild(repository: repository).run()
        } catch {
            swordfish = .missing("kernel build: \(error)")
        }
        do {
            linuxImage = try LinuxGuest(repository: repository, cache: linuxCache).prepare()
        } catch {
            linux = .missing("image: \(error)")
        }
        let linuxArguments = LinuxGuest.commandLine(quick: quick, countsInstructions: countsInstructions)
        if qemuMissing == nil, let swordfishKernel {
            swordfish = boot("Swordfish", configuration(kernel: swordfishKernel, initrd: KernelBuild.existingBootImage(for: swordfishKernel),
                                                        arguments: swordfishArguments), log: "swordfish")
            // http-requests: a boot of its own, to the shell, with the network and httpd.
            swordfish.console.consume(HTTPBench.measure(
                configuration(kernel: swordfishKernel, initrd: KernelBuild.existingBootImage(for: swordfishKernel), arguments: ""),
                command: "httpd", ready: "httpd: serving", log: "\(repository.logs)/\(logName)-http-swordfish.log", quick: quick))
        }
        if qemuMissing == nil, let linuxImage {
            linux = boot("Linux", configuration(kernel: linuxImage.kernel, initrd: linuxImage.initrd, arguments: linuxArguments), log: "linux")
            linux.console.consume(HTTPBench.measure(
                configuration(kernel: linuxImage.kernel, initrd: linuxImage.initrd, arguments: LinuxGuest.httpCommandLine),
                command: nil, ready: "httpd: serving", log: "\(repository.logs)/\(logName)-http-linux.log", quick: quick))
        }
        var host: [HostBenchRow]?
        var hostProblem: String?
        if runsHostBenchmark {
            (host, hostProblem) = runHostBenchmark()
        }
        // Both guests differ only in what they boot; the line shown is what they share.
        let shared = BenchReport.sharedOptions(of: configuration(kernel: "", arguments: "").command)
        var report = BenchReport(
            qemu: "\(shared)", swordfish: swordfish, linux: linux, host: host, hostProblem: hostProblem,
            linuxRelease: linuxImage?.release, command: command)
        report.swordfishArguments = swordfishArguments
        report.linuxArguments = linuxArguments
        if countsInstructions {
            report.notes += [
                "-icount: the TSC counts instructions (1 per cycle); QEMU runs the CPUs one at a time in turn, so cross-core rows measure its turns, not the operation.",
                "-icount: Linux runs with nosmp (QEMU hangs bringing up its second CPU under -icount), so its cross-core rows are unsupported.",
            ]
        }
        return report
    }

    /// Boots one guest and reads its `BENCH` lines. A guest that shows a shell prompt
    /// before any `BENCH` line has no benchmark mode and is stopped at once; one that
    /// printed `BENCH done` but does not end QEMU is stopped ten seconds later.
    func boot(_ name: String, _ qemu: QEMUConfiguration, log: String) -> BenchSide {
        let path = "\(repository.logs)/\(logName)-\(log).log"
        RawOutput.note("\(name) guest: \(qemu.command) > \(repository.relative(path))")
        let started = ContinuousClock.now
        let ending: GuestEnding
        let benchLines = Mutex(0)
        do {
            ending = try GuestBoot.run(qemu, log: path, timeout: guestTimeout) { event in
                switch event {
                case .prompt:
                    return benchLines.withLock { $0 } == 0 ? .zero : nil
                case .line(let line):
                    guard let bench = BenchLine(line) else { return nil }
                    benchLines.withLock { $0 += 1 }
                    return bench == .done ? .seconds(10) : nil
                }
            }
        } catch {
            return .missing("\(error)")
        }
        let text = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let side = BenchSide(console: BenchConsole(text), ending: ending)
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        RawOutput.note("\(name) guest: \(Self.describe(side.outcome)) after \(String(format: "%.1f", elapsed)) s")
        return side
    }

    static func describe(_ outcome: BenchSideOutcome) -> String {
        switch outcome {
        case .finished: return "finished"
        case .notImplemented: return "no benchmark mode (reached its shell)"
        case .failed(let why): return why
        }
    }

    /// `swordfish-hostbench` (built in release by `HostBenchmarkBuild`) and its rows.
    func runHostBenchmark() -> (rows: [HostBenchRow]?, problem: String?) {
        do {
            let executable = try HostBenchmarkBuild(repository: repository).run()
            let command = HostBenchmarkBuild.runCommand(executable: executable, quick: quick)
            RawOutput.note("host: \(command)")
            let result = try Subprocess.run(command, output: .capture)
            guard result.status == 0 else { return (nil, "\(command) failed with status \(result.status)") }
            let report = try HostBenchmarkReport(json: result.captured)
            return (report.rows.map(HostBenchRow.init), nil)
        } catch {
            return (nil, "\(error)")
        }
    }

    /// Writes `<base>.json` and `<base>.svg`.
    public func write(_ report: BenchReport, to base: String) throws(ToolError) {
        let folder = URL(fileURLWithPath: base).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (path, text) in [("\(base).json", report.json), ("\(base).svg", report.svg)] {
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                throw .fileNotWritable(path: path, reason: "cannot create the file")
            }
            RawOutput.note("wrote \(repository.relative(path))")
        }
    }
}

/// The check `swordfish test` makes of the benchmarks: not their figures, only that
/// `swordfish bench --quick` completes and its report is well formed.
public enum BenchSmokeTest {
    /// One quick run (consoles and report under `results/logs/bench-smoke*`, leaving
    /// `results/bench.*` to real runs), counted as five tests: each guest finished, the
    /// host benchmark gave rows, the JSON is well formed, the SVG is well formed. Prints
    /// a `bench: N passed, M failed` line and a `FAIL bench: …` line per failure.
    public static func run(
        repository: Repository, accelerator: AcceleratorRequest = .auto, kernel: String? = nil,
        probe: HostProbe = .live
    ) -> TestCounts {
        var bench = BenchRun(repository: repository)
        bench.quick = true
        bench.accelerator = AcceleratorChoice(for: accelerator, on: probe).accelerator
        bench.prebuiltKernel = kernel
        bench.logName = "bench-smoke"
        bench.command = "swordfish bench --quick"
        let report = bench.run()
        let base = "\(repository.logs)/bench-smoke"
        var written: [String] = []
        do { try bench.write(report, to: base) } catch { written.append("\(error)") }

        var checks: [(String, [String])] = []
        for (side, column) in [("Swordfish", "swordfish"), ("Linux", "linux")] {
            let problems = report.problems.filter { $0.hasPrefix("\(side) guest:") }
            checks.append(("\(column) guest finished", problems))
        }
        checks.append(("host rows", report.problems.filter { $0.hasPrefix("host:") }))
        let json = FileManager.default.contents(atPath: "\(base).json") ?? Data()
        checks.append(("bench.json well formed", written + BenchReport.problems(inJSON: json)))
        let svg = FileManager.default.contents(atPath: "\(base).svg") ?? Data()
        checks.append(("bench.svg well formed", written + BenchReport.problems(inSVG: svg)))

        var counts = TestCounts()
        for (name, problems) in checks {
            if problems.isEmpty {
                counts.passed += 1
            } else {
                counts.failed += 1
                for problem in problems {
                    TestRunner.report("FAIL bench: \(name): \(problem)")
                }
            }
        }
        TestRunner.report("bench: \(counts)")
        if counts.failed > 0 {
            TestRunner.report(report.table.lines.map { "  | " + $0 }.joined(separator: "\n"))
        }
        return counts
    }
}
