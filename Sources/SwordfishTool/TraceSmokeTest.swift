import Foundation
import KernelMessages
import Trace

/// `swordfish trace` on four cores around one `multicast`: every core's buffer is read
/// and has events, every message sent while tracing meets its receipt, the multicast
/// reaches every core, and the export is a Trace Event Format object with every core.
/// One test per check.
enum TraceSmokeTest {
    static let cores = 4

    /// The problems of each check, by name.
    static func problems(of timeline: TraceTimeline) -> [(String, [String])] {
        let read = timeline.unreadable.map { "core \($0.core): \($0.reason)" }
            + (timeline.dumps.count == cores ? [] : ["\(timeline.dumps.count) of \(cores) buffers read"])
        let quiet = timeline.dumps.filter { $0.events.isEmpty }.map { "core \($0.core) recorded nothing" }
        var unmatched: [String] = []
        if timeline.flows.isEmpty { unmatched.append("no message was matched at all") }
        // A receipt without its send is a message sent before tracing began (the
        // monitors may still be talking after boot); a send without its receipt is lost.
        if timeline.unmatchedSends > 0 { unmatched.append("\(timeline.unmatchedSends) sends have no receipt") }
        let multicast = KernelMessage.Tag.multicast.rawValue
        let reached = Set(timeline.flows.filter { $0.channel == .kernelLink && $0.tag == multicast }.map(\.to))
        let missed = (1..<cores).filter { !reached.contains($0) }.map { "core \($0) received no multicast" }
        var format: [String] = []
        do {
            let object = try JSONSerialization.jsonObject(with: timeline.json()) as? [String: Any]
            let events = object?["traceEvents"] as? [[String: Any]] ?? []
            let named = Set(events.filter { $0["name"] as? String == "process_name" }.compactMap { $0["pid"] as? Int })
            if named != Set(0..<cores) { format.append("the tracks are cores \(named.sorted()), not 0–\(cores - 1)") }
        } catch {
            format.append("the export is not JSON: \(error)")
        }
        return [("every core's trace buffer is read", read), ("every core recorded events", quiet),
                ("every message sent while tracing meets its receipt", unmatched),
                ("the traced multicast reaches every core", missed), ("the trace is a Trace Event Format object", format)]
    }

    static func run(repository: Repository, kernel: String, accelerator: Accelerator) -> TestCounts {
        let log = "\(repository.logs)/trace-smoke.log"
        let configuration = QEMUConfiguration(kernel: kernel, cores: cores, memory: MemorySize(mebibytes: 256)!, accelerator: accelerator,
                                              initrd: KernelBuild.existingBootImage(for: kernel))
        RawOutput.note("trace: swordfish trace --cores \(cores) -- multicast > \(repository.relative(log))")
        let timeline: TraceTimeline
        do {
            timeline = try TraceSession(configuration: configuration, commands: ["multicast"], log: log, timeout: .seconds(120)).run()
        } catch {
            TestRunner.report("FAIL trace: \(error)")
            return TestCounts(failed: 1)
        }
        return TestCounts.judging(problems(of: timeline), suite: "trace", log: repository.relative(log))
    }
}
