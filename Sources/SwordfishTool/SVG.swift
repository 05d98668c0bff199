// Plain SVG 1.1 written by hand: the pieces every chart the tool draws shares — the
// bench report's bars (BenchReportChart.swift) and the simulator's unmap cost lines
// (LineChart.swift). No library: the output must read the same everywhere and pass
// `BenchReport.problems(inSVG:)`.
import Foundation

enum SVG {
    static let greyText = "#444444"

    /// The whole document: a white page around `body`.
    static func document(width: Double, height: Double, title: String, description: String, body: [String]) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(format(width))" height="\(format(height))" viewBox="0 0 \(format(width)) \(format(height))" font-family="sans-serif">
        <title>\(escape(title))</title>
        <desc>\(escape(description))</desc>
        <rect x="0" y="0" width="\(format(width))" height="\(format(height))" fill="#ffffff"/>
        \(body.joined(separator: "\n"))
        </svg>

        """
    }

    /// A chart's title, its small print (wrapped), and a legend: a coloured key per
    /// entry, then `note`. Returns the elements and the y below them.
    static func header(title: String, subtitle: String, legend: [(label: String, colour: String)], note: String) -> (body: [String], bottom: Double) {
        var body: [String] = []
        var y = 28.0
        body.append(text(title, x: 12, y: y, size: 16, weight: "bold"))
        y += 18
        for line in wrap(subtitle, width: 150) {
            body.append(text(line, x: 12, y: y, size: 10, colour: greyText, family: "monospace"))
            y += 13
        }
        y += 6
        // About 7 units a character at size 12; keys at least 98 apart.
        var x = 12.0
        for (index, entry) in legend.enumerated() {
            x = max(x, 12 + 98 * Double(index))
            body.append(rect(x: x, y: y - 9, width: 12, height: 10, colour: entry.colour))
            body.append(text(entry.label, x: x + 18, y: y, size: 12))
            x += 18 + Double(entry.label.count) * 7 + 17
        }
        body.append(text(note, x: max(190, x + 10), y: y, size: 11, colour: greyText))
        return (body, y + 22)
    }

    static func text(_ content: String, x: Double, y: Double, size: Int, colour: String = "#000000",
                     weight: String? = nil, anchor: String? = nil, family: String? = nil) -> String {
        var attributes = "x=\"\(format(x))\" y=\"\(format(y))\" font-size=\"\(size)\" fill=\"\(colour)\""
        if let weight { attributes += " font-weight=\"\(weight)\"" }
        if let anchor { attributes += " text-anchor=\"\(anchor)\"" }
        if let family { attributes += " font-family=\"\(family)\"" }
        return "<text \(attributes)>\(escape(content))</text>"
    }

    static func rect(x: Double, y: Double, width: Double, height: Double, colour: String) -> String {
        "<rect x=\"\(format(x))\" y=\"\(format(y))\" width=\"\(format(width))\" height=\"\(format(height))\" fill=\"\(colour)\"/>"
    }

    /// A grid or axis line.
    static func line(x1: Double, y1: Double, x2: Double, y2: Double, colour: String = "#dddddd") -> String {
        "<line x1=\"\(format(x1))\" y1=\"\(format(y1))\" x2=\"\(format(x2))\" y2=\"\(format(y2))\" stroke=\"\(colour)\" stroke-width=\"1\"/>"
    }

    static func format(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// Text content and attribute values with XML's five special characters escaped.
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&apos;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Splits at spaces into lines of at most `width` characters (longer words alone).
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty, current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += (current.isEmpty ? "" : " ") + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
