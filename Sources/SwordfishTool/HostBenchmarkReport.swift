// What `swordfish-hostbench` measured, and what it means: the channel's round trip as a
// ratio to the cache-line floor, each Linux primitive as a multiple of the channel, and
// issue 3's two goals judged on this run's figures. Everything here works on the
// benchmark's JSON alone, so the tests feed it canned output, never timings.
import Foundation

/// The JSON object `swordfish-hostbench` prints (Sources/swordfish-hostbench/Report.swift).
public struct HostBenchmarkReport: Codable, Equatable, Sendable {
    public var tscMegahertz: Double
    /// The measuring CPU, then the responding one.
    public var cpus: [Int]
    /// Both threads on one CPU: the host has only one.
    public var sameCPU: Bool
    public var quick: Bool?
    public var note: String?
    public var rows: [Row]

    public struct Row: Codable, Equatable, Sendable {
        public var name: String
        public var rounds: Int?
        public var medianCycles: Double
        public var p99Cycles: Double
        public var minCycles: Double?
        /// The mean of the samples between the 10th and 90th percentiles.
        public var trimmedMeanCycles: Double?
        public var medianNanoseconds: Double
        public var p99Nanoseconds: Double?
        /// Channel only: one-way messages per second, the sender streaming.
        public var throughputPerSecond: Double?
        public var messagesPerKilocycle: Double?
        public var ringSlots: Int?

        public init(name: String, medianCycles: Double, p99Cycles: Double, medianNanoseconds: Double) {
            self.name = name
            self.medianCycles = medianCycles
            self.p99Cycles = p99Cycles
            self.medianNanoseconds = medianNanoseconds
        }

        enum CodingKeys: String, CodingKey {
            case name, rounds
            case medianCycles = "median_cycles"
            case p99Cycles = "p99_cycles"
            case minCycles = "min_cycles"
            case trimmedMeanCycles = "trimmed_mean_cycles"
            case medianNanoseconds = "median_ns"
            case p99Nanoseconds = "p99_ns"
            case throughputPerSecond = "throughput_msgs_per_s"
            case messagesPerKilocycle = "msgs_per_kcycle"
            case ringSlots = "ring_slots"
        }
    }

    enum CodingKeys: String, CodingKey {
        case cpus, quick, note, rows
        case tscMegahertz = "tsc_mhz"
        case sameCPU = "same_cpu"
    }

    public init(tscMegahertz: Double, cpus: [Int], sameCPU: Bool, rows: [Row]) {
        self.tscMegahertz = tscMegahertz
        self.cpus = cpus
        self.sameCPU = sameCPU
        self.rows = rows
    }

    /// Decodes the benchmark's standard output.
    public init(json: Data) throws(HostBenchmarkError) {
        do {
            self = try JSONDecoder().decode(Self.self, from: json)
        } catch {
            throw .unreadableOutput(String(describing: error))
        }
    }

    public func row(_ name: String) -> Row? { rows.first { $0.name == name } }
}

/// The rows every run has, by name.
public enum HostBenchmarkRow {
    public static let channel = "channel"
    public static let floor = "cacheline-floor"
    /// The blocking Linux primitives, in the order the benchmark runs them.
    public static let linux = ["pipe", "eventfd", "futex", "unix-socket"]
}

public enum HostBenchmarkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The benchmark's output is not the JSON object it should print.
    case unreadableOutput(String)

    public var description: String {
        switch self {
        case .unreadableOutput(let reason):
            return "swordfish-hostbench printed something that is not its report: \(reason)"
        }
    }
}

/// One of the issue's goals, judged on one run.
public struct HostBenchmarkGoal: Codable, Equatable, Sendable {
    public var goal: String
    /// The ratio the goal asks for.
    public var target: Double
    /// The ratio this run measured, nil when a row it needs is missing.
    public var value: Double?
    public var met: Bool?
    /// What the figure compares, in words.
    public var detail: String
}

/// The report with its ratios and goals: what the table shows and `--json` writes.
public struct HostBenchmarkAnalysis: Equatable, Sendable {
    public static let floorTarget = 1.3
    public static let linuxTarget = 20.0

    public var report: HostBenchmarkReport

    public init(_ report: HostBenchmarkReport) {
        self.report = report
    }

    var channel: HostBenchmarkReport.Row? { report.row(HostBenchmarkRow.channel) }
    var floor: HostBenchmarkReport.Row? { report.row(HostBenchmarkRow.floor) }

    /// `row`'s median round trip over the floor's (for the channel and the floor itself).
    public func ratioToFloor(_ row: HostBenchmarkReport.Row) -> Double? {
        guard row.name == HostBenchmarkRow.channel || row.name == HostBenchmarkRow.floor else { return nil }
        return Self.ratio(row.medianCycles, floor?.medianCycles)
    }

    /// How many times slower than the channel `row` is (for the Linux rows).
    public func timesChannel(_ row: HostBenchmarkReport.Row) -> Double? {
        guard HostBenchmarkRow.linux.contains(row.name) else { return nil }
        return Self.ratio(row.medianCycles, channel?.medianCycles)
    }

    /// The Linux row with the lowest median.
    public var fastestLinux: HostBenchmarkReport.Row? {
        report.rows.filter { HostBenchmarkRow.linux.contains($0.name) }.min { $0.medianCycles < $1.medianCycles }
    }

    public var goals: [HostBenchmarkGoal] {
        let floorRatio = channel.flatMap(ratioToFloor)
        let linuxRatio = fastestLinux.flatMap(timesChannel)
        return [
            HostBenchmarkGoal(
                goal: "channel round trip within \(Self.format(Self.floorTarget))x of the cache-line floor",
                target: Self.floorTarget, value: floorRatio, met: floorRatio.map { $0 <= Self.floorTarget },
                detail: "channel median / cacheline-floor median"
            ),
            HostBenchmarkGoal(
                goal: "channel at least \(Self.format(Self.linuxTarget))x faster than the fastest Linux primitive",
                target: Self.linuxTarget, value: linuxRatio, met: linuxRatio.map { $0 >= Self.linuxTarget },
                detail: "\(fastestLinux?.name ?? "fastest Linux primitive") median / channel median"
            ),
        ]
    }

    static func ratio(_ numerator: Double, _ denominator: Double?) -> Double? {
        guard let denominator, denominator > 0, numerator.isFinite else { return nil }
        return numerator / denominator
    }

    /// A number with at most two decimals and no trailing zeros: 1.3, 20, 1.08.
    static func format(_ value: Double) -> String {
        let text = String(format: "%.2f", value)
        guard text.contains(".") else { return text }
        var trimmed = Substring(text)
        while trimmed.hasSuffix("0") { trimmed.removeLast() }
        if trimmed.hasSuffix(".") { trimmed.removeLast() }
        return String(trimmed)
    }
}
