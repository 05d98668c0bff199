import Foundation

/// Input a test sends once the console shows a line containing `cue`, as someone at a
/// terminal answers what they see.
struct ConsoleReply: Sendable {
    var cue: String
    var bytes: [UInt8]
}

/// One unattended test boot: QEMU with no input (or bytes written to it all at once as
/// it starts, and replies to what it prints), its console (and its own messages) saved
/// to a log, stopped when it runs past a timeout or a second after a panic.
enum GuestBoot {
    /// - Parameter replies: sent in order, each once a console line contains its cue;
    ///   QEMU's input closes after the last.
    /// - Parameter stopAfter: asked about each console line and prompt; one for which it
    ///   returns a duration stops QEMU that long afterwards, as a panic does (`swordfish
    ///   bench` uses it for a guest that ignores its command line, or forgets to exit).
    /// - Parameter panicStops: whether a panic stops QEMU (a second later); not when the
    ///   test stops a core on purpose and watches the others go on.
    /// - Parameter whenLine: once a console line contains `cue`, `action` runs on a
    ///   thread of its own with a way to send QEMU input (the input stays open for it).
    static func run(
        _ configuration: QEMUConfiguration, log path: String, timeout: Duration, input: [UInt8]? = nil,
        replies: [ConsoleReply] = [], panicStops: Bool = true,
        whenLine: (cue: String, action: @Sendable (_ send: @Sendable ([UInt8]) -> Bool) -> Void)? = nil,
        stopAfter: @escaping @Sendable (ConsoleScanner.Event) -> Duration? = { _ in nil }
    ) throws(ToolError) -> GuestEnding {
        // The log's folder (results/logs) need not exist yet on a fresh clone.
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let log = FileHandle(forWritingAtPath: path) else {
            throw .fileNotWritable(path: path, reason: "cannot create the file")
        }
        defer { try? log.close() }
        let qemu = QEMUProcess(configuration: configuration, input: input == nil && replies.isEmpty && whenLine == nil ? .none : .pipe,
                               mergesStandardError: true)
        let panicked = PanicFlag()
        try qemu.start()
        if let input {
            _ = qemu.send(input)
        }
        if replies.isEmpty, whenLine == nil {
            qemu.closeInput()
        }

        let outputDone = DispatchSemaphore(value: 0)
        Thread {
            var scanner = ConsoleScanner()
            var unsent = replies[...]
            var waitingFor = whenLine
            while let chunk = qemu.readOutput() {
                log.write(Data(chunk))
                for event in scanner.consume(chunk) {
                    if case .line(let line) = event, let (cue, action) = waitingFor, line.contains(cue) {
                        waitingFor = nil
                        Thread { action { qemu.send($0) } }.start()
                    }
                    if case .line(let line) = event, let reply = unsent.first, line.contains(reply.cue) {
                        _ = qemu.send(reply.bytes)
                        unsent.removeFirst()
                        if unsent.isEmpty { qemu.closeInput() }
                    }
                    if let delay = stopAfter(event) {
                        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(delay / .milliseconds(1)))) { qemu.stop() }
                    }
                    // Let the rest of the report (registers, backtrace) reach the log.
                    if panicStops, case .line(let line) = event, PanicLine.isHeadline(line), panicked.set() {
                        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { qemu.stop() }
                    }
                }
            }
            outputDone.signal()
        }.start()

        let ending: GuestEnding
        if qemu.waitForExit(timeout: timeout) {
            ending = panicked.isSet && qemu.status != 1 && qemu.status != 3
                ? .stoppedAfterPanic : .exited(status: qemu.status)
        } else {
            qemu.stop()
            _ = qemu.waitForExit()
            ending = .timedOut(seconds: Int(timeout.components.seconds))
        }
        _ = outputDone.wait(timeout: .now() + 2)
        return ending
    }
}

/// Set once, from any thread.
private final class PanicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    /// Sets the flag; true only for the first call.
    func set() -> Bool {
        lock.withLock {
            defer { value = true }
            return !value
        }
    }

    var isSet: Bool { lock.withLock { value } }
}
