import Foundation

/// `swordfish run`: QEMU attached to the user's terminal (or to pipes).
///
/// Three threads share the work. The output pump copies the serial console to standard
/// output, a line at a time, and watches it: the first shell prompt gives the boot time,
/// a panic gets its backtrace symbolized, and a panic on core 0 (the shell's core) stops
/// QEMU a second later. The input pump sends standard input to the guest. The calling
/// thread waits for QEMU to exit and turns its status into the tool's.
///
/// Input from a terminal is sent key by key in raw mode, with Ctrl-A x to quit as in
/// QEMU's own console. Input from a pipe is sent a line at a time, each line only once
/// the guest shows a new prompt: the guest's UART holds a few bytes at most, and a script
/// reads as a transcript this way. Ctrl-C at the start of a line is sent at once: it is
/// for the program still running, which holds the prompt back. At the end of piped input
/// the tool closes QEMU's standard input and waits for the guest to stop QEMU (its `halt`
/// command does).
public final class ConsoleSession: @unchecked Sendable {
    enum StopReason: Equatable {
        case userQuit
        case panicOnBootCore
    }

    private static let controlA: UInt8 = 0x01
    private static let controlC: UInt8 = 0x03
    private let qemu: QEMUProcess
    private let symbolizer: Symbolizer
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var promptsSeen = 0
    private var qemuHasExited = false
    private var stopReason: StopReason?
    private var consoleBytes = 0
    private var bootCorePanicked = false

    public init(configuration: QEMUConfiguration, symbolizer: Symbolizer) {
        self.qemu = QEMUProcess(configuration: configuration, input: .pipe, mergesStandardError: false)
        self.symbolizer = symbolizer
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
        switch reason {
        case .userQuit:
            return 0
        case .panicOnBootCore:
            RawOutput.note("the kernel panicked on core 0; QEMU stopped")
            return 1
        case nil:
            let status = qemu.status
            if status == 1, bytes == 0 {
                RawOutput.note("QEMU exited with status 1 before the guest printed anything")
                return 1
            }
            if status != 1, status != 3 {
                RawOutput.note("QEMU exited with status \(status) without the guest writing to isa-debug-exit")
            }
            return QEMUExitStatus.toolStatus(forQEMUStatus: status)
        }
    }

    private func stop(_ reason: StopReason) {
        condition.withLock {
            if stopReason == nil { stopReason = reason }
        }
        qemu.stop()
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
        }
    }

    private func printSymbolized(_ report: PanicReport) {
        let lines = symbolizer.describe(report)
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

    /// Terminal input: every key to the guest, except the Ctrl-A commands.
    private func pumpKeys() {
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

    /// Piped input: one line per prompt (Ctrl-C before a line at once), then end of file.
    private func pumpLines() {
        var pending: [UInt8] = []
        var linesSent = 0
        func sendAfterPrompt(_ line: ArraySlice<UInt8>) -> Bool {
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
            pending += bytes
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let interrupts = pending[...newline].prefix { $0 == Self.controlC }
                guard interrupts.isEmpty || qemu.send(interrupts) else { return }
                let line = pending[interrupts.endIndex...newline]
                guard sendAfterPrompt(line) else { return }
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty {
            guard sendAfterPrompt(pending[...]) else { return }
        }
        qemu.closeInput()
    }
}
