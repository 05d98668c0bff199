// Every core's trace buffer, read back (`TraceDump`), as one timeline: each message's send
// paired with its receipt on the other core (same rings, same sequence number), exported
// in the Trace Event Format that Perfetto and Chrome's trace viewer open, and summed up.
//
// Tracks: one process per core, a thread for its CPU driver and one per domain (a
// monitor's ring messages and requests land on its own). Slices for domains' runs and
// system calls; a short slice for each send and receipt, joined by a flow arrow (`s` at
// the send, `f` at the receipt, one id per message); instants for interrupts, IPIs,
// upcalls, protocol steps and marks. Times are microseconds from the first event, from
// the TSC, which every core of these machines shares.
import ABI
import CapabilityProtocols
import Foundation
import KernelMessages
import MonitorProtocols
import ShootdownProtocol
import Trace

struct TraceTimeline {
    /// One message's trip: from the sending core's event to the receiving core's.
    struct Flow: Equatable {
        var channel: TraceChannel
        var from: Int
        var to: Int
        var sequence: UInt64
        var tag: UInt16
        var sent: UInt64
        var received: UInt64

        /// Cycles from send to receipt (negative only if the cores' clocks disagree).
        var wait: Int64 { Int64(bitPattern: received &- sent) }
    }

    let dumps: [TraceDump]
    /// Cores whose buffer could not be read, and why.
    let unreadable: [(core: Int, reason: String)]
    private(set) var flows: [Flow] = []
    private(set) var unmatchedSends = 0
    private(set) var unmatchedReceipts = 0
    /// The first event's time stamp: time zero.
    let origin: UInt64

    init(_ dumps: [TraceDump], unreadable: [(core: Int, reason: String)] = []) {
        self.dumps = dumps.sorted { $0.core < $1.core }
        self.unreadable = unreadable
        origin = dumps.flatMap { $0.events.map(\.timestamp) }.min() ?? 0
        struct Key: Hashable { var channel: UInt16, from: Int, to: Int, sequence: UInt64 }
        var sends: [Key: (tag: UInt16, at: UInt64)] = [:]
        for dump in dumps {
            for event in dump.events where event.kind == .messageSent {
                sends[Key(channel: event.channel, from: dump.core, to: event.peer, sequence: event.b)] = (event.tag, event.timestamp)
            }
        }
        for dump in dumps {
            for event in dump.events where event.kind == .messageReceived {
                let key = Key(channel: event.channel, from: event.peer, to: dump.core, sequence: event.b)
                guard let send = sends.removeValue(forKey: key), let channel = TraceChannel(rawValue: event.channel) else {
                    unmatchedReceipts += 1
                    continue
                }
                flows.append(Flow(channel: channel, from: key.from, to: key.to, sequence: key.sequence, tag: send.tag,
                                  sent: send.at, received: event.timestamp))
            }
        }
        unmatchedSends = sends.count
        flows.sort { ($0.sent, $0.from, $0.sequence) < ($1.sent, $1.from, $1.sequence) }
    }

    var eventCount: Int { dumps.reduce(0) { $0 + $1.events.count } }

    func microseconds(_ timestamp: UInt64, in dump: TraceDump) -> Double {
        Double(timestamp &- origin) / Double(max(dump.cyclesPerMicrosecond, 1))
    }

    static func flowID(_ channel: UInt16, from: Int, to: Int, sequence: UInt64) -> String {
        "\(channel == TraceChannel.kernelLink.rawValue ? "link" : "ring")-\(from)-\(to)-\(sequence)"
    }

    static func thread(of domain: UInt32) -> Int { domain == TraceEvent.kernel ? 0 : Int(domain) + 1 }

    // MARK: Trace Event Format

    /// The `traceEvents` array: metadata first, then each core's events in time order.
    func traceEvents() -> [[String: Any]] {
        var out: [[String: Any]] = []
        for dump in dumps {
            let pid = dump.core
            out.append(["name": "process_name", "ph": "M", "pid": pid, "args": ["name": "core \(pid)"]])
            out.append(["name": "process_sort_index", "ph": "M", "pid": pid, "args": ["sort_index": pid]])
            for domain in Set(dump.events.map(\.domain)) {
                let name = domain == TraceEvent.kernel ? "CPU driver" : "domain \(pid).\(domain)"
                out.append(["name": "thread_name", "ph": "M", "pid": pid, "tid": Self.thread(of: domain), "args": ["name": name]])
            }
            out += events(of: dump)
        }
        return out
    }

    private func events(of dump: TraceDump) -> [[String: Any]] {
        let pid = dump.core
        var out: [[String: Any]] = []
        var running: [UInt32: Double] = [:]
        var calls: [UInt32: (number: UInt64, operation: UInt64, at: Double)] = [:]
        let mark = 0.05                                  // µs: a send's or receipt's slice
        for event in dump.events {
            let ts = microseconds(event.timestamp, in: dump), tid = Self.thread(of: event.domain)
            func slice(_ name: String, from start: Double, _ args: [String: Any] = [:]) {
                out.append(["name": name, "ph": "X", "pid": pid, "tid": tid, "ts": start, "dur": max(ts - start, 0.001), "args": args])
            }
            func instant(_ name: String, _ args: [String: Any] = [:]) {
                out.append(["name": name, "ph": "i", "s": "t", "pid": pid, "tid": tid, "ts": ts, "args": args])
            }
            switch event.kind {
            case .domainEntered:
                running[event.domain] = ts
            case .domainLeft:
                if let start = running.removeValue(forKey: event.domain) {
                    slice("run", from: start, ["left": TraceLeaveReason(rawValue: event.a).map { "\($0)" } ?? "\(event.a)"])
                }
            case .systemCallEntry:
                calls[event.domain] = (event.a, event.b, ts)
            case .systemCallExit:
                if let call = calls.removeValue(forKey: event.domain), call.number == event.a {
                    slice(Self.systemCallName(call.number, operation: call.operation), from: call.at, ["status": event.b])
                }
            case .messageSent, .messageReceived:
                let sent = event.kind == .messageSent
                let from = sent ? pid : event.peer, to = sent ? event.peer : pid
                let ring = event.channel == TraceChannel.kernelLink.rawValue ? "link" : "ring"
                let message = Self.name(of: event.tag, on: event.channel)
                let name = sent ? "send \(message) to core \(to)" : "receive \(message) from core \(from)"
                out.append(["name": name, "ph": "X", "pid": pid, "tid": tid, "ts": ts, "dur": mark,
                            "args": ["channel": ring, "sequence": event.b, "tag": Self.hex(event.tag)]])
                out.append(["name": "message", "cat": ring, "ph": sent ? "s" : "f", "bp": "e", "pid": pid, "tid": tid, "ts": ts + mark / 2,
                            "id": Self.flowID(event.channel, from: from, to: to, sequence: event.b)])
            case .upcall: instant("upcall", ["reason": event.a])
            case .interprocessorInterrupt: instant("IPI to core \(event.a)", ["vector": event.b])
            case .interrupt: instant("interrupt \(event.a)")
            case .protocolStep: instant("step \(Self.hex(UInt16(truncatingIfNeeded: event.a)))", ["detail": event.b])
            case .mark: instant("mark", ["a": event.a, "b": event.b])
            }
        }
        // A slice is known at its end but starts earlier: in start order, as viewers expect.
        return out.sorted { ($0["ts"] as? Double ?? 0) < ($1["ts"] as? Double ?? 0) }
    }

    /// The whole JSON object: `traceEvents` and the time unit.
    func json() throws -> Data {
        try JSONSerialization.data(withJSONObject: ["traceEvents": traceEvents(), "displayTimeUnit": "ns"], options: [])
    }

    static func systemCallName(_ number: UInt64, operation: UInt64) -> String {
        guard let call = SystemCallNumber(rawValue: number) else { return "system call \(number)" }
        guard call == .invoke else { return "\(call)" }
        return CapabilityOperation(rawValue: operation).map { "invoke \($0)" } ?? "invoke \(operation)"
    }

    static func hex(_ tag: UInt16) -> String { "0x" + String(tag, radix: 16) }

    /// A message's name: its tag's case in the kernels' or the shootdown protocol on the
    /// kernels' links, or in the monitors' or capability protocols on the monitors'
    /// rings; else the number.
    static func name(of tag: UInt16, on channel: UInt16) -> String {
        if channel == TraceChannel.kernelLink.rawValue {
            return KernelMessage.Tag(rawValue: tag).map { "\($0)" } ?? ShootdownMessage.Tag(rawValue: tag).map { "\($0)" } ?? hex(tag)
        }
        return MonitorMessage.Tag(rawValue: tag).map { "\($0)" } ?? CapabilityMessage.Tag(rawValue: tag).map { "\($0)" } ?? hex(tag)
    }

    // MARK: Summary

    /// A few lines: totals, messages per channel, the busiest core, the longest waits.
    func summary(limit: Int = 5) -> [String] {
        var lines: [String] = []
        let lost = dumps.reduce(UInt64(0)) { $0 + $1.lost }, missing = dumps.reduce(0) { $0 + $1.missing }
        let malformed = dumps.reduce(0) { $0 + $1.malformed }
        lines.append("trace: \(dumps.count) cores, \(eventCount) events (\(lost) lost to wrapping, \(missing) missing, \(malformed) malformed), "
                     + "\(flows.count) messages matched, \(unmatchedSends) sends and \(unmatchedReceipts) receipts unmatched")
        for (core, reason) in unreadable { lines.append("trace: core \(core): \(reason); its events are left out") }
        struct Channel: Hashable { var channel: TraceChannel, from: Int, to: Int }
        let counts = Dictionary(grouping: flows, by: { Channel(channel: $0.channel, from: $0.from, to: $0.to) }).mapValues(\.count)
        let busiestChannels = counts.sorted { ($0.value, $1.key.from, $1.key.to) > ($1.value, $0.key.from, $0.key.to) }.prefix(limit)
        if !busiestChannels.isEmpty {
            lines.append("messages per channel: " + busiestChannels.map {
                "core \($0.key.from) -> \($0.key.to) (\($0.key.channel == .kernelLink ? "link" : "monitor ring")) \($0.value)"
            }.joined(separator: ", "))
        }
        if let busiest = dumps.max(by: { ($0.events.count, $1.core) < ($1.events.count, $0.core) }) {
            lines.append("busiest core: core \(busiest.core), \(busiest.events.count) events")
        }
        let rate = Double(max(dumps.first?.cyclesPerMicrosecond ?? 1, 1))
        let waits = flows.sorted { $0.wait > $1.wait }.prefix(limit)
        if !waits.isEmpty {
            lines.append("longest waits: " + waits.map {
                "core \($0.from) -> \($0.to) \(Self.name(of: $0.tag, on: $0.channel.rawValue)) \(String(format: "%.1f", Double($0.wait) / rate)) us"
            }.joined(separator: ", "))
        }
        return lines
    }
}
