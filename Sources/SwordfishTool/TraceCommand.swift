// `swordfish trace`: boots, turns every core's trace on, runs shell command lines, turns
// it off, then stops the guest and copies each core's buffer out of guest memory through
// QEMU's monitor (`pmemsave`, at the addresses the kernels printed), and writes one
// timeline (TraceTimeline.swift) that Perfetto (ui.perfetto.dev) and chrome://tracing
// open. docs/tracing.md has the events and what they cost.
import ArgumentParser
import Foundation
import Trace

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Trace every core while shell commands run; write a Perfetto / Chrome trace.",
        discussion: """
            Each argument after -- is one shell command line, run in order with tracing on: \
            swordfish trace --cores 4 -- multicast "spawn 2 hello". Prints a summary (messages \
            per channel, the busiest core, the longest waits) and writes the trace (JSON, the \
            Trace Event Format) to --output.
            """
    )

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var boot: BootOptions

    @Option(help: ArgumentHelp("Where the trace goes.", valueName: "file"))
    var output = "results/trace.json"

    @Option(help: ArgumentHelp("Give up this many seconds after QEMU starts.", valueName: "seconds"))
    var timeout = 300

    @Argument(parsing: .postTerminator, help: "Shell command lines to run while tracing.")
    var commands: [String] = []

    func validate() throws {
        guard !commands.isEmpty else { throw ValidationError("give the shell command lines to trace after --") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        ChildProcesses.shared.stopChildrenOnSignals()
        let repository = try repository.locate()
        try QEMUInstaller.ensureInstalled()
        let kernel = try KernelBuild(repository: repository).run()
        let timeline = try TraceSession(configuration: boot.configuration(kernel: kernel), commands: commands,
                                        log: "\(repository.logs)/trace.log", timeout: .seconds(timeout)).run()
        let path = output.hasPrefix("/") ? output : "\(repository.root)/\(output)"
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try timeline.json().write(to: URL(fileURLWithPath: path))
        for line in timeline.summary() { print(line) }
        print("written: \(repository.relative(path)) (open it at ui.perfetto.dev or chrome://tracing)")
    }
}

/// One traced boot: the shell fed `trace on`, the commands and `trace off`, a line per
/// prompt; then the buffers saved through QEMU's monitor and QEMU ended.
struct TraceSession {
    var configuration: QEMUConfiguration
    var commands: [String]
    var log: String
    var timeout: Duration

    /// Where a core's buffer lies, from a `trace: core <n> buffer <address> bytes <count>`
    /// line; nil for any other line.
    static func buffer(in line: String) -> (core: Int, address: UInt64, bytes: Int)? {
        let words = line.split(separator: " ")
        guard words.count >= 7, words[0] == "trace:", words[1] == "core", words[3] == "buffer", words[5] == "bytes",
              let core = Int(words[2]), words[4].hasPrefix("0x"), let address = UInt64(words[4].dropFirst(2), radix: 16),
              let bytes = Int(words[6]), bytes > 0 else { return nil }
        return (core, address, bytes)
    }

    func run() throws(ToolError) -> TraceTimeline {
        let directory = NSTemporaryDirectory() + "swordfish-trace-\(getpid())"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = configuration
        configuration.monitorSocket = "\(directory)/monitor.sock"
        try? FileManager.default.createDirectory(atPath: (log as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: log, contents: nil), let logFile = FileHandle(forWritingAtPath: log) else {
            throw .fileNotWritable(path: log, reason: "cannot create the file")
        }
        let qemu = QEMUProcess(configuration: configuration, input: .pipe, mergesStandardError: true)
        try qemu.start()
        let lines = ["trace on"] + commands + ["trace off"]
        let finished = DispatchSemaphore(value: 0), outputDone = DispatchSemaphore(value: 0)
        // However this ends, QEMU goes and the reader is done with the log before it closes.
        defer {
            qemu.stop()
            _ = outputDone.wait(timeout: .now() + 5)
            try? logFile.close()
        }
        let collected = Collected()
        Thread {
            var scanner = ConsoleScanner()
            var next = 0
            // The line sent last, until the shell echoes it: a prompt the shell prints
            // again around other output before that is not the answer's end.
            var unechoed: String? = nil
            while let chunk = qemu.readOutput() {
                logFile.write(Data(chunk))
                for event in scanner.consume(chunk) {
                    switch event {
                    case .line(let line):
                        collected.add(line)
                        if let sent = unechoed, line.hasSuffix(sent) { unechoed = nil }
                        if PanicLine.isHeadline(line) { finished.signal() }
                    case .prompt where unechoed == nil:
                        guard next < lines.count else {
                            finished.signal()
                            continue
                        }
                        _ = qemu.send(Array((lines[next] + "\n").utf8))
                        unechoed = lines[next]
                        next += 1
                    case .prompt:
                        break
                    }
                }
            }
            finished.signal()
            outputDone.signal()
        }.start()

        guard finished.wait(timeout: .now() + .milliseconds(Int(timeout / .milliseconds(1)))) == .success else {
            throw .traceFailed("the commands did not finish within \(timeout); the console is in \(log)")
        }
        // Every core answered `trace off` with where its buffer lies.
        var latest: [Int: (address: UInt64, bytes: Int)] = [:]
        for line in collected.lines where line.hasSuffix(" off") {
            if let buffer = Self.buffer(in: line) { latest[buffer.core] = (buffer.address, buffer.bytes) }
        }
        guard !latest.isEmpty else {
            throw .traceFailed("no core reported a trace buffer at `trace off`; the console is in \(log)")
        }
        let monitor = try QEMUMonitor(path: configuration.monitorSocket!)
        var dumps: [TraceDump] = [], unreadable: [(core: Int, reason: String)] = []
        try monitor.run("stop")
        for (core, region) in latest.sorted(by: { $0.key < $1.key }) {
            let file = "\(directory)/core-\(core).bin"
            try monitor.run("pmemsave 0x\(String(region.address, radix: 16)) \(region.bytes) \"\(file)\"")
            let bytes = FileManager.default.contents(atPath: file).map { [UInt8]($0) } ?? []
            do throws(TraceDump.Failure) {
                let dump = try TraceDump.decode(bytes)
                guard dump.core == core else {
                    unreadable.append((core, "its buffer names core \(dump.core)"))
                    continue
                }
                dumps.append(dump)
            } catch {
                unreadable.append((core, "bad trace data (\(error))"))
            }
        }
        for core in 0..<configuration.cores where latest[core] == nil && !unreadable.contains(where: { $0.core == core }) {
            unreadable.append((core, "no buffer reported"))
        }
        monitor.quit()
        _ = qemu.waitForExit(timeout: .seconds(5))
        return TraceTimeline(dumps, unreadable: unreadable)
    }
}

/// Console lines, from the reader thread.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
