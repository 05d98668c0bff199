import Foundation

/// Running other programs to completion: SwiftPM, apt-get, the symbolizer.
/// (QEMU, which runs alongside the tool, is driven by `ConsoleSession` and `GuestBoot`.)
enum Subprocess {
    /// Where a program's standard output (and, unless captured, its standard error) goes.
    enum Output {
        /// The tool's own standard output and error.
        case inherit
        /// The tool's standard error, keeping the tool's standard output clean.
        case standardError
        /// A file, standard output and standard error together.
        case file(String)
        /// Captured and returned; standard error still goes to the tool's.
        case capture
    }

    struct Result {
        var status: Int32
        var captured: Data
        /// It ran past its time limit and was stopped (with its whole process group).
        var timedOut = false
    }

    /// Runs `command` to completion, or until `timeout` passes. Only a failure to start
    /// it throws; a failing program is a result like any other.
    @discardableResult
    static func run(
        _ command: ShellCommand,
        output: Output = .inherit,
        environment additions: [String: String] = [:],
        workingDirectory: String? = nil,
        timeout: Duration? = nil
    ) throws(ToolError) -> Result {
        guard let executable = Executables.find(command.executable) else {
            throw .executableNotFound(command.executable)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = command.arguments
        if let workingDirectory {
            process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        }
        if !additions.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(additions) { $1 }
        }
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        switch output {
        case .inherit:
            break
        case .standardError:
            process.standardOutput = FileHandle.standardError
        case .file(let path):
            guard FileManager.default.createFile(atPath: path, contents: nil),
                  let handle = FileHandle(forWritingAtPath: path) else {
                throw .fileNotWritable(path: path, reason: "cannot create the file")
            }
            process.standardOutput = handle
            process.standardError = handle
        case .capture:
            process.standardOutput = pipe
        }
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            throw .launchFailed(command: command.executable, reason: "\(error)")
        }
        ChildProcesses.shared.add(process.processIdentifier)
        defer { ChildProcesses.shared.remove(process.processIdentifier) }
        var captured = Data()
        if case .capture = output {
            captured = pipe.fileHandleForReading.readDataToEndOfFile()
        }
        if let timeout, exited.wait(timeout: .now() + .milliseconds(Int(timeout / .milliseconds(1)))) == .timedOut {
            // Foundation gives each child a process group of its own: end all of it (a
            // `swift test` has test processes of its own).
            kill(-process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return Result(status: process.exitStatus, captured: captured, timedOut: true)
        }
        process.waitUntilExit()
        return Result(status: process.exitStatus, captured: captured)
    }
}

extension Process {
    /// The exit status as a shell reports it: 128 + the signal for a killed process.
    var exitStatus: Int32 {
        terminationReason == .uncaughtSignal ? 128 + terminationStatus : terminationStatus
    }
}

/// Writing to file descriptors directly, so that console output is never held in a buffer.
enum RawOutput {
    static func write(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) {
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0), to: descriptor) }
    }

    /// A message from the tool itself, on standard error.
    static func note(_ message: String) {
        write("swordfish: \(message)\n", to: STDERR_FILENO)
    }
}
