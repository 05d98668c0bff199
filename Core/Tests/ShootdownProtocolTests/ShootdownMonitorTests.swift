import XCTest
import Basics
import CapabilityProtocols
import Channel
import KnowledgeBase
import PageTables
@testable import ShootdownProtocol

/// Each step of the protocol on two packages of four cores with the per-package tree:
/// from core 0, to cores 1, 2, 3 and to core 4, which forwards to 5, 6 and 7.
final class ShootdownMonitorTests: XCTestCase {
    static let knowledge = KnowledgeBase.synthetic(packages: 2, coresPerPackage: 4,
                                                   latencies: SyntheticLatencies(samePackage: 500, byHops: [600]))
    let change = AddressSpaceChange(space: AddressSpaceID(7), range: VirtualRange(start: VirtualAddress(0x40_0000), pages: 4), kind: .unmap)
    let request = ShootdownRequestID(99)
    let everyone = CoreMask.all(8)

    func monitor(_ core: Int, tree: MulticastKind = .perPackage, maximumOperations: Int = 16) -> ShootdownMonitor {
        ShootdownMonitor(core: CoreID(core), coreCount: 8,
                         configuration: .init(knowledge: Self.knowledge, tree: tree, maximumOperations: maximumOperations))
    }

    /// The messages among `effects`, as (message, receiver).
    func sends(_ effects: [ShootdownEffect]) -> [(message: ShootdownMessage, to: Int)] {
        effects.compactMap { if case .send(let m, let to) = $0 { return (m, to.rawValue) } else { return nil } }
    }

    func acknowledgement(_ effects: [ShootdownEffect], to core: Int) -> ShootdownMessage? {
        sends(effects).first { $0.to == core }?.message
    }

    /// Core 0 starts: returns the root and its invalidate.
    func started(participants: CoreMask? = nil) -> (ShootdownMonitor, ShootdownMessage) {
        var root = monitor(0)
        let effects = root.start(change, participants: participants ?? everyone, request: request)
        return (root, sends(effects)[0].message)
    }

    func testTheRootSendsDownItsTreeAndInvalidatesItself() {
        var root = monitor(0)
        let effects = root.start(change, participants: everyone, request: request)
        XCTAssertEqual(sends(effects).map(\.to), [1, 2, 3, 4])
        XCTAssertTrue(effects.contains(.invalidate(change)))
        XCTAssertFalse(effects.contains { if case .answer = $0 { return true } else { return false } })
        XCTAssertEqual(root.waiting.first?.cores, CoreMask(rawValue: 0b11110))
    }

    /// Unmapping from a core that does not use the address space: it invalidates nothing
    /// of its own; with nobody else taking part, it answers at once.
    func testARootOutsideTheSpaceDoesNotInvalidate() {
        var root = monitor(0)
        let effects = root.start(change, participants: CoreMask(rawValue: 0b110), request: request)
        XCTAssertEqual(sends(effects).map(\.to), [1, 2])
        XCTAssertFalse(effects.contains(.invalidate(change)))
        var alone = monitor(3)
        XCTAssertEqual(alone.start(change, participants: .none, request: request), [.answer(request, .completed, stopped: .none)])
        XCTAssertTrue(alone.isIdle)
    }

    func testALeafInvalidatesThenAcknowledges() {
        let (_, invalidate) = started()
        var leaf = monitor(2)
        let effects = leaf.receive(invalidate.encode(), from: CoreID(0))
        XCTAssertEqual(effects, [.invalidate(change), .send(.acknowledge(invalidate.operation, stopped: .none), to: CoreID(0))])
        XCTAssertTrue(leaf.isIdle)
    }

    func testAForwarderAcknowledgesOnlyAfterEveryChild() {
        let (_, invalidate) = started()
        var forwarder = monitor(4)
        var effects = forwarder.receive(invalidate.encode(), from: CoreID(0))
        XCTAssertEqual(sends(effects).map(\.to), [5, 6, 7])
        XCTAssertTrue(effects.contains(.invalidate(change)))
        let ack = ShootdownMessage.acknowledge(invalidate.operation, stopped: .none).encode()
        XCTAssertEqual(forwarder.receive(ack, from: CoreID(7)), [])
        XCTAssertEqual(forwarder.receive(ack, from: CoreID(5)), [])
        effects = forwarder.receive(ack, from: CoreID(6))
        XCTAssertEqual(effects, [.send(.acknowledge(invalidate.operation, stopped: .none), to: CoreID(0))])
        XCTAssertTrue(forwarder.isIdle)
    }

    /// A slow acknowledger is waited for, however long: nothing answers early.
    func testTheRootAnswersOnlyWhenTheSlowestHasAcknowledged() {
        var (root, invalidate) = started()
        let ack = ShootdownMessage.acknowledge(invalidate.operation, stopped: .none).encode()
        for core in [4, 1, 2] { XCTAssertEqual(root.receive(ack, from: CoreID(core)), []) }
        XCTAssertEqual(root.waiting.first?.cores, CoreMask(rawValue: 0b1000))
        XCTAssertEqual(root.receive(ack, from: CoreID(3)), [.answer(request, .completed, stopped: .none)])
        XCTAssertTrue(root.isIdle)
    }

    func testAStoppedLeafIsNamedAndNotWaitedFor() {
        var (root, invalidate) = started()
        let ack = ShootdownMessage.acknowledge(invalidate.operation, stopped: .none).encode()
        for core in [1, 2, 4] { _ = root.receive(ack, from: CoreID(core)) }
        XCTAssertEqual(root.coreStopped(CoreID(3)), [.answer(request, .completed, stopped: CoreMask(rawValue: 0b1000))])
        XCTAssertEqual(root.coreStopped(CoreID(3)), [], "news of one stop twice")
        // Its acknowledgement, written before it stopped, arrives late: counted, not refused.
        XCTAssertEqual(root.receive(ack, from: CoreID(3)), [])
        XCTAssertEqual(root.counters.fromStoppedCores, 1)
        XCTAssertEqual(root.counters.dropped, 0)
    }

    /// The forwarder stops: the root sends to its cores itself, and they answer the root.
    func testAStoppedForwardersCoresAreReachedByTheRoot() {
        var (root, invalidate) = started()
        let effects = root.coreStopped(CoreID(4))
        XCTAssertEqual(sends(effects).map(\.to), [5, 6, 7])
        var leaf = monitor(6)
        let reply = leaf.receive(invalidate.encode(), from: CoreID(0))
        XCTAssertEqual(reply, [.invalidate(change), .send(.acknowledge(invalidate.operation, stopped: .none), to: CoreID(0))])
        let ack = ShootdownMessage.acknowledge(invalidate.operation, stopped: .none).encode()
        for core in [1, 2, 3, 5, 6] { XCTAssertEqual(root.receive(ack, from: CoreID(core)), []) }
        XCTAssertEqual(root.receive(ack, from: CoreID(7)), [.answer(request, .completed, stopped: CoreMask(rawValue: 0b1_0000))])
    }

    /// A forwarder that knows a child stopped names it in its acknowledgement, and the
    /// root's answer carries it.
    func testStoppedCoresTravelUpTheTree() {
        var (root, invalidate) = started()
        var forwarder = monitor(4)
        _ = forwarder.coreStopped(CoreID(6))
        XCTAssertEqual(sends(forwarder.receive(invalidate.encode(), from: CoreID(0))).map(\.to), [5, 7])
        let ack = ShootdownMessage.acknowledge(invalidate.operation, stopped: .none).encode()
        _ = forwarder.receive(ack, from: CoreID(5))
        let up = forwarder.receive(ack, from: CoreID(7))
        XCTAssertEqual(acknowledgement(up, to: 0), .acknowledge(invalidate.operation, stopped: CoreMask(rawValue: 0b100_0000)))
        for core in [1, 2, 3] { _ = root.receive(ack, from: CoreID(core)) }
        XCTAssertEqual(root.receive(acknowledgement(up, to: 0)!.encode(), from: CoreID(4)),
                       [.answer(request, .completed, stopped: CoreMask(rawValue: 0b100_0000))])
    }

    /// Cores known to have stopped before the start are left out of the tree (core 5
    /// forwards in core 4's place) and named.
    func testCoresStoppedBeforeTheStartAreLeftOut() {
        var root = monitor(0)
        _ = root.coreStopped(CoreID(4))
        _ = root.coreStopped(CoreID(2))
        let effects = root.start(change, participants: everyone, request: request)
        let invalidates = sends(effects)
        XCTAssertEqual(invalidates.map(\.to), [1, 3, 5])
        XCTAssertEqual(invalidates[0].message, .invalidate(invalidates[0].message.operation, change, participants: CoreMask(rawValue: 0b1110_1011)))
        let ack = ShootdownMessage.acknowledge(invalidates[0].message.operation, stopped: .none).encode()
        var forwarder = monitor(5)
        XCTAssertEqual(sends(forwarder.receive(invalidates[2].message.encode(), from: CoreID(0))).map(\.to), [6, 7])
        for core in [1, 3] { _ = root.receive(ack, from: CoreID(core)) }
        XCTAssertEqual(root.receive(ack, from: CoreID(5)), [.answer(request, .completed, stopped: CoreMask(rawValue: 0b1_0100))])
    }

    /// Operations from different roots, and two from one root, run side by side.
    func testOperationsRunSideBySide() {
        var root = monitor(0)
        var other = monitor(5)
        let first = sends(root.start(change, participants: everyone, request: request))[3].message
        let second = sends(root.start(change, participants: everyone, request: ShootdownRequestID(100)))[3].message
        let third = sends(other.start(change, participants: everyone, request: request))
        XCTAssertNotEqual(first.operation, second.operation)
        var forwarder = monitor(4)
        XCTAssertEqual(sends(forwarder.receive(first.encode(), from: CoreID(0))).count, 3)
        XCTAssertEqual(sends(forwarder.receive(second.encode(), from: CoreID(0))).count, 3)
        let fromFive = third.first { $0.to == 4 }!.message
        XCTAssertEqual(forwarder.receive(fromFive.encode(), from: CoreID(5)).count, 2, "invalidate and acknowledge: a leaf of core 5's tree")
        XCTAssertEqual(forwarder.waiting.count, 2)
    }

    func testLocalRefusals() {
        var root = monitor(0, maximumOperations: 1)
        let badRange = AddressSpaceChange(space: change.space, range: VirtualRange(start: VirtualAddress(0x1001), pages: 1), kind: .unmap)
        let noSpace = AddressSpaceChange(space: AddressSpaceID(0), range: change.range, kind: .unmap)
        XCTAssertEqual(root.start(badRange, participants: everyone, request: request), [.answer(request, .invalidChange, stopped: .none)])
        XCTAssertEqual(root.start(noSpace, participants: everyone, request: request), [.answer(request, .invalidChange, stopped: .none)])
        XCTAssertEqual(root.start(change, participants: CoreMask(rawValue: 1 << 8), request: request),
                       [.answer(request, .invalidParticipants, stopped: .none)])
        // A core the knowledge base does not know: on a machine of 9 cores with facts for 8.
        var wider = ShootdownMonitor(core: CoreID(0), coreCount: 9, configuration: .init(knowledge: Self.knowledge))
        XCTAssertEqual(wider.start(change, participants: CoreMask(rawValue: 1 << 8), request: request),
                       [.answer(request, .invalidParticipants, stopped: .none)])
        XCTAssertTrue(root.isIdle && wider.isIdle)
        XCTAssertEqual(sends(root.start(change, participants: everyone, request: request)).count, 4)
        XCTAssertEqual(root.start(change, participants: everyone, request: ShootdownRequestID(5)), [.answer(ShootdownRequestID(5), .busy, stopped: .none)])
    }

    /// Forged, misdirected and repeated slots are counted, change nothing and send nothing.
    func testForgedMessagesAreCountedAndChangeNothing() {
        let (root, invalidate) = started()
        var forwarder = monitor(4)
        _ = forwarder.receive(invalidate.encode(), from: CoreID(0))
        let operation = invalidate.operation
        let ack = ShootdownMessage.acknowledge(operation, stopped: .none)
        let stray = ShootdownOperation(root: CoreID(0), ticket: 77)
        let forged: [(monitor: ShootdownMonitor, slot: ChannelMessage, from: Int, counter: KeyPath<ShootdownCounters, Int>)] = [
            (forwarder, ChannelMessage(tag: 0x5401, 0), 0, \.undecodable),
            (forwarder, ack.encode(), 4, \.badSender),                       // from itself
            (forwarder, ack.encode(), 8, \.badSender),                       // from beyond the system
            (forwarder, invalidate.encode(), 0, \.refused),                  // the same invalidate again
            (monitor(5), invalidate.encode(), 1, \.refused),                 // from a core not above it
            (monitor(5), invalidate.encode(), 6, \.refused),                 // from a sibling
            (monitor(3), ShootdownMessage.invalidate(operation, change, participants: CoreMask(rawValue: 0b0111)).encode(), 0, \.refused),  // not a participant
            (root, invalidate.encode(), 4, \.refused),                       // its own operation
            (forwarder, ack.encode(), 1, \.refused),                         // from a core it did not send to
            (forwarder, ShootdownMessage.acknowledge(stray, stopped: .none).encode(), 5, \.refused),  // unknown operation
            (root, ShootdownMessage.acknowledge(operation, stopped: .none).encode(), 5, \.refused),  // the root did not send to 5
        ]
        for (index, item) in forged.enumerated() {
            var m = item.monitor
            let before = m
            let effects = m.receive(item.slot, from: CoreID(item.from))
            XCTAssertEqual(effects, [], "case \(index)")
            XCTAssertEqual(m.runs, before.runs, "case \(index)")
            XCTAssertEqual(m.counters[keyPath: item.counter], before.counters[keyPath: item.counter] + 1, "case \(index)")
            XCTAssertEqual(m.counters.dropped, before.counters.dropped + 1, "case \(index)")
        }
    }

    func testADuplicateAcknowledgementIsRefused() {
        var (root, invalidate) = started()
        let ack = ShootdownMessage.acknowledge(invalidate.operation, stopped: .none).encode()
        XCTAssertEqual(root.receive(ack, from: CoreID(1)), [])
        let before = root.runs
        XCTAssertEqual(root.receive(ack, from: CoreID(1)), [])
        XCTAssertEqual(root.runs, before)
        XCTAssertEqual(root.counters.refused, 1)
    }

    func testAnAcknowledgementNamingCoresOutsideTheOperationIsRefused() {
        var (root, invalidate) = started(participants: CoreMask(rawValue: 0b1111))
        let ack = ShootdownMessage.acknowledge(invalidate.operation, stopped: CoreMask(rawValue: 1 << 6)).encode()
        XCTAssertEqual(root.receive(ack, from: CoreID(1)), [])
        XCTAssertEqual(root.counters.refused, 1)
        XCTAssertEqual(root.waiting.first?.cores, CoreMask(rawValue: 0b1110))
    }

    /// The take-over of a stopped core reaches only leaves because the knowledge base's
    /// trees are at most two deep (see ShootdownMonitor.swift): this checks that on the
    /// machines the simulator and the cost table use.
    func testTheKnowledgeBasesTreesAreAtMostTwoDeep() {
        for knowledge in [KnowledgeBase.amd8x4, Self.knowledge, KnowledgeBase.intel2x4, KnowledgeBase.amd4x4] {
            for kind in MulticastKind.allCases {
                for root in knowledge.coreIDs {
                    XCTAssertLessThanOrEqual(knowledge.multicastTree(from: root, kind: kind).depth, 2, "\(kind) from \(root)")
                }
            }
        }
    }
}
