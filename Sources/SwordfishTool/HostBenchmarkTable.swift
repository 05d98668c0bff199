// The two faces of a host-benchmark analysis: the table `swordfish bench channel` prints
// and the JSON it writes to results/bench-channel.json (the benchmark's own object, with
// each row's ratio and the goals added).
import Foundation

extension HostBenchmarkAnalysis {
    /// The benchmark's report with `ratio_to_floor` on the channel and floor rows,
    /// `times_channel` on the Linux rows, and the goals; pretty-printed, keys sorted.
    public var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Every value is a finite number or a string, so encoding cannot fail.
        return try! encoder.encode(Document(self))
    }

    private struct Document: Encodable {
        var analysis: HostBenchmarkAnalysis

        init(_ analysis: HostBenchmarkAnalysis) { self.analysis = analysis }

        enum Keys: String, CodingKey { case rows, goals }

        func encode(to encoder: Encoder) throws {
            try analysis.report.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(analysis.report.rows.map { AnalysedRow(row: $0, analysis: analysis) }, forKey: .rows)
            try container.encode(analysis.goals.map { goal in
                var goal = goal
                goal.value = goal.value.map(roundedRatio)
                return goal
            }, forKey: .goals)
        }
    }

    private struct AnalysedRow: Encodable {
        var row: HostBenchmarkReport.Row
        var analysis: HostBenchmarkAnalysis

        enum Keys: String, CodingKey {
            case ratioToFloor = "ratio_to_floor"
            case timesChannel = "times_channel"
        }

        func encode(to encoder: Encoder) throws {
            try row.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(analysis.ratioToFloor(row).map(roundedRatio), forKey: .ratioToFloor)
            try container.encodeIfPresent(analysis.timesChannel(row).map(roundedRatio), forKey: .timesChannel)
        }
    }

    /// The table: a header line, one line per row, the channel's throughput, the goals.
    ///
    ///     Channel on host CPUs 0 and 1, TSC 2596.2 MHz, 100000 spinning / 20000 blocking rounds
    ///     name             median cyc  p99 cyc  median ns  vs floor  vs channel
    ///     channel                 338      494      130.2     1.08x      1.00x
    ///     …
    public var table: String {
        let report = self.report
        var lines = [headerLine]
        if let note = report.note { lines.append("note: \(note)") }
        let columns = ["name", "median cyc", "p99 cyc", "median ns", "vs floor", "vs channel"]
        var cells: [[String]] = [columns]
        for row in report.rows {
            let againstChannel = row.name == HostBenchmarkRow.channel ? (channel == nil ? nil : 1.0) : timesChannel(row)
            cells.append([
                row.name,
                Self.integer(row.medianCycles),
                Self.integer(row.p99Cycles),
                String(format: "%.1f", row.medianNanoseconds),
                ratioToFloor(row).map(Self.ratio) ?? "",
                againstChannel.map(Self.ratio) ?? "",
            ])
        }
        lines += Self.aligned(cells)
        if let channel, let throughput = channel.throughputPerSecond {
            var line = "channel one-way throughput: \(String(format: "%.1f", throughput / 1e6)) M msgs/s"
            if let perKilocycle = channel.messagesPerKilocycle {
                line += " (\(String(format: "%.2f", perKilocycle)) msgs/kcycle)"
            }
            lines.append(line)
        }
        if let channel = channel?.trimmedMeanCycles, let floor = floor?.trimmedMeanCycles, floor > 0 {
            lines.append("channel / floor by trimmed means (10th to 90th percentile), finer than the TSC's step: \(Self.ratio(channel / floor))")
        }
        lines += goals.map(Self.sentence)
        if report.sameCPU {
            lines.append("(one CPU: the spinning rows and so both goals describe timeslices, not the channel)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    var headerLine: String {
        let report = self.report
        let cpus = report.cpus.map(String.init)
        let place = report.sameCPU
            ? "both threads on CPU \(cpus.first ?? "?") (the host has one)"
            : "CPUs \(cpus.joined(separator: " and "))"
        var line = "Channel on host \(place), TSC \(String(format: "%.1f", report.tscMegahertz)) MHz"
        let spinning = channel?.rounds ?? floor?.rounds
        let blocking = report.rows.first { HostBenchmarkRow.linux.contains($0.name) }?.rounds
        if let spinning, let blocking {
            line += ", \(spinning) spinning / \(blocking) blocking rounds"
        }
        if report.quick == true { line += " (quick)" }
        return line
    }

    /// "goal: … : 1.08x (channel median / cacheline-floor median) — met".
    static func sentence(_ goal: HostBenchmarkGoal) -> String {
        guard let value = goal.value, let met = goal.met else {
            return "goal: \(goal.goal): not measured in this run (\(goal.detail) needs both rows)"
        }
        return "goal: \(goal.goal): \(ratio(value)) (\(goal.detail)) — \(met ? "met" : "not met")"
    }

    /// A ratio with about three significant figures: 1.08x, 19.2x, 246x.
    static func ratio(_ value: Double) -> String {
        String(format: value < 10 ? "%.2fx" : value < 100 ? "%.1fx" : "%.0fx", value)
    }

    static func integer(_ value: Double) -> String {
        value.isFinite ? String(Int64(value.rounded())) : "?"
    }

    /// Rows of cells, the first column left-aligned and the others right-aligned.
    static func aligned(_ rows: [[String]]) -> [String] {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { cells in
            cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }
}

/// Ratios to three decimals in the JSON: the figures behind them are not finer.
private func roundedRatio(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = Substring(self)
        while text.hasSuffix(" ") { text.removeLast() }
        return String(text)
    }
}
