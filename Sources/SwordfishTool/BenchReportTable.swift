import Foundation

extension BenchReport {
    /// The report as the terminal shows it: what ran, one table, and notes.
    public var table: String {
        var lines: [String] = []
        lines.append("QEMU       \(qemu)")
        lines.append("Swordfish  -append \(ShellQuoting.quote(swordfishArguments ?? "bench")); TSC \(Self.megahertz(swordfishTSCMHz)) (the kernel's boot line)")
        let linux = linuxRelease.map { "Debian \($0), " } ?? ""
        lines.append("Linux      \(linux)-append \(ShellQuoting.quote(linuxArguments ?? "")); TSC \(Self.megahertz(linuxTSCMHz)) (measured against CLOCK_MONOTONIC)")
        lines.append("")

        let header = ["operation", "unit", "Swordfish", "Linux", "ratio"]
        var body: [[String]] = []
        var marksStandIn = false
        for row in rows {
            var swordfish = Self.text(row.swordfish)
            if case .measured(_, let standIn?) = row.swordfish, standIn != row.name {
                swordfish += " *"
                marksStandIn = true
            }
            body.append([row.name, row.unit, swordfish, Self.text(row.linux), row.ratio.map(Self.ratioText) ?? "-"])
        }
        let widths = (0..<header.count).map { column in
            ([header] + body).map { $0[column].count }.max() ?? 0
        }
        // Names and words left, numbers right.
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                let numeric = column >= 2 && (cell.first?.isNumber ?? false || cell == "-")
                return numeric ? pad + cell : cell + pad
            }.joined(separator: "  ").droppingTrailingBlanks()
        }
        lines.append(render(header))
        lines.append(render(widths.map { String(repeating: "-", count: $0) }))
        for (index, cells) in body.enumerated() {
            if index > 0, rows[index].isHost, !rows[index - 1].isHost {
                lines.append("")
            }
            lines.append(render(cells))
        }
        lines.append("")
        lines.append("Medians (p99 and sample counts in the JSON). ratio: Swordfish / Linux for cycles, Linux / Swordfish")
        lines.append("for MB/s, so below 1 Swordfish is faster.")
        if marksStandIn {
            lines.append("* Swordfish's cross-core-roundtrip: its one channel stands against each Linux primitive.")
        }
        if rows.contains(where: \.isHost) {
            lines.append("host-* rows: two real cores of this machine (swordfish-hostbench), not the guests.")
        }
        for note in notes {
            lines.append("note: \(note)")
        }
        for problem in problems {
            lines.append("problem: \(problem)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A cell's text; a long reason is cut short (the problems below the table and the
    /// JSON keep it whole).
    static func text(_ cell: BenchCell) -> String {
        switch cell {
        case .measured(let figure, _): return Self.number(figure.median)
        case .absent(let why) where why.count > cellWidth: return why.prefix(cellWidth - 1) + "…"
        case .absent(let why): return why
        }
    }

    static let cellWidth = 36

    /// `12345` → `12,345`; fractions only below 10.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if abs(value) < 10, value != value.rounded() {
            return String(format: "%.2f", value)
        }
        let digits = String(Int64(value.rounded()).magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    /// Two or three significant digits: `0.042`, `0.42`, `4.2`, `42`, `420`.
    static func ratioText(_ ratio: Double) -> String {
        switch ratio {
        case ..<0.1: return String(format: "%.3f", ratio)
        case ..<10: return String(format: "%.2f", ratio)
        case ..<100: return String(format: "%.1f", ratio)
        default: return number(ratio)
        }
    }

    static func megahertz(_ value: Double?) -> String {
        value.map { "\(number($0)) MHz" } ?? "unknown"
    }
}

extension String {
    fileprivate func droppingTrailingBlanks() -> String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
