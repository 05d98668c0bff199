import Foundation

/// A JSON value, written by hand so that the report's key order and number format are
/// fixed: a figure is `1234`, never `1234.0`, and a missing one is `null`.
public enum BenchJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([BenchJSON])
    case object([(String, BenchJSON)])

    public static func == (a: BenchJSON, b: BenchJSON) -> Bool { a.text == b.text }

    /// A number, or null.
    static func maybe(_ value: Double?) -> BenchJSON { value.map(BenchJSON.number) ?? .null }
    /// A string, or null.
    static func maybe(_ value: String?) -> BenchJSON { value.map(BenchJSON.string) ?? .null }

    /// Compact text: no spaces, no newlines.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let value): return Self.format(value)
        case .string(let value): return Self.quote(value)
        case .array(let values): return "[" + values.map(\.text).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { "\(Self.quote($0.0)):\($0.1.text)" }.joined(separator: ",") + "}"
        }
    }

    /// Integers without a fraction; others to six significant digits; non-finite as
    /// null (JSON has no NaN).
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return String(format: "%.6g", value)
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

extension BenchReport {
    /// The report as `{qemu, tsc_mhz, rows: [{name, unit, swordfish, linux, ratio, …}]}`,
    /// each figure a number (the median) or null; a row's `*_note` says why a side has
    /// none. One row to a line.
    public var json: String {
        let header: [(String, BenchJSON)] = [
            ("qemu", .string(qemu)),
            ("tsc_mhz", .maybe(tscMHz)),
            ("tsc_mhz_swordfish", .maybe(swordfishTSCMHz)),
            ("tsc_mhz_linux", .maybe(linuxTSCMHz)),
            ("linux_kernel", .maybe(linuxRelease)),
            ("swordfish_append", .maybe(swordfishArguments)),
            ("linux_append", .maybe(linuxArguments)),
            ("command", .maybe(command)),
            ("ratio", .string("swordfish/linux for times, linux/swordfish for throughputs: below 1, Swordfish is faster")),
            ("notes", .array(notes.map(BenchJSON.string))),
            ("problems", .array(problems.map(BenchJSON.string))),
        ]
        var lines = ["{"]
        for (key, value) in header {
            lines.append("  \(BenchJSON.quote(key)): \(value.text),")
        }
        lines.append("  \"rows\": [")
        for (index, row) in rows.enumerated() {
            lines.append("    " + Self.json(row).text + (index == rows.count - 1 ? "" : ","))
        }
        lines.append("  ]")
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `value` to four significant digits: a ratio is no more precise than that.
    static func significant(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return value }
        let scale = pow(10, 3 - log10(value).rounded(.down))
        return (value * scale).rounded() / scale
    }

    static func json(_ row: BenchRow) -> BenchJSON {
        func note(_ cell: BenchCell) -> BenchJSON {
            switch cell {
            case .absent(let why): return .string(why)
            case .measured(_, let standIn?): return .string("figure of \(standIn)")
            case .measured: return .null
            }
        }
        return .object([
            ("name", .string(row.name)),
            ("unit", .string(row.unit)),
            ("swordfish", .maybe(row.swordfish.figure?.median)),
            ("linux", .maybe(row.linux.figure?.median)),
            ("ratio", .maybe(row.ratio.map(Self.significant))),
            ("host", .bool(row.isHost)),
            ("swordfish_p99", .maybe(row.swordfish.figure?.p99)),
            ("linux_p99", .maybe(row.linux.figure?.p99)),
            ("swordfish_samples", .maybe(row.swordfish.figure?.samples.map(Double.init))),
            ("linux_samples", .maybe(row.linux.figure?.samples.map(Double.init))),
            ("swordfish_note", note(row.swordfish)),
            ("linux_note", note(row.linux)),
        ])
    }
}

extension BenchReport {
    /// What is wrong with a report's JSON, nothing when it is well formed: an object with
    /// `qemu` (a string), `tsc_mhz` (a number or null) and `rows`, which holds every
    /// operation of the catalogue; each row has `name` and `unit`, `swordfish`, `linux`
    /// and `ratio` that are numbers or null, a ratio exactly when both sides have a
    /// figure, and a note for each side without one.
    public static func problems(inJSON data: Data) -> [String] {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return ["not a JSON object"]
        }
        var problems: [String] = []
        func isNumberOrNull(_ value: Any?) -> Bool {
            guard let value else { return false }
            if value is NSNull { return true }
            guard let number = value as? NSNumber else { return false }
            return number.doubleValue.isFinite
        }
        if !(object["qemu"] is String) { problems.append("qemu is not a string") }
        if !isNumberOrNull(object["tsc_mhz"]) { problems.append("tsc_mhz is not a number or null") }
        guard let rows = object["rows"] as? [[String: Any]] else {
            return problems + ["rows is not an array of objects"]
        }
        var names = Set<String>()
        for (index, row) in rows.enumerated() {
            guard let name = row["name"] as? String, !name.isEmpty else {
                problems.append("row \(index) has no name")
                continue
            }
            names.insert(name)
            if !(row["unit"] is String) { problems.append("\(name): unit is not a string") }
            for key in ["swordfish", "linux", "ratio"] where !isNumberOrNull(row[key]) {
                problems.append("\(name): \(key) is not a number or null")
            }
            let hasBoth = row["swordfish"] is NSNumber && row["linux"] is NSNumber
            if hasBoth != (row["ratio"] is NSNumber) {
                problems.append("\(name): ratio \(hasBoth ? "missing" : "without both figures")")
            }
            for side in ["swordfish", "linux"] where row[side] is NSNull && !(row["\(side)_note"] is String) {
                problems.append("\(name): no \(side) figure and no note saying why")
            }
        }
        for operation in BenchOperation.catalogue where !names.contains(operation.name) {
            problems.append("no row \(operation.name)")
        }
        return problems
    }
}
