// Lines over a shared x axis, one panel per measure, on a logarithmic y axis: the shape
// of the multikernel paper's Fig. 6 (cost of each multicast tree against the core
// count), drawn for `swordfish simulate --unmap-cost` from the shared SVG pieces.
import Foundation

struct LineChart {
    static let width = 960.0
    static let plotLeft = 70.0
    static let plotRight = width - 150
    static let plotHeight = 200.0

    struct Series {
        var label: String
        var colour: String
        var points: [(x: Double, y: Double)]
    }

    struct Panel {
        var title: String
        var series: [Series]
    }

    var title: String
    var subtitle: String
    var note: String
    var documentTitle: String
    var xLabel: String
    var panels: [Panel]

    func render() -> String {
        let legend = (panels.first?.series ?? []).map { ($0.label, $0.colour) }
        var (body, y) = SVG.header(title: title, subtitle: subtitle, legend: legend, note: note)
        for panel in panels { y = draw(panel, top: y, into: &body) }
        return SVG.document(width: Self.width, height: y + 10, title: documentTitle, description: subtitle, body: body)
    }

    /// One panel: its title, the decade grid, a tick per x value that has room, and a
    /// line with a dot per point for each series. Returns the panel's bottom.
    private func draw(_ panel: Panel, top: Double, into body: inout [String]) -> Double {
        let points = panel.series.flatMap(\.points)
        let axis = BenchChart.axis(for: points.map(\.y).filter { $0 > 0 })
        let largestX = max(points.map(\.x).max() ?? 1, 1)
        let gridBottom = top + 14 + Self.plotHeight
        func x(_ value: Double) -> Double { Self.plotLeft + value / largestX * (Self.plotRight - Self.plotLeft) }
        func y(_ value: Double) -> Double {
            let fraction = (log10(max(value, 1e-9)) - Double(axis.low)) / Double(axis.high - axis.low)
            return gridBottom - fraction * Self.plotHeight
        }
        body.append(SVG.text("\(panel.title) (log scale)", x: 12, y: top + 4, size: 13, weight: "bold"))
        for exponent in axis.low...axis.high {
            let level = y(pow(10, Double(exponent)))
            body.append(SVG.line(x1: Self.plotLeft, y1: level, x2: Self.plotRight, y2: level))
            body.append(SVG.text(BenchChart.decade(exponent), x: Self.plotLeft - 6, y: level + 4, size: 10, colour: SVG.greyText, anchor: "end"))
        }
        var lastTick = -Double.infinity
        for value in Set(points.map(\.x)).sorted() where x(value) - lastTick >= 24 {
            lastTick = x(value)
            body.append(SVG.line(x1: lastTick, y1: gridBottom, x2: lastTick, y2: gridBottom + 4, colour: SVG.greyText))
            body.append(SVG.text(BenchReport.number(value), x: lastTick, y: gridBottom + 16, size: 10, colour: SVG.greyText, anchor: "middle"))
        }
        body.append(SVG.text(xLabel, x: Self.plotRight, y: gridBottom + 30, size: 11, colour: SVG.greyText, anchor: "end"))
        // Each line's last value beside its end, moved down where ends meet so that no
        // two labels overlap.
        var labels: [(y: Double, x: Double, text: String, colour: String)] = []
        for series in panel.series where !series.points.isEmpty {
            let path = series.points.map { "\(SVG.format(x($0.x))),\(SVG.format(y($0.y)))" }.joined(separator: " ")
            body.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(series.colour)\" stroke-width=\"2\"/>")
            for point in series.points {
                body.append("<circle cx=\"\(SVG.format(x(point.x)))\" cy=\"\(SVG.format(y(point.y)))\" r=\"3\" fill=\"\(series.colour)\"/>")
            }
            if let last = series.points.last {
                labels.append((y(last.y) + 4, x(last.x) + 8, "\(series.label) \(BenchReport.number(last.y))", series.colour))
            }
        }
        var below = -Double.infinity
        for label in labels.sorted(by: { $0.y < $1.y }) {
            below = max(label.y, below + 12)
            body.append(SVG.text(label.text, x: label.x, y: below, size: 10, colour: label.colour))
        }
        return max(gridBottom, below) + 44
    }
}
