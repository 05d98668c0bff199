import ArgumentParser
import Foundation

/// `swordfish bench channel`: the guest's channel code on two real CPUs of this host,
/// against the cache-line floor and Linux's blocking IPC, from one run of
/// `swordfish-hostbench`.
struct BenchChannel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel",
        abstract: "The channel on two host cores against the cache-line floor and Linux IPC.",
        discussion: """
            Builds swordfish-hostbench in release (in .build-release), runs it once and prints \
            one table: median and p99 round trips in TSC cycles and ns, the channel as a ratio to \
            the floor, each Linux primitive as a multiple of the channel, and whether this run \
            meets the goals (within 1.3x of the floor; at least 20x faster than the fastest Linux \
            primitive). The goals are reported, never turned into a failing exit status. The \
            JSON goes to results/bench-channel.json, and with --json to standard output instead \
            of the table.
            """
    )

    @OptionGroup var repository: RepositoryOptions

    @Flag(help: "A short run: a tenth of the rounds.")
    var quick = false

    @Flag(help: "Print the JSON instead of the table.")
    var json = false

    func run() throws {
        ChildProcesses.shared.stopChildrenOnSignals()
        let repository = try repository.locate()
        let executable = try HostBenchmarkBuild(repository: repository).run()
        let command = HostBenchmarkBuild.runCommand(executable: executable, quick: quick)
        RawOutput.note("running \(command)")
        let result = try Subprocess.run(command, output: .capture)
        guard result.status == 0 else {
            throw ToolError.commandFailed(command: "\(command)", status: result.status)
        }
        let analysis = HostBenchmarkAnalysis(try HostBenchmarkReport(json: result.captured))
        let document = analysis.json + Data("\n".utf8)
        try write(document, to: repository.hostBenchmarkResult)
        RawOutput.note("wrote \(repository.relative(repository.hostBenchmarkResult))")
        if json {
            document.withUnsafeBytes { RawOutput.write($0, to: STDOUT_FILENO) }
        } else {
            RawOutput.write(analysis.table, to: STDOUT_FILENO)
        }
    }

    private func write(_ data: Data, to path: String) throws(ToolError) {
        do {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw .fileNotWritable(path: path, reason: "\(error)")
        }
    }
}
