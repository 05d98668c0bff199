import ArgumentParser

/// `swordfish bench`: Swordfish measured side by side with Linux.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks, each beside its Linux counterpart from the same run.",
        subcommands: [BenchAll.self, BenchChannel.self],
        defaultSubcommand: BenchAll.self
    )
}
