// `swordfish simulate`: the capability protocols (Core/Sources/CapabilityProtocols) on a
// simulated machine, on the host. Seeded runs, every schedule of a small case, or the
// revoke cost table and chart. See docs/capabilities.md.
import ArgumentParser
import CapabilityProtocols
import CapabilitySimulation
import Foundation

extension CapabilityBreakage: ExpressibleByArgument {}

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the capability protocols in the deterministic simulator.",
        discussion: """
            Seeded runs: each seed is one schedule of random requests, deliveries, stalls, \
            domain ends and garbage on N cores; a failing seed prints the command that replays \
            it (--seed S, which also prints its trace). --exhaustive explores every schedule of \
            every choice of --operations requests on --cores cores. Both end with one line \
            `N schedules, M violations` and exit 1 if M > 0. --revoke-cost prints the revoke's \
            messages, critical-path hops and modelled cycles against the core count on the \
            8×4 AMD, and writes results/revoke-cost.svg.
            """
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(help: "Cores of the simulated machine (1-64; 2-4 with --exhaustive).")
    var cores = 4

    @Option(help: "How many seeds to run.")
    var seeds = 1000

    @Option(help: "The first seed.")
    var firstSeed: UInt64 = 0

    @Option(help: "Run only this seed and print its trace.")
    var seed: UInt64?

    @Flag(help: "Explore every schedule of a small case instead of seeds.")
    var exhaustive = false

    @Option(help: "Requests per case with --exhaustive (1-3).")
    var operations = 2

    @Flag(help: "Print the revoke cost table and write results/revoke-cost.svg.")
    var revokeCost = false

    @Option(help: ArgumentHelp("Break a protocol on purpose, to see the simulator catch it.", valueName: "breakage"))
    var breakage: CapabilityBreakage?

    func validate() throws {
        guard (1...64).contains(cores) else { throw ValidationError("--cores must be between 1 and 64") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be positive") }
        if exhaustive {
            guard (2...4).contains(cores) else { throw ValidationError("--exhaustive takes 2 to 4 cores") }
            guard (1...3).contains(operations) else { throw ValidationError("--operations must be between 1 and 3") }
        }
        guard !(exhaustive && revokeCost) else { throw ValidationError("--exhaustive and --revoke-cost exclude each other") }
    }

    func run() throws {
        if revokeCost {
            let rows = RevokeCost.table()
            for line in SimulationReport.revokeCostTable(rows) { print(line) }
            let repository = try repository.locate()
            let path = "\(repository.root)/results/revoke-cost.svg"
            try FileManager.default.createDirectory(atPath: "\(repository.root)/results", withIntermediateDirectories: true)
            try SimulationReport.revokeCostChart(rows).write(toFile: path, atomically: true, encoding: .utf8)
            print("chart: \(repository.relative(path))")
            return
        }
        let outcome = exhaustive ? SimulationReport.exhaustive(cores: cores, operations: operations, breakage: breakage)
            : SimulationReport.seeds(cores: cores, first: seed ?? firstSeed, count: seed == nil ? seeds : 1,
                                     trace: seed != nil, breakage: breakage)
        for line in outcome.lines { print(line) }
        if outcome.violations > 0 { throw ExitCode.failure }
    }
}

/// What `simulate` prints, apart from the printing, so the tool's tests can read it.
enum SimulationReport {
    struct Outcome {
        var lines: [String]
        var violations: Int
    }

    /// The replay command of one seed.
    static func replay(cores: Int, seed: UInt64, breakage: CapabilityBreakage?) -> String {
        "swordfish simulate --cores \(cores) --seed \(seed)" + (breakage.map { " --breakage \($0.rawValue)" } ?? "")
    }

    static func seeds(cores: Int, first: UInt64, count: Int, trace: Bool = false, breakage: CapabilityBreakage? = nil) -> Outcome {
        var lines: [String] = []
        var violations = 0
        for seed in first..<first + UInt64(count) {
            var simulation = CapabilitySimulation(
                options: SimulationOptions(cores: cores, garbage: breakage == nil, breakage: breakage), seed: seed)
            simulation.tracing = trace
            let found = simulation.run()
            if trace { lines += simulation.machine.trace }
            guard let first = found.first else { continue }
            violations += 1
            lines.append("seed \(seed): \(first) — replay: \(replay(cores: cores, seed: seed, breakage: breakage))")
        }
        lines.append("\(count) schedules, \(violations) violations")
        return Outcome(lines: lines, violations: violations)
    }

    static func exhaustive(cores: Int, operations: Int, breakage: CapabilityBreakage? = nil) -> Outcome {
        let result = ExhaustiveSearch.run(cores: cores, operations: operations, breakage: breakage)
        var lines = ["every schedule of \(operations) requests on \(cores) cores: \(result.cases) cases, \(result.states) states"]
        if let first = result.firstViolation { lines.append("first violation: \(first)") }
        lines.append("\(result.schedules) schedules, \(result.violations) violations")
        return Outcome(lines: lines, violations: result.violations)
    }

    static let command = "swift run swordfish simulate --revoke-cost"

    static func revokeCostTable(_ rows: [RevokeCostRow]) -> [String] {
        func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(width - text.count, 0)) + text }
        var lines = [
            "revoke of a RAM capability with descendants on every core, simulated on the 8×4 AMD (\(command))",
            "        owner sends to every core     per-package tree",
            "cores   messages  hops    cycles      messages  hops    cycles",
        ]
        for row in rows {
            lines.append(pad("\(row.cores)", 5) + pad("\(row.direct.messages)", 11) + pad("\(row.direct.hops)", 6) + pad("\(row.direct.cycles)", 10)
                         + pad("\(row.tree.messages)", 14) + pad("\(row.tree.hops)", 6) + pad("\(row.tree.cycles)", 10))
        }
        lines.append("cycles: the knowledge base's multicast cost model over the tree used, mark-ready plus commit-done")
        return lines
    }

    /// The table as a chart, one panel per measure, drawn by the bench report's chart.
    static func revokeCostChart(_ rows: [RevokeCostRow]) -> String {
        func cell(_ value: Int, _ unit: String) -> BenchCell { .measured(BenchFigure(median: Double(value), unit: unit)) }
        var chartRows: [BenchRow] = []
        for (unit, pick) in [("messages", { (f: RevokeCostRow.Figures) in Int(f.messages) }),
                             ("critical-path hops", { (f: RevokeCostRow.Figures) in f.hops }),
                             ("modelled cycles", { (f: RevokeCostRow.Figures) in Int(f.cycles) })] {
            for row in rows {
                chartRows.append(BenchRow(name: "\(row.cores) cores", unit: unit,
                                          swordfish: cell(pick(row.tree), unit), linux: cell(pick(row.direct), unit)))
            }
        }
        return BenchChart(title: "Revoke with descendants on every core, simulated", subtitle: "\(command): the paper's 8×4 AMD (beyond 32 cores, 8 packages of 8)",
                          sides: (first: "per-package tree", second: "owner sends to every core"),
                          note: "logarithmic axis", documentTitle: "swordfish simulate --revoke-cost", rows: chartRows).render()
    }
}
