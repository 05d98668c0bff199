// `swordfish simulate`: the capability protocols (Core/Sources/CapabilityProtocols) or
// the unmap / TLB shootdown protocol (Core/Sources/ShootdownProtocol) on a simulated
// machine, on the host. Seeded runs, every schedule of a small case, or the revoke and
// unmap cost tables and charts. See docs/capabilities.md and docs/shootdown.md.
import ArgumentParser
import CapabilityProtocols
import CapabilitySimulation
import Foundation
import KnowledgeBase
import ShootdownProtocol
import ShootdownSimulation

extension CapabilityBreakage: ExpressibleByArgument {}
extension ShootdownBreakage: ExpressibleByArgument {}

/// One seed's run of a simulator, as `simulate` drives it.
protocol SeededSimulation {
    var tracing: Bool { get set }
    /// Runs to the end; the violations found.
    mutating func run() -> [String]
    /// One line per step, when tracing.
    var traceLines: [String] { get }
}

extension CapabilitySimulation: SeededSimulation {
    var traceLines: [String] { machine.trace }
}

extension ShootdownSimulation: SeededSimulation {
    var traceLines: [String] { machine.trace }
}

/// The protocols `simulate` runs.
enum SimulatedProtocol: String, CaseIterable, ExpressibleByArgument {
    case capabilities, unmap
}

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the capability or unmap protocols in the deterministic simulator.",
        discussion: """
            Seeded runs: each seed is one schedule of random requests, deliveries, stalls, \
            domain ends and garbage on N cores (with --protocol unmap: shootdowns, page \
            touches, a slow core and a core that stops); a failing seed prints the command that \
            replays it (--seed S, which also prints its trace). --exhaustive explores every \
            schedule of every choice of --operations capability requests on --cores cores. Both \
            end with one line `N schedules, M violations` and exit 1 if M > 0. --revoke-cost \
            prints the revoke's messages, critical-path hops and modelled cycles against the \
            core count on the 8×4 AMD, and writes results/revoke-cost.svg; --unmap-cost does the \
            same for the unmap under each multicast tree (the paper's Fig. 6) and writes \
            results/unmap-cost.svg.
            """
    )

    @OptionGroup var repository: RepositoryOptions

    @Option(name: .customLong("protocol"), help: "The protocol to run seeds of.")
    var simulated: SimulatedProtocol = .capabilities

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

    @Flag(help: "Print the unmap cost table and write results/unmap-cost.svg.")
    var unmapCost = false

    @Option(help: ArgumentHelp("Break a capability protocol on purpose, to see the simulator catch it.", valueName: "breakage"))
    var breakage: CapabilityBreakage?

    @Option(help: ArgumentHelp("Break the unmap protocol on purpose (with --protocol unmap).", valueName: "breakage"))
    var unmapBreakage: ShootdownBreakage?

    func validate() throws {
        guard (1...64).contains(cores) else { throw ValidationError("--cores must be between 1 and 64") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be positive") }
        if exhaustive {
            guard (2...4).contains(cores) else { throw ValidationError("--exhaustive takes 2 to 4 cores") }
            guard (1...3).contains(operations) else { throw ValidationError("--operations must be between 1 and 3") }
        }
        guard [exhaustive, revokeCost, unmapCost].filter({ $0 }).count <= 1 else {
            throw ValidationError("--exhaustive, --revoke-cost and --unmap-cost exclude each other")
        }
        if simulated == .unmap {
            guard !exhaustive else { throw ValidationError("--exhaustive explores the capability protocols only") }
            guard breakage == nil else { throw ValidationError("--breakage breaks a capability protocol: use --unmap-breakage") }
        } else if unmapBreakage != nil {
            throw ValidationError("--unmap-breakage needs --protocol unmap")
        }
    }

    func run() throws {
        if revokeCost {
            let rows = RevokeCost.table()
            try write(SimulationReport.revokeCostTable(rows), chart: SimulationReport.revokeCostChart(rows), to: "revoke-cost.svg")
            return
        }
        if unmapCost {
            let tables = UnmapCost.Machine.allCases.map { ($0, UnmapCost.table(on: $0)) }
            try write(SimulationReport.unmapCostTable(tables), chart: SimulationReport.unmapCostChart(tables), to: "unmap-cost.svg")
            return
        }
        let first = seed ?? firstSeed, count = seed == nil ? seeds : 1
        let outcome: SimulationReport.Outcome
        switch (simulated, exhaustive) {
        case (.capabilities, true): outcome = SimulationReport.exhaustive(cores: cores, operations: operations, breakage: breakage)
        case (.capabilities, false): outcome = SimulationReport.seeds(cores: cores, first: first, count: count, trace: seed != nil, breakage: breakage)
        case (.unmap, _): outcome = SimulationReport.unmapSeeds(cores: cores, first: first, count: count, trace: seed != nil, breakage: unmapBreakage)
        }
        for line in outcome.lines { print(line) }
        if outcome.violations > 0 { throw ExitCode.failure }
    }

    /// Prints `table` and writes `chart` to results/`name`.
    func write(_ table: [String], chart: String, to name: String) throws {
        for line in table { print(line) }
        let repository = try repository.locate()
        let path = "\(repository.root)/results/\(name)"
        try FileManager.default.createDirectory(atPath: "\(repository.root)/results", withIntermediateDirectories: true)
        try chart.write(toFile: path, atomically: true, encoding: .utf8)
        print("chart: \(repository.relative(path))")
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

    /// The replay command of one seed of the unmap protocol.
    static func unmapReplay(cores: Int, seed: UInt64, breakage: ShootdownBreakage?) -> String {
        "swordfish simulate --protocol unmap --cores \(cores) --seed \(seed)" + (breakage.map { " --unmap-breakage \($0.rawValue)" } ?? "")
    }

    static func seeds(cores: Int, first: UInt64, count: Int, trace: Bool = false, breakage: CapabilityBreakage? = nil) -> Outcome {
        seeds(first: first, count: count, trace: trace, replay: { replay(cores: cores, seed: $0, breakage: breakage) }) {
            CapabilitySimulation(options: SimulationOptions(cores: cores, garbage: breakage == nil, breakage: breakage), seed: $0)
        }
    }

    static func unmapSeeds(cores: Int, first: UInt64, count: Int, trace: Bool = false, breakage: ShootdownBreakage? = nil) -> Outcome {
        seeds(first: first, count: count, trace: trace, replay: { unmapReplay(cores: cores, seed: $0, breakage: breakage) }) {
            ShootdownSimulation(options: ShootdownSimulationOptions(cores: cores, garbage: breakage == nil, breakage: breakage), seed: $0)
        }
    }

    /// Runs seeds `first..<first + count`: a line per failing seed with its replay
    /// command (after its trace, when tracing), then the count.
    static func seeds<Simulation: SeededSimulation>(first: UInt64, count: Int, trace: Bool, replay: (UInt64) -> String,
                                                    simulation: (UInt64) -> Simulation) -> Outcome {
        var lines: [String] = []
        var violations = 0
        for seed in first..<first + UInt64(count) {
            var run = simulation(seed)
            run.tracing = trace
            let found = run.run()
            if trace { lines += run.traceLines }
            guard let first = found.first else { continue }
            violations += 1
            lines.append("seed \(seed): \(first) — replay: \(replay(seed))")
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
    static let unmapCommand = "swift run swordfish simulate --unmap-cost"

    static func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(width - text.count, 0)) + text }

    static func revokeCostTable(_ rows: [RevokeCostRow]) -> [String] {
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

    /// The trees' names in the table and chart, and their lines' colours.
    static let trees: [(kind: MulticastKind, name: String, colour: String)] = [
        (.unicast, "unicast", "#dd6b20"), (.broadcast, "broadcast", "#c53030"),
        (.perPackage, "per-package", "#38a169"), (.numaAware, "NUMA-aware", "#2b6cb0"),
    ]

    static func unmapCostTable(_ tables: [(machine: UnmapCost.Machine, rows: [UnmapCostRow])]) -> [String] {
        var lines = ["unmap of a page every core uses, from core 0, simulated (\(unmapCommand))"]
        for (machine, rows) in tables {
            lines.append("")
            lines.append("on \(machine.title)")
            lines.append("     " + trees.map { pad($0.name, 24) }.joined())
            lines.append("cores" + String(repeating: pad("messages", 10) + pad("hops", 6) + pad("cycles", 8), count: trees.count))
            for row in rows {
                lines.append(pad("\(row.cores)", 5) + trees.map { tree in
                    let f = row.figures(of: tree.kind)
                    return pad("\(f.messages)", 10) + pad("\(f.hops)", 6) + pad("\(f.cycles)", 8)
                }.joined())
            }
        }
        lines.append("")
        lines.append("hops: the critical path, down and back up; cycles: the knowledge base's multicast cost model over the tree used")
        return lines
    }

    /// The tables as lines against the core count, a panel per measure and machine.
    static func unmapCostChart(_ tables: [(machine: UnmapCost.Machine, rows: [UnmapCostRow])]) -> String {
        var panels: [LineChart.Panel] = []
        for (machine, rows) in tables {
            for (measure, pick) in [("modelled cycles", { (f: UnmapCostRow.Figures) in Double(f.cycles) }),
                                    ("messages", { (f: UnmapCostRow.Figures) in Double(f.messages) }),
                                    ("critical-path hops", { (f: UnmapCostRow.Figures) in Double(f.hops) })] {
                panels.append(LineChart.Panel(title: "\(measure) on \(machine.title)", series: trees.map { tree in
                    LineChart.Series(label: tree.name, colour: tree.colour,
                                     points: rows.map { (Double($0.cores), pick($0.figures(of: tree.kind))) })
                }))
            }
        }
        return LineChart(title: "Unmap (TLB shootdown) of a page every core uses, simulated", subtitle: "\(unmapCommand): one page unmapped from core 0, cost by multicast tree (after the multikernel paper's Fig. 6)",
                         note: "logarithmic y axis", documentTitle: "swordfish simulate --unmap-cost", xLabel: "cores", panels: panels).render()
    }
}
