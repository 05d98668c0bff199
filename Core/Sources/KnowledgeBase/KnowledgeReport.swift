// The knowledge base as text, one line each: what the kernel shell's `skb` prints from
// core 0's base and what every monitor prints from its replica (`names skb`), so the
// two can be compared by eye and are written once.

import Basics

extension KnowledgeBase {
    /// A table of the cores (APIC ID, package, core, thread, NUMA node, caches), then the
    /// latency matrix, one row per core.
    public var reportLines: [String] {
        var lines = ["core  apic  package  core  thread  numa  caches (level/kind: sharing group)"]
        for facts in cores {
            var caches = ""
            for cache in facts.caches {
                let kind = cache.kind == .data ? "d" : cache.kind == .instruction ? "i" : "u"
                caches += " L\(cache.level)\(kind):\(cache.sharingGroup)"
            }
            let numa = facts.numaNode.map { "\($0)" } ?? "-"
            lines.append("\(Self.padded(facts.core.rawValue, 4))  \(Self.padded(Int(facts.apicID.rawValue), 4))  "
                + "\(Self.padded(facts.place.package, 7))  \(Self.padded(facts.place.core, 4))  "
                + "\(Self.padded(facts.place.thread, 6))  \(Self.padded(numa, 4))\(caches)")
        }
        lines.append("latency matrix (round trip, cycles; row = from, column = to):")
        var header = "     "
        for core in 0..<latency.count { header += Self.padded(core, 9) }
        lines.append(header)
        for from in 0..<latency.count {
            var row = Self.padded(from, 4) + " "
            for to in 0..<latency.count {
                let cycles = latency[CoreID(from), CoreID(to)]
                row += from == to ? "        -" : cycles.map { Self.padded(Int(clamping: $0), 9) } ?? "        ?"
            }
            lines.append(row)
        }
        return lines
    }

    static func padded(_ value: Int, _ width: Int) -> String { padded("\(value)", width) }

    static func padded(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.utf8.count)) + text
    }
}
