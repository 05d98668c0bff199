import ArgumentParser

/// The channel on real host cores against the floor and Linux IPC. (Being written.)
struct BenchChannel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "channel", abstract: "The channel on two host cores against the cache-line floor and Linux IPC.")
    func run() throws { throw ValidationError("not written yet") }
}
