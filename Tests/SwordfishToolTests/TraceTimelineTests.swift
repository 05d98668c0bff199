import ABI
import Foundation
import Trace
import XCTest
@testable import SwordfishTool

final class TraceTimelineTests: XCTestCase {
    func sent(_ at: UInt64, to peer: Int, sequence: UInt64, channel: TraceChannel = .kernelLink, domain: UInt32 = TraceEvent.kernel) -> TraceEvent {
        TraceEvent(timestamp: at, kind: .messageSent, channel: channel.rawValue, domain: domain,
                   a: TraceMessageWord.make(peer: peer, tag: 18), b: sequence)
    }

    func received(_ at: UInt64, from peer: Int, sequence: UInt64, channel: TraceChannel = .kernelLink, domain: UInt32 = TraceEvent.kernel) -> TraceEvent {
        TraceEvent(timestamp: at, kind: .messageReceived, channel: channel.rawValue, domain: domain,
                   a: TraceMessageWord.make(peer: peer, tag: 18), b: sequence)
    }

    func dump(_ core: Int, _ events: [TraceEvent], lost: UInt64 = 0) -> TraceDump {
        TraceDump(core: core, cyclesPerMicrosecond: 1000, events: events, lost: lost, missing: 0, malformed: 0)
    }

    /// Core 0 multicasts to 1 and 2, which answer; core 1's monitor sends on its ring.
    var machine: [TraceDump] {
        [dump(0, [TraceEvent(timestamp: 1000, kind: .domainEntered, domain: 1),
                  TraceEvent(timestamp: 1100, kind: .systemCallEntry, domain: 1, a: SystemCallNumber.invoke.rawValue, b: CapabilityOperation.command.rawValue),
                  sent(1200, to: 1, sequence: 7), sent(1300, to: 2, sequence: 4),
                  TraceEvent(timestamp: 1400, kind: .interprocessorInterrupt, a: 1, b: 0xF1),
                  received(5000, from: 1, sequence: 9), received(6000, from: 2, sequence: 3),
                  TraceEvent(timestamp: 6100, kind: .systemCallExit, domain: 1, a: SystemCallNumber.invoke.rawValue, b: 0),
                  TraceEvent(timestamp: 6200, kind: .domainLeft, domain: 1, a: TraceLeaveReason.wait.rawValue),
                  received(7000, from: 1, sequence: 2, channel: .monitorRing, domain: 1)]),
         dump(1, [received(2000, from: 0, sequence: 7), sent(2500, to: 0, sequence: 9),
                  sent(2600, to: 0, sequence: 2, channel: .monitorRing, domain: 1)]),
         dump(2, [received(3000, from: 0, sequence: 4), sent(3200, to: 0, sequence: 3)])]
    }

    func testEverySendMeetsItsReceipt() {
        let timeline = TraceTimeline(machine)
        XCTAssertEqual(timeline.flows.count, 5)
        XCTAssertEqual([timeline.unmatchedSends, timeline.unmatchedReceipts], [0, 0])
        XCTAssertEqual(timeline.flows.first, TraceTimeline.Flow(channel: .kernelLink, from: 0, to: 1, sequence: 7, tag: 18, sent: 1200, received: 2000))
        // The same sequence number on another ring is another message.
        XCTAssertTrue(timeline.flows.contains { $0.channel == .monitorRing && $0.from == 1 && $0.sequence == 2 })
    }

    func testTheExportHasEveryCoreFlowsAndOrderedTimes() throws {
        let timeline = TraceTimeline(machine)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: timeline.json()) as? [String: Any])
        let events = try XCTUnwrap(object["traceEvents"] as? [[String: Any]])
        let processes = events.filter { $0["name"] as? String == "process_name" }.compactMap { $0["pid"] as? Int }
        XCTAssertEqual(Set(processes), [0, 1, 2])
        let starts = events.filter { $0["ph"] as? String == "s" }.compactMap { $0["id"] as? String }
        let finishes = events.filter { $0["ph"] as? String == "f" }.compactMap { $0["id"] as? String }
        XCTAssertEqual(starts.count, 5)
        XCTAssertEqual(Set(starts), Set(finishes))
        XCTAssertTrue(starts.contains("link-0-1-7"))
        for core in 0..<3 {
            let times = events.filter { $0["pid"] as? Int == core && $0["ph"] as? String != "M" }.compactMap { $0["ts"] as? Double }
            XCTAssertEqual(times, times.sorted(), "core \(core)'s events are in time order")
        }
        let slices = events.filter { $0["ph"] as? String == "X" }.compactMap { $0["name"] as? String }
        XCTAssertTrue(slices.contains("run"))
        XCTAssertTrue(slices.contains("invoke command"))
        XCTAssertTrue(slices.contains("send multicast to core 1"))
    }

    func testWhatWasLostOrCutShowsInTheSummary() {
        var dumps = machine
        dumps[1] = dump(1, [sent(2500, to: 0, sequence: 9)], lost: 40)          // its receipt of 7 was overwritten
        let timeline = TraceTimeline(dumps, unreadable: [(core: 3, reason: "bad trace data (notATrace)")])
        XCTAssertEqual(timeline.unmatchedSends, 1)                               // 0 -> 1 #7
        XCTAssertEqual(timeline.unmatchedReceipts, 1)                            // 1 -> 0 ring #2
        let summary = timeline.summary()
        XCTAssertTrue(summary[0].contains("40 lost to wrapping"), summary[0])
        XCTAssertTrue(summary[0].contains("1 sends and 1 receipts unmatched"), summary[0])
        XCTAssertTrue(summary.contains("trace: core 3: bad trace data (notATrace); its events are left out"))
        XCTAssertTrue(summary.contains("busiest core: core 0, 10 events"))
    }

    func testTheKernelsBufferLinesAreRead() {
        XCTAssertEqual(TraceSession.buffer(in: "trace: core 3 buffer 0x1234000 bytes 524288 off")?.address, 0x123_4000)
        XCTAssertNil(TraceSession.buffer(in: "trace: core 3 has no memory for a buffer"))
        XCTAssertNil(TraceSession.buffer(in: "trace: core x buffer 0x10 bytes 5 off"))
        XCTAssertNil(TraceSession.buffer(in: "trace: core 1 buffer 1234 bytes 5 off"))
    }

    func testTheMonitorSocketBecomesQEMUsMonitor() {
        var configuration = QEMUConfiguration(kernel: "k")
        XCTAssertTrue(configuration.command.arguments.contains("none"))
        configuration.monitorSocket = "/tmp/m.sock"
        XCTAssertTrue(configuration.command.arguments.contains("unix:/tmp/m.sock,server=on,wait=off"))
    }
}
