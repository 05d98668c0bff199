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

    /// The benchmark's command line for a full or a quick run.
    public static func runCommand(executable: String, quick: Bool) -> ShellCommand {
        ShellCommand(executable, quick ? ["--quick"] : [])
    }

    /// Builds the benchmark, SwiftPM's output on standard error; returns its path.
    public func run() throws(ToolError) -> String {
        "\(try SwiftBuild.run(command, what: "the host benchmark"))/\(Self.product)"
    }
}

extension Repository {
    /// The release build folder for the host benchmark.
    public var hostBenchmarkScratch: String { "\(root)/.build-release" }
    /// Where `swordfish bench channel` writes its JSON (`results/` is ignored by git).
    public var hostBenchmarkResult: String { "\(root)/results/bench-channel.json" }
}
