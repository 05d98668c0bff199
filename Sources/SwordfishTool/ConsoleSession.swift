import Foundation

/// `swordfish run`: QEMU attached to the user's terminal (or to pipes).
///
/// Three threads share the work. The output pump copies the serial console to standard
/// output, a line at a time, and watches it: the first shell prompt gives the boot time,
/// a panic gets its backtrace symbolized and a user thread's fault its `rip`, and a panic
/// on core 0 (the shell's core) stops QEMU a second later. The input pump sends standard
/// input to the guest. The calling thread waits for QEMU to exit and turns its status
/// into the tool's.
///
/// Input from a terminal is sent key by key in raw mode, with Ctrl-A x to quit as in
/// QEMU's own console. Input from a pipe is sent a line at a time, each line only once
/// the guest shows a new prompt: the guest's UART holds a few bytes at most, and a script
/// reads as a transcript this way (see `PipedInput`). At the end of piped input the tool
/// closes QEMU's standard input and waits for the guest to stop QEMU (its `halt` command
/// does). A timeout, when given, stops QEMU in either case.
public final class ConsoleSession: @unchecked Sendable {
    enum StopReason: Equatable {
        case userQuit
        case panicOnBootCore
        case timedOut(Duration)
    }

    /// The tool's exit status when the timeout stopped QEMU: `timeout(1)`'s, so that a
    /// script can tell a hang from a failure the guest reported.
    static let timeoutStatus: Int32 = 124

    private static let controlA: UInt8 = 0x01
    private let qemu: QEMUProcess
    private let symbolizer: Symbolizer
    private let timeout: Duration?
    /// A shell line sent at the first prompt, before any input (`run --http`: `httpd`).
    private let startupLine: String?
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var promptsSeen = 0
    private var qemuHasExited = false
    private var stopReason: StopReason?
    private var consoleBytes = 0
    private var bootCorePanicked = false

    /// - Parameter timeout: how long QEMU may run before the session stops it.
    public init(configuration: QEMUConfiguration, symbolizer: Symbolizer, timeout: Duration? = nil, startupLine: String? = nil) {
        self.qemu = QEMUProcess(configuration: configuration, input: .pipe, mergesStandardError: false)
        self.symbolizer = symbolizer
        self.timeout = timeout
        self.startupLine = startupLine
    }

    /// Boots the guest and returns the tool's exit status once QEMU has exited.
    public func run() throws(ToolError) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        ChildProcesses.shared.stopChildrenOnSignals()
        let terminal = RawTerminal()
        let cleanup = ChildProcesses.shared.addCleanup { terminal?.restore() }
        defer {
            terminal?.restore()
            ChildProcesses.shared.removeCleanup(cleanup)
        }

        let configuration = qemu.configuration
        RawOutput.note("\(configuration.command)")
        if configuration.waitsForDebugger {
            RawOutput.note(configuration.debuggerInstructions)
        }
        if terminal != nil {
            RawOutput.note("Ctrl-A x quits")
        }
        try qemu.start()
        if let timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(timeout / .milliseconds(1)))) { [self] in
                guard !condition.withLock({ qemuHasExited }) else { return }
                if isatty(STDOUT_FILENO) == 1, isatty(STDERR_FILENO) == 1 {
                    // QEMU's parting words and the tool's go below the prompt, not after it.
                    RawOutput.write("\n", to: STDERR_FILENO)
                }
                stop(.timedOut(timeout))
            }
        }

        let outputDone = DispatchSemaphore(value: 0)
        Thread { [self] in
            pumpOutput()
            outputDone.signal()
        }.start()
        let interactive = terminal != nil
        Thread { [self] in
            if interactive { pumpKeys() } else { pumpLines() }
        }.start()

        _ = qemu.waitForExit()
        condition.withLock {
            qemuHasExited = true
            condition.broadcast()
        }
        _ = outputDone.wait(timeout: .now() + 2)
        terminal?.restore()
        return exitStatus()
    }

    private func exitStatus() -> Int32 {
        let (reason, bytes) = condition.withLock { (stopReason, consoleBytes) }
        let ending = Self.ending(stoppedBecause: reason, qemuStatus: qemu.status, consoleBytes: bytes)
        if let note = ending.note {
            RawOutput.note(note)
        }
        return ending.status
    }

    /// The tool's exit status, and what to say about it, for a session that QEMU ended
    /// with `qemuStatus` after the tool stopped it for `reason` (nil: it was not stopped).
    static func ending(stoppedBecause reason: StopReason?, qemuStatus status: Int32, consoleBytes: Int) -> (status: Int32, note: String?) {
        switch reason {
        case .userQuit:
            return (0, nil)
        case .panicOnBootCore:
            return (1, "the kernel panicked on core 0; QEMU stopped")
        case .timedOut(let timeout):
            return (timeoutStatus, "stopped QEMU after \(timeout.components.seconds) s (--timeout)")
        case nil:
            if status == 1, consoleBytes == 0 {
                return (1, "QEMU exited with status 1 before the guest printed anything")
            }
            let note = status == 1 || status == 3 ? nil : "QEMU exited with status \(status) without the guest writing to isa-debug-exit"
            return (QEMUExitStatus.toolStatus(forQEMUStatus: status), note)
        }
    }

    /// Stops QEMU for `reason`, unless it has exited already (its own reason stands).
    private func stop(_ reason: StopReason) {
        let stops = condition.withLock { () -> Bool in
            guard !qemuHasExited else { return false }
            if stopReason == nil { stopReason = reason }
            return true
        }
        if stops {
            qemu.stop()
        }
    }

    // MARK: Output

    private func pumpOutput() {
        var scanner = ConsoleScanner()
        var panics = PanicCollector()
        while let chunk = qemu.readOutput() {
            condition.withLock { consoleBytes += chunk.count }
            // Line by line, so that anything the tool adds follows the line it is about.
            var start = chunk.startIndex
            while start < chunk.endIndex {
                let end = chunk[start...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? chunk.endIndex
                let piece = chunk[start..<end]
                piece.withUnsafeBytes { RawOutput.write($0, to: STDOUT_FILENO) }
                for event in scanner.consume(piece) {
                    handle(event, &panics)
                }
                start = end
            }
        }
        for event in scanner.finish() {
            handle(event, &panics)
        }
        if let report = panics.finish() {
            printSymbolized(report)
        }
    }

    private func handle(_ event: ConsoleScanner.Event, _ panics: inout PanicCollector) {
        switch event {
        case .prompt:
            let isFirst = condition.withLock { () -> Bool in
                promptsSeen += 1
                condition.broadcast()
                return promptsSeen == 1
            }
            if isFirst {
                let elapsed = ContinuousClock.now - qemu.startTime
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let configuration = qemu.configuration
                let cores = configuration.cores == 1 ? "1 core" : "\(configuration.cores) cores"
                let note = "shell after \(String(format: "%.2f", seconds)) s (\(cores), \(configuration.accelerator))"
                if isatty(STDOUT_FILENO) == 1, isatty(STDERR_FILENO) == 1 {
                    // The cursor sits after the prompt: give the note a line of its own,
                    // then show the prompt again.
                    RawOutput.write("\n", to: STDERR_FILENO)
                    RawOutput.note(note)
                    RawOutput.write(String(decoding: ConsoleScanner.prompt, as: UTF8.self), to: STDOUT_FILENO)
                } else {
                    RawOutput.note(note)
                }
            }
        case .line(let line):
            if PanicLine.isHeadline(line), (PanicLine.core(inHeadline: line) ?? 0) == 0 {
                let isFirst = condition.withLock { () -> Bool in
                    defer { bootCorePanicked = true }
                    return !bootCorePanicked
                }
                if isFirst {
                    DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [self] in
                        stop(.panicOnBootCore)
                    }
                }
            }
            if let report = panics.consume(line) {
                printSymbolized(report)
            }
            if let fault = UserFaultReport(parsing: line) {
                printLines(symbolizer.describe(fault))
            }
        }
    }

    private func printSymbolized(_ report: PanicReport) {
        printLines(symbolizer.describe(report))
    }

    private func printLines(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        RawOutput.write(lines.joined(separator: "\n") + "\n", to: STDOUT_FILENO)
    }

    // MARK: Input

    /// Reads the tool's standard input; nil at end of file or on error.
    private func readInput() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count > 0 { return Array(buffer[..<count]) }
            if count < 0, errno == EINTR { continue }
            return nil
        }
    }

    /// Sends `startupLine` at the first prompt; false if QEMU exited first.
    private func sendStartupLine() -> Bool {
        guard let startupLine else { return true }
        let ready = condition.withLock { () -> Bool in
            while promptsSeen == 0, !qemuHasExited {
                condition.wait()
            }
            return !qemuHasExited
        }
        return ready && qemu.send(Array((startupLine + "\n").utf8))
    }

    /// Terminal input: every key to the guest, except the Ctrl-A commands.
    private func pumpKeys() {
        guard sendStartupLine() else { return }
        var afterControlA = false
        while let keys = readInput() {
            var forward: [UInt8] = []
            for key in keys {
                guard afterControlA else {
                    if key == Self.controlA { afterControlA = true } else { forward.append(key) }
                    continue
                }
                afterControlA = false
                switch key {
                case UInt8(ascii: "x"), UInt8(ascii: "X"):
                    qemu.send(forward)
                    RawOutput.write("\n", to: STDERR_FILENO)
                    stop(.userQuit)
                    return
                case Self.controlA:
                    forward.append(Self.controlA)
                case UInt8(ascii: "h"), UInt8(ascii: "?"):
                    RawOutput.write("\nswordfish: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A\n", to: STDERR_FILENO)
                default:
                    forward += [Self.controlA, key]
                }
            }
            guard qemu.send(forward) else { return }
        }
        qemu.closeInput()
    }

    /// Piped input: one line per prompt, a Ctrl-C at once, then end of file.
    private func pumpLines() {
        var input = PipedInput()
        var linesSent = 0
        guard sendStartupLine() else { return }
        if startupLine != nil { linesSent = 1 }
        func send(_ piece: PipedInput.Piece) -> Bool {
            guard case .line(let line) = piece else {
                return qemu.send([PipedInput.interrupt])
            }
            let ready = condition.withLock { () -> Bool in
                while promptsSeen <= linesSent, !qemuHasExited {
                    condition.wait()
                }
                return !qemuHasExited
            }
            linesSent += 1
            return ready && qemu.send(line)
        }
        while let bytes = readInput() {
            for piece in input.consume(bytes) {
                guard send(piece) else { return }
            }
        }
        for piece in input.finish() {
            guard send(piece) else { return }
        }
        qemu.closeInput()
    }
}
