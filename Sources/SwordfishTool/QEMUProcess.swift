import Foundation

/// One running QEMU whose serial console (its standard output) the tool reads.
final class QEMUProcess: @unchecked Sendable {
    /// Where QEMU's standard input comes from.
    enum Input {
        /// Nothing: the guest sees no input.
        case none
        /// A pipe the tool writes with `send(_:)` and ends with `closeInput()`.
        case pipe
    }

    let configuration: QEMUConfiguration
    private let process = Process()
    private let output = Pipe()
    private let input: Pipe?
    private let exited = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var hasExited = false
    private var isStopping = false
    /// When QEMU was started; boot times count from here.
    private(set) var startTime = ContinuousClock.now

    /// - Parameter mergesStandardError: QEMU's own messages go into the console stream
    ///   (for logs) rather than straight to the tool's standard error.
    init(configuration: QEMUConfiguration, input: Input, mergesStandardError: Bool) {
        self.configuration = configuration
        switch input {
        case .none:
            self.input = nil
            process.standardInput = FileHandle.nullDevice
        case .pipe:
            let pipe = Pipe()
            self.input = pipe
            process.standardInput = pipe
        }
        process.standardOutput = output
        if mergesStandardError {
            process.standardError = output
        }
    }

    func start() throws(ToolError) {
        let command = configuration.command
        guard let executable = Executables.find(command.executable) else {
            throw .executableNotFound(command.executable)
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = command.arguments
        process.terminationHandler = { [exited] _ in exited.signal() }
        startTime = .now
        do {
            try process.run()
        } catch {
            throw .launchFailed(command: command.executable, reason: "\(error)")
        }
        ChildProcesses.shared.add(process.processIdentifier)
    }

    /// The next bytes of the console, nil once QEMU has closed it.
    func readOutput() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let descriptor = output.fileHandleForReading.fileDescriptor
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 { return Array(buffer[..<count]) }
            if count < 0, errno == EINTR { continue }
            return nil
        }
    }

    /// Writes to QEMU's standard input; false once QEMU no longer reads it.
    @discardableResult
    func send<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        guard let input else { return false }
        let descriptor = input.fileHandleForWriting.fileDescriptor
        return Array(bytes).withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// Ends QEMU's standard input, as end-of-file.
    func closeInput() {
        try? input?.fileHandleForWriting.close()
    }

    /// Waits for QEMU to exit; false if it is still running after `timeout`.
    func waitForExit(timeout: Duration? = nil) -> Bool {
        if let timeout {
            let deadline = DispatchTime.now() + .milliseconds(Int(timeout / .milliseconds(1)))
            guard exited.wait(timeout: deadline) == .success else { return false }
        } else {
            exited.wait()
        }
        process.waitUntilExit()
        lock.withLock { hasExited = true }
        ChildProcesses.shared.remove(process.processIdentifier)
        return true
    }

    /// Asks QEMU to quit (SIGTERM), and kills it if it has not within three seconds.
    func stop() {
        let pid = process.processIdentifier
        let shouldSignal = lock.withLock { () -> Bool in
            guard !hasExited, !isStopping, pid > 0 else { return false }
            isStopping = true
            return true
        }
        guard shouldSignal else { return }
        kill(pid, SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + 3) { [self] in
            if lock.withLock({ !hasExited }) && process.isRunning {
                kill(pid, SIGKILL)
            }
        }
    }

    /// QEMU's exit status (128 + signal when killed); valid after `waitForExit`.
    var status: Int32 { process.exitStatus }
}
