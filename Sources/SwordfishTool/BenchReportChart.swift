import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

extension BenchReport {
    /// The report as a bar chart: a pair of bars per row (Swordfish, Linux) on a
    /// logarithmic axis, since the rows span from tens of cycles to millions. Rows of
    /// another unit (MB/s) get a panel and an axis of their own. A side without a figure
    /// gets its reason written where its bar would be.
    public var svg: String {
        BenchChart(report: self).render()
    }
}

/// The drawing behind `BenchReport.svg` (and, with its own words, the simulator's
/// revoke cost chart), from the shared pieces in SVG.swift.
struct BenchChart {
    static let width = 960.0
    static let labelWidth = 220.0
    static let plotLeft = labelWidth + 10
    static let plotRight = width - 90
    static let barHeight = 11.0
    static let rowHeight = 34.0
    static let swordfishColour = "#2b6cb0"
    static let linuxColour = "#dd6b20"
    static let absentColour = "#777777"

    var title = "Swordfish and Linux under the same QEMU line"
    /// Small print under the title (the report's QEMU line).
    var subtitle: String
    /// The two bars of a row: `BenchRow.swordfish`'s first, `linux`'s second.
    var sides = (first: "Swordfish", second: "Linux")
    var note = "medians, logarithmic axis; host-* rows: real host cores"
    var documentTitle = "swordfish bench"
    var rows: [BenchRow]

    init(report: BenchReport) {
        subtitle = report.qemu
        rows = report.rows
    }

    init(title: String, subtitle: String, sides: (first: String, second: String), note: String, documentTitle: String, rows: [BenchRow]) {
        self.title = title
        self.subtitle = subtitle
        self.sides = sides
        self.note = note
        self.documentTitle = documentTitle
        self.rows = rows
    }

    /// The rows grouped by unit, in order of first appearance.
    var panels: [(unit: String, rows: [BenchRow])] {
        var result: [(unit: String, rows: [BenchRow])] = []
        for row in rows {
            if let index = result.firstIndex(where: { $0.unit == row.unit }) {
                result[index].rows.append(row)
            } else {
                result.append((row.unit, [row]))
            }
        }
        return result
    }

    func render() -> String {
        var (body, y) = SVG.header(title: title, subtitle: subtitle,
                                   legend: [(sides.first, Self.swordfishColour), (sides.second, Self.linuxColour)], note: note)
        for panel in panels {
            y = draw(panel.unit, panel.rows, top: y, into: &body)
        }
        return SVG.document(width: Self.width, height: y + 10, title: documentTitle, description: subtitle, body: body)
    }

    /// One panel: a heading, the decade grid, a pair of bars per row. Returns the
    /// panel's bottom.
    private func draw(_ unit: String, _ rows: [BenchRow], top: Double, into body: inout [String]) -> Double {
        let values = rows.flatMap { [$0.swordfish.figure?.median, $0.linux.figure?.median] }.compactMap { $0 }.filter { $0 > 0 }
        let axis = Self.axis(for: values)
        body.append(SVG.text("\(unit) (log scale)", x: 12, y: top + 4, size: 13, weight: "bold"))
        let gridTop = top + 14
        let gridBottom = gridTop + Double(rows.count) * Self.rowHeight
        for exponent in axis.low...axis.high {
            let x = position(pow(10, Double(exponent)), axis)
            body.append(SVG.line(x1: x, y1: gridTop, x2: x, y2: gridBottom))
            body.append(SVG.text(Self.decade(exponent), x: x, y: gridBottom + 14, size: 10, colour: SVG.greyText, anchor: "middle"))
        }
        for (index, row) in rows.enumerated() {
            let rowTop = gridTop + Double(index) * Self.rowHeight + 5
            body.append(SVG.text(row.name, x: Self.labelWidth, y: rowTop + Self.barHeight + 4, size: 12, anchor: "end"))
            bar(row.swordfish, side: sides.first, colour: Self.swordfishColour, y: rowTop, axis, into: &body)
            bar(row.linux, side: sides.second, colour: Self.linuxColour, y: rowTop + Self.barHeight + 2, axis, into: &body)
        }
        return gridBottom + 34
    }

    private func bar(_ cell: BenchCell, side: String, colour: String, y: Double,
                     _ axis: (low: Int, high: Int), into body: inout [String]) {
        guard let value = cell.figure?.median, value > 0 else {
            let why = cell.absence ?? "no figure"
            body.append(SVG.text("\(side): \(why)", x: Self.plotLeft + 4, y: y + Self.barHeight - 2, size: 10, colour: Self.absentColour))
            return
        }
        let end = max(position(value, axis), Self.plotLeft + 1)
        body.append(SVG.rect(x: Self.plotLeft, y: y, width: end - Self.plotLeft, height: Self.barHeight, colour: colour))
        body.append(SVG.text(BenchReport.number(value), x: end + 4, y: y + Self.barHeight - 2, size: 10, colour: "#222222"))
    }

    /// Decades that hold every value: 10^low ≤ min, max ≤ 10^high, at least one decade.
    static func axis(for values: [Double]) -> (low: Int, high: Int) {
        guard let smallest = values.min(), let largest = values.max() else { return (0, 3) }
        let low = Int(log10(smallest).rounded(.down))
        let high = max(Int(log10(largest).rounded(.up)), low + 1)
        return (low, high)
    }

    private func position(_ value: Double, _ axis: (low: Int, high: Int)) -> Double {
        let fraction = (log10(value) - Double(axis.low)) / Double(axis.high - axis.low)
        return Self.plotLeft + fraction * (Self.plotRight - Self.plotLeft)
    }

    /// 10^exponent as a tick label: `1`, `100`, `10k`, `1M`, `0.1`.
    static func decade(_ exponent: Int) -> String {
        switch exponent {
        case ..<0: return String(format: "%g", pow(10, Double(exponent)))
        case 0..<3: return String(Int(pow(10, Double(exponent))))
        case 3..<6: return "\(Int(pow(10, Double(exponent - 3))))k"
        case 6..<9: return "\(Int(pow(10, Double(exponent - 6))))M"
        default: return "1e\(exponent)"
        }
    }
}

extension BenchReport {
    /// What is wrong with a chart, nothing when it is well-formed XML whose root is an
    /// SVG element with at least one bar or reason per side of each row.
    public static func problems(inSVG data: Data) -> [String] {
        let checker = SVGChecker()
        let parser = XMLParser(data: data)
        parser.delegate = checker
        guard parser.parse() else {
            return ["not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error") at line \(parser.lineNumber)"]
        }
        var problems: [String] = []
        if checker.root != "svg" { problems.append("the root element is \(checker.root ?? "missing"), not svg") }
        if checker.rectangles < 2 { problems.append("no bars") }
        return problems
    }
}

/// Notes the root element and counts `rect` elements.
private final class SVGChecker: NSObject, XMLParserDelegate {
    var root: String?
    var rectangles = 0

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil { root = name }
        if name == "rect" { rectangles += 1 }
    }
}
