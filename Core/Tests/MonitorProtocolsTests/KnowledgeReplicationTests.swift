import XCTest
import Basics
import Channel
import KnowledgeBase
@testable import MonitorProtocols

/// The knowledge base's replication, one monitor at a time (the simulation tests run it
/// among the other protocols, with faults).
final class KnowledgeReplicationTests: XCTestCase {
    let base = KnowledgeBase.intel2x4

    func monitor(_ core: Int, timeout: UInt64 = 10) -> Monitor {
        Monitor(core: CoreID(core), coreCount: 3,
                configuration: Monitor.Configuration(requestTimeout: timeout, knowledgeSource: CoreID(0)))
    }

    /// What `effects` send to `core`, in order.
    func sent(_ effects: [MonitorEffect], to core: Int) -> [MonitorMessage] {
        effects.compactMap { if case .send(let message, CoreID(core)) = $0 { return message } else { return nil } }
    }

    func deliver(_ messages: [MonitorMessage], to m: inout Monitor, from core: Int = 0) -> [MonitorEffect] {
        messages.flatMap { m.receive($0.encode(), from: CoreID(core)) }
    }

    func testTheSourcePublishesToEveryMonitorAndEachInstallsWhenComplete() {
        var source = monitor(0)
        let effects = source.publishKnowledge(base)
        XCTAssertEqual(source.knowledge?.base, base)
        XCTAssertEqual(source.knowledge?.generation, KnowledgeGeneration(1))
        let stream = MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(1), bytes: base.encoded())
        XCTAssertEqual(sent(effects, to: 1), stream)
        XCTAssertEqual(sent(effects, to: 2), stream)
        XCTAssertTrue(source.isIdle)

        var replica = monitor(1)
        XCTAssertFalse(replica.isIdle, "waits for the base")
        XCTAssertEqual(deliver(Array(stream.dropLast()), to: &replica), [])
        XCTAssertNil(replica.knowledge, "not installed before the last piece")
        _ = deliver([stream.last!], to: &replica)
        XCTAssertEqual(replica.knowledge, source.knowledge)
        XCTAssertEqual(replica.knowledge?.digest, KnowledgeEncoding.digest(base.encoded()))
        XCTAssertTrue(replica.isIdle)
        XCTAssertEqual(replica.counters, MonitorCounters())
    }

    func testAMonitorWithoutTheBaseAsksAfterASilenceAndTheSourceSendsItAgain() {
        var source = monitor(0)
        _ = source.publishKnowledge(base)
        var late = monitor(2, timeout: 10)
        XCTAssertEqual(late.tick(now: MonitorTime(9)), [])
        XCTAssertEqual(late.tick(now: MonitorTime(10)), [.send(.knowledgeRequest, to: CoreID(0))])
        XCTAssertEqual(late.tick(now: MonitorTime(15)), [], "once per timeout")
        let answer = source.receive(MonitorMessage.knowledgeRequest.encode(), from: CoreID(2))
        XCTAssertEqual(sent(answer, to: 2), MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(1), bytes: base.encoded()))
        // Half of it arrives: no new request while it keeps coming.
        let stream = sent(answer, to: 2)
        _ = deliver(Array(stream.prefix(5)), to: &late)
        XCTAssertEqual(late.tick(now: MonitorTime(24)), [])
        _ = deliver(Array(stream.dropFirst(5)), to: &late)
        XCTAssertEqual(late.knowledge, source.knowledge)
        XCTAssertEqual(late.tick(now: MonitorTime(100)), [], "nothing to ask once it is here")
    }

    func testTheSourceWithoutABaseSaysNothingAndTheAskerAsksAgain() {
        var source = monitor(0)
        XCTAssertEqual(source.receive(MonitorMessage.knowledgeRequest.encode(), from: CoreID(1)), [])
        var asker = monitor(1)
        XCTAssertEqual(asker.tick(now: MonitorTime(10)), [.send(.knowledgeRequest, to: CoreID(0))])
        XCTAssertEqual(asker.tick(now: MonitorTime(20)), [.send(.knowledgeRequest, to: CoreID(0))])
        XCTAssertEqual(source.counters.dropped, 0)
    }

    func testARepeatedAnswerIsStaleNotBad() {
        var replica = monitor(1)
        let stream = MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(1), bytes: base.encoded())
        _ = deliver(stream + stream, to: &replica)
        XCTAssertEqual(replica.knowledge?.base, base)
        XCTAssertEqual(replica.counters.staleKnowledge, stream.count)
        XCTAssertEqual(replica.counters.dropped, 0)
        // A newer generation replaces it.
        let other = KnowledgeBase.amd4x4
        _ = deliver(MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(2), bytes: other.encoded()), to: &replica)
        XCTAssertEqual(replica.knowledge?.base, other)
        XCTAssertEqual(replica.knowledge?.generation, KnowledgeGeneration(2))
    }

    func testWhatDoesNotFitIsCountedAndDropped() {
        let bytes = base.encoded()
        let stream = MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(1), bytes: bytes)
        func outcome(_ messages: [MonitorMessage], from sender: Int = 0, at core: Int = 1) -> Monitor {
            var m = monitor(core)
            _ = deliver(messages, to: &m, from: sender)
            return m
        }
        // From a core that is not the source: each message counted, nothing installed.
        var wrong = monitor(1)
        _ = deliver(stream, to: &wrong, from: 2)
        XCTAssertNil(wrong.knowledge)
        XCTAssertEqual(wrong.counters.badKnowledge, stream.count)
        // A piece missing: the stream is cut, every later piece is out of place.
        var cut = stream
        cut.remove(at: 3)
        let gap = outcome(cut)
        XCTAssertNil(gap.knowledge)
        XCTAssertEqual(gap.counters.badKnowledge, cut.count - 3)
        // Two pieces swapped.
        var swapped = stream
        swapped.swapAt(1, 2)
        XCTAssertNil(outcome(swapped).knowledge)
        // Pieces with no header, or for another generation.
        XCTAssertEqual(outcome(Array(stream.dropFirst())).counters.badKnowledge, stream.count - 1)
        let mixed = [stream[0]] + MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(2), bytes: bytes).dropFirst()
        XCTAssertNil(outcome(mixed).knowledge)
        // A wrong checksum, and bytes that are not a base (the checksum agrees).
        let badSum = [MonitorMessage.knowledgeHeader(generation: KnowledgeGeneration(1), byteCount: bytes.count, checksum: 1)] + stream.dropFirst()
        XCTAssertNil(outcome(badSum).knowledge)
        XCTAssertEqual(outcome(badSum).counters.badKnowledge, 1)
        let garbage = Array(repeating: UInt8(7), count: 100)
        let notABase = outcome(MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(1), bytes: garbage))
        XCTAssertNil(notABase.knowledge)
        XCTAssertEqual(notABase.counters.badKnowledge, 1)
        // A piece longer than what the header announced.
        let short = [MonitorMessage.knowledgeHeader(generation: KnowledgeGeneration(1), byteCount: 10, checksum: 0), stream[1]]
        XCTAssertEqual(outcome(short).counters.badKnowledge, 1)
        // A request at a monitor that is not the source; a publication there.
        XCTAssertEqual(outcome([.knowledgeRequest], from: 2).counters.badKnowledge, 1)
        var notSource = monitor(1)
        XCTAssertEqual(notSource.publishKnowledge(base), [])
        XCTAssertNil(notSource.knowledge)
        XCTAssertEqual(notSource.counters.unknownLocalReports, 1)
        // A stream that starts again before the last one ended: the cut one is counted,
        // the new one installs.
        let restarted = outcome(Array(stream.prefix(4)) + stream)
        XCTAssertEqual(restarted.knowledge?.base, base)
        XCTAssertEqual(restarted.counters.badKnowledge, 1)
        // The source itself ignores the base from elsewhere.
        XCTAssertEqual(outcome(stream, from: 1, at: 0).counters.badKnowledge, stream.count)
    }

    func testWithoutASourceNothingIsAwaited() {
        var m = Monitor(core: CoreID(1), coreCount: 3)
        XCTAssertTrue(m.isIdle)
        XCTAssertEqual(m.tick(now: MonitorTime(1_000)), [])
        _ = m.receive(MonitorMessage.knowledgeRequest.encode(), from: CoreID(0))
        XCTAssertEqual(m.counters.badKnowledge, 1)
    }

    /// Rings lose slots here (which the guest's rings never do, but a monitor that
    /// starts over loses what it had): a replica missing a piece, one that never heard
    /// the header, and one whose monitor started again after installing, all end with
    /// core 0's base, asking again after a silence.
    func testLostPiecesAndARestartedMonitorRecover() {
        let configuration = Monitor.Configuration(requestTimeout: 10, knowledgeSource: CoreID(0))
        var machine = SimulatedMachine(coreCount: 4, configuration: configuration)
        machine.at(0) { $0.publishKnowledge(self.base) }
        machine.queues[machine.queueIndex(from: 0, to: 1)].remove(at: 4)       // a piece
        machine.queues[machine.queueIndex(from: 0, to: 2)].removeFirst()       // the header
        while let (from, to) = machine.nonEmptyQueues.first { machine.deliver(from: from, to: to) }
        XCTAssertNil(machine.monitors[1].knowledge)
        XCTAssertNil(machine.monitors[2].knowledge)
        XCTAssertEqual(machine.monitors[3].knowledge, machine.monitors[0].knowledge)
        machine.monitors[3] = Monitor(core: CoreID(3), coreCount: 4, configuration: configuration, now: MonitorTime(1))
        XCTAssertFalse(machine.isQuiet)

        var clock: UInt64 = 0
        while !machine.isQuiet && clock < 100 {
            clock += 1
            for core in 0..<4 { machine.at(core) { $0.tick(now: MonitorTime(clock)) } }
            while let (from, to) = machine.nonEmptyQueues.first { machine.deliver(from: from, to: to) }
        }
        XCTAssertTrue(machine.isQuiet)
        XCTAssertLessThanOrEqual(clock, 11, "one timeout")
        for m in machine.monitors {
            XCTAssertTrue(m.knowledge == machine.monitors[0].knowledge, "core \(m.core.rawValue) has \(m.knowledge.map { "generation \($0.generation.rawValue)" } ?? "no replica")")
        }
        // Every piece after the gap, and every piece with no header, was counted.
        let stream = MonitorMessage.knowledgeMessages(generation: KnowledgeGeneration(1), bytes: base.encoded())
        XCTAssertEqual(machine.monitors[1].counters.badKnowledge, stream.count - 5)
        XCTAssertEqual(machine.monitors[2].counters.badKnowledge, stream.count - 1)
    }
}

/// Where a service goes when nobody says: the replica's pick, NUMA facts included.
final class ServiceCoreTests: XCTestCase {
    func testTheReplicaPicksNodeZerosLastCoreAndLeavesOutStoppedCores() {
        var monitor = Monitor(core: CoreID(0), coreCount: 16,
                              configuration: Monitor.Configuration(knowledgeSource: CoreID(0)))
        XCTAssertNil(monitor.serviceCore, "no pick before the knowledge base is here")
        _ = monitor.publishKnowledge(.amd4x4)
        XCTAssertEqual(monitor.serviceCore, CoreID(3), "the last core of node 0, not the last core")
        _ = monitor.coreStopped(CoreID(3))
        XCTAssertEqual(monitor.serviceCore, CoreID(2), "a stopped core is no place for a service")
    }
}
