import ArgumentParser

/// Every benchmark: the Swordfish guest and a Linux guest under the same QEMU line, and
/// the host rows. (Being written.)
struct BenchAll: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "Run every benchmark (the default).")
    func run() throws { throw ValidationError("not written yet") }
}
