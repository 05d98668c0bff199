// The benchmark's one output: a JSON object on standard output, read by
// `swordfish bench channel` (Sources/SwordfishTool/HostBenchmarkReport.swift decodes it).
//
//   {"tsc_mhz": 2994.3, "cpus": [0, 1], "same_cpu": false, "quick": false, ("note": "…",)
//    "rows": [{"name": "channel", "rounds": 100000, "median_cycles": 412, "p99_cycles": 780,
//              "min_cycles": 300, "trimmed_mean_cycles": 405.2, "median_ns": 137.6, "p99_ns": 260.5,
//              "throughput_msgs_per_s": 21000000, "msgs_per_kcycle": 7.0, "ring_slots": 63},
//             {"name": "cacheline-floor", …}, {"name": "pipe", …}, …]}
import Channel
import HostBenchSupport

/// The time-stamp counter against CLOCK_MONOTONIC, read at the start and end of the run.
struct TSCClock {
    struct Reading {
        var cycles: UInt64
        var nanoseconds: UInt64
    }

    /// A monotonic-clock reading bracketed by two counter readings, their midpoint.
    static func read() -> Reading {
        let before = hostbench_rdtsc()
        let nanoseconds = hostbench_monotonic_ns()
        let after = hostbench_rdtsc()
        return Reading(cycles: before / 2 + after / 2, nanoseconds: nanoseconds)
    }

    /// Counter ticks per microsecond between two readings.
    static func megahertz(from start: Reading, to end: Reading) -> Double {
        Double(end.cycles &- start.cycles) * 1000 / Double(end.nanoseconds &- start.nanoseconds)
    }
}

struct Row {
    var name: String
    var rounds: Int
    var summary: SampleSummary
    /// The mean of the middle 80% of samples (the tenth to the ninetieth percentile). It
    /// resolves differences finer than the counter's own step (on some virtual machines
    /// the TSC advances in steps of tens of cycles, and so do medians), without the
    /// preemptions that dominate a plain mean.
    var trimmedMean: Double
    /// For the channel: the cycles each chunk of a one-way stream took.
    var streaming: (messagesPerChunk: Int, chunks: [UInt64])?
    /// Further fields for this row, already in JSON.
    var extras: [(String, String)] = []

    init(name: String, samples: [UInt64]) {
        var samples = samples
        self.name = name
        rounds = samples.count
        summary = SampleSummary(&samples)                           // sorts the samples
        let middle = samples[(samples.count / 10)..<(samples.count * 9 / 10)]
        trimmedMean = middle.isEmpty ? Double(summary.median) : Double(middle.reduce(0, &+)) / Double(middle.count)
    }

    func json(megahertz: Double) -> String {
        let nanoseconds = { (cycles: UInt64) in JSON.number(Double(cycles) * 1000 / megahertz, decimals: 1) }
        var fields: [(String, String)] = [
            ("name", JSON.string(name)),
            ("rounds", String(rounds)),
            ("median_cycles", String(summary.median)),
            ("p99_cycles", String(summary.p99)),
            ("min_cycles", String(summary.minimum)),
            ("trimmed_mean_cycles", JSON.number(trimmedMean, decimals: 1)),
            ("median_ns", nanoseconds(summary.median)),
            ("p99_ns", nanoseconds(summary.p99)),
        ]
        if var chunks = streaming?.chunks, let messages = streaming?.messagesPerChunk, !chunks.isEmpty {
            // The median chunk: the rate the ring sustains while neither thread is preempted.
            let perKilocycle = Double(messages) * 1000 / Double(max(SampleSummary(&chunks).median, 1))
            fields.append(("throughput_msgs_per_s", JSON.number(perKilocycle * megahertz * 1000, decimals: 0)))
            fields.append(("msgs_per_kcycle", JSON.number(perKilocycle, decimals: 2)))
        }
        return JSON.object(fields + extras)
    }
}

struct Report {
    var megahertz: Double
    var pair: CorePair
    var quick: Bool
    var rows: [Row]
    var note: String?

    var json: String {
        var fields: [(String, String)] = [
            ("tsc_mhz", JSON.number(megahertz, decimals: 1)),
            ("cpus", "[\(pair.initiator), \(pair.responder)]"),
            ("same_cpu", String(pair.sameCPU)),
            ("quick", String(quick)),
        ]
        if let note { fields.append(("note", JSON.string(note))) }
        fields.append(("rows", "[\n    " + rows.map { $0.json(megahertz: megahertz) }.joined(separator: ",\n    ") + "\n  ]"))
        return "{\n  " + fields.map { "\(JSON.string($0.0)): \($0.1)" }.joined(separator: ",\n  ") + "\n}\n"
    }
}

/// Just enough JSON writing for the report: no Foundation needed.
enum JSON {
    static func string(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case _ where scalar.value < 0x20: result += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `value` rounded to `decimals` places; JSON has no infinity or NaN, so those are null.
    static func number(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "null" }
        if decimals == 0 || value.magnitude >= 1e15 { return String(Int64(value.rounded())) }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return String((value * scale).rounded() / scale)
    }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }
}
