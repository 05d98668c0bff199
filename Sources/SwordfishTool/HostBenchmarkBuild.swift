import Foundation

/// Building and running `swordfish-hostbench`: a release build of this package's product,
/// in a build folder of its own (`.build-release`, ignored by git) so that it neither waits
/// on the lock of a debug `swift run swordfish` nor replaces that build's products.
public struct HostBenchmarkBuild: Sendable {
    public static let product = "swordfish-hostbench"
    public var repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    public var command: ShellCommand {
        ShellCommand("swift", [
            "build",
            "--package-path", repository.root,
            "--scratch-path", repository.hostBenchmarkScratch,
            "-c", "release",
            "--product", Self.product,
        ])
    }

    /// The same build asked only where it puts its products.
    public var binPathCommand: ShellCommand {
        var command = command
        command.arguments.append("--show-bin-path")
        return command
    }

    /// The benchmark's command line for a full or a quick run.
    public static func runCommand(executable: String, quick: Bool) -> ShellCommand {
        ShellCommand(executable, quick ? ["--quick"] : [])
    }

    /// Builds the benchmark, SwiftPM's output on standard error; returns its path.
    public func run() throws(ToolError) -> String {
        RawOutput.note("building the host benchmark: \(command)")
        let status = try Subprocess.run(command, output: .standardError).status
        guard status == 0 else {
            throw .commandFailed(command: "the host benchmark build", status: status)
        }
        let result = try Subprocess.run(binPathCommand, output: .capture)
        let binPath = String(decoding: result.captured, as: UTF8.self)
            .split(separator: "\n").last { !$0.isEmpty }.map(String.init) ?? ""
        guard result.status == 0, !binPath.isEmpty else {
            throw .commandFailed(command: "\(binPathCommand)", status: result.status)
        }
        return "\(binPath)/\(Self.product)"
    }
}

extension Repository {
    /// The release build folder for the host benchmark.
    public var hostBenchmarkScratch: String { "\(root)/.build-release" }
    /// Where `swordfish bench channel` writes its JSON (`results/` is ignored by git).
    public var hostBenchmarkResult: String { "\(root)/results/bench-channel.json" }
}
