import XCTest
import Basics
import Channel
import KnowledgeBase
@testable import CapabilityProtocols
@testable import CapabilitySimulation

/// Each protocol step on a small machine, delivered in a chosen order.
final class CapabilityProtocolTests: XCTestCase {
    let ram = CapabilityObject(.ram, base: 0, size: 64 * 1024)
    let r1 = RecordID(1)

    /// Three cores; the RAM on core 0 (record 1 in domain 1), copied to cores 1 and 2.
    func machine(route: RevokeRoute = .direct) -> SimulatedMachine {
        var m = SimulatedMachine(coreCount: 3, objects: 1, route: route)
        m.issue(.copy(r1, to: 1, domain: 1), on: 0)
        m.issue(.copy(r1, to: 2, domain: 1), on: 0)
        m.deliverAll()
        return m
    }

    func answers(_ m: SimulatedMachine) -> [CapabilityStatus?] { m.requests.map { $0.answers.first } }

    func assertQuietAndSound(_ m: SimulatedMachine, file: StaticString = #filePath, line: UInt = #line) {
        var m = m
        m.finalChecks()
        XCTAssertEqual(m.violations, [], file: file, line: line)
    }

    func testTheOwnerRecordsACopyBeforeItIsDelivered() {
        var m = SimulatedMachine(coreCount: 2, objects: 1)
        m.issue(.copy(r1, to: 1, domain: 2), on: 0)
        XCTAssertTrue(m.monitors[0].ownership(of: ram)!.copies.contains(CoreID(1)))
        XCTAssertFalse(m.monitors[1].database.holds(ram))
        m.deliverAll()
        XCTAssertEqual(answers(m), [.done])
        XCTAssertEqual(m.monitors[1].ownership(of: ram)?.owner, CoreID(0))
        assertQuietAndSound(m)
    }

    func testACopyFromAHolderGoesThroughTheOwner() {
        var m = machine()
        m.issue(.copy(r1, to: 2, domain: 2), on: 1)
        // copyRequest to core 0, copyDeliver to core 2, copyInstalled, the answer.
        XCTAssertEqual(m.nonEmptyQueues.map { "\($0.from)→\($0.to)" }, ["1→0"])
        m.deliverAll()
        XCTAssertEqual(answers(m).last, .done)
        XCTAssertEqual(m.monitors[2].database.copies(of: ram).count, 2)
        assertQuietAndSound(m)
    }

    func testDeletingTheOwnersLastCopyMovesOwnership() {
        var m = machine()
        m.issue(.delete(r1), on: 0)
        m.deliverAll()
        XCTAssertEqual(answers(m).last, .done)
        XCTAssertEqual(m.monitors[1].ownership(of: ram)?.owner, CoreID(1))
        XCTAssertEqual(m.monitors[2].ownership(of: ram)?.owner, CoreID(1))
        XCTAssertEqual(m.monitors[1].ownership(of: ram)?.epoch, OwnershipEpoch(2))
        XCTAssertNil(m.monitors[0].ownership(of: ram))
        assertQuietAndSound(m)
        // The last copy anywhere really frees it.
        m.issue(.delete(r1), on: 2)
        m.deliverAll()
        m.issue(.delete(r1), on: 1)
        m.deliverAll()
        XCTAssertTrue(m.monitors.allSatisfy { $0.knownObjects.isEmpty && $0.database.records.isEmpty })
        assertQuietAndSound(m)
    }

    func testADeleteRacingAMoveSendsOwnershipOn() {
        var m = machine()
        m.issue(.delete(r1), on: 0)   // moveOwnership 0→1 in flight
        m.issue(.delete(r1), on: 1)   // core 1's copy goes meanwhile: it refuses the move
        m.deliverAll()
        XCTAssertEqual(answers(m).suffix(2), [.done, .done])
        XCTAssertEqual(m.monitors[2].ownership(of: ram)?.owner, CoreID(2))
        XCTAssertEqual(m.monitors.map { $0.database.records.count }, [0, 0, 1])
        assertQuietAndSound(m)
    }

    func testARequestAtAFormerOwnerIsAskedAgainOfTheNewOne() {
        var m = machine()
        m.issue(.delete(r1), on: 0)                 // moveOwnership 0→1 in flight
        m.issue(.copy(r1, to: 0, domain: 2), on: 2) // core 2 still asks core 0
        m.deliver(from: 2, to: 0)                    // core 0 is moving: queued
        m.deliverAll()
        XCTAssertEqual(answers(m).last, .done)
        XCTAssertEqual(m.monitors[0].database.copies(of: ram).count, 1)
        XCTAssertEqual(m.monitors[0].ownership(of: ram)?.owner, CoreID(1))
        XCTAssertTrue(m.monitors.map { $0.counters.notOwner }.reduce(0, +) > 0)
        assertQuietAndSound(m)
    }

    func testRevokeDeletesEveryCopyDescendantAndMapping() {
        for route in [RevokeRoute.direct, .viaGroups(groupOf: [0, 1, 1])] {
            var m = machine(route: route)
            m.issue(.retype(r1, count: 4), on: 1)
            m.deliverAll()
            XCTAssertEqual(answers(m).last, .done)
            let frame = m.monitors[1].database.records.first { $0.object.kind == .frame }!
            m.issue(.copy(frame.id, to: 2, domain: 2), on: 1)
            m.deliverAll()
            m.issue(.map(frame.id), on: 1)
            XCTAssertTrue(m.monitors[1].database.record(frame.id)!.mapped)
            m.issue(.revoke(r1), on: 0)
            m.deliverAll()
            XCTAssertEqual(answers(m).last, .done)
            XCTAssertEqual(m.monitors[0].database.records.map(\.object), [ram])
            XCTAssertTrue(m.monitors[1].database.records.isEmpty)
            XCTAssertTrue(m.monitors[2].database.records.isEmpty)
            XCTAssertEqual(m.monitors[0].ownership(of: ram)?.copies, CoreMask.none)
            assertQuietAndSound(m)
            // With no descendants left, retype works again.
            m.issue(.retype(r1, count: 2), on: 0)
            XCTAssertEqual(answers(m).last, .done)
        }
    }

    func testARevokeFromAHolderLeavesItTheOwner() {
        var m = machine()
        m.issue(.revoke(r1), on: 2)
        m.deliverAll()
        XCTAssertEqual(answers(m).last, .done)
        XCTAssertEqual(m.monitors[2].ownership(of: ram)?.owner, CoreID(2))
        XCTAssertTrue(m.monitors[0].database.records.isEmpty && m.monitors[1].database.records.isEmpty)
        assertQuietAndSound(m)
    }

    func testTwoCoresRetypingOneRAMAtOnceOneSucceeds() {
        var m = machine()
        m.issue(.retype(r1, count: 2), on: 1)
        m.issue(.retype(r1, count: 4), on: 2)
        m.deliverAll()
        XCTAssertEqual(Array(answers(m).suffix(2)).sorted { $0!.rawValue < $1!.rawValue }, [.done, .hasDescendants])
        assertQuietAndSound(m)
        // Retype is refused while descendants exist, even on the owner.
        m.issue(.retype(r1, count: 8), on: 0)
        XCTAssertEqual(answers(m).last, .hasDescendants)
    }

    func testARevokeWaitsForACopyInFlightAndRemovesIt() {
        var m = machine()
        m.issue(.copy(r1, to: 2, domain: 2), on: 0)   // copyDeliver 0→2 in flight: the object is locked
        m.issue(.revoke(r1), on: 1)                   // core 1 asks core 0: queued behind the copy
        m.deliverAll()
        XCTAssertEqual(answers(m).suffix(2), [.done, .done])
        XCTAssertEqual(m.monitors[2].database.records, [])
        assertQuietAndSound(m)
    }

    func testADomainEndingMidRevokeLeavesNothingLocked() {
        var m = machine()
        m.issue(.revoke(r1), on: 1)
        m.deliver(from: 1, to: 0)                     // the owner starts: marks out
        m.endDomain(1, on: 1)                         // the asker's domain (and the kept copy) go
        m.endDomain(1, on: 2)
        m.deliverAll()
        XCTAssertEqual(answers(m).last, .done)
        XCTAssertTrue(m.monitors.allSatisfy { $0.isIdle })
        XCTAssertTrue(m.monitors.allSatisfy { $0.database.records.isEmpty })
        assertQuietAndSound(m)
    }

    func testForgedMessagesAreCountedAndChangeNothing() {
        var m = machine()
        let before = m.monitors
        let stray = CapabilityTicket(0x8000_0001)
        let forged: [(CapabilityMessage, from: Int, to: Int)] = [
            (.requestAnswer(stray, .done, epoch: OwnershipEpoch(9)), 1, 2),    // answers nothing
            (.copyInstalled(stray, .done), 1, 0),
            (.revokeReady(stray, root: CoreID(0)), 1, 0),                    // no such revoke
            (.revokeCommit(stray, ram, root: CoreID(0), targets: CoreMask(rawValue: 6), keepCore: nil, keep: RecordID(0)), 0, 1),
            (.revokeMark(stray, ram, root: CoreID(1), targets: CoreMask(rawValue: 3)), 0, 1), // root is the receiver
            (.revokeMark(stray, ram, root: CoreID(0), targets: CoreMask(rawValue: 7)), 2, 1), // not its parent
            (.copyDeliver(stray, ram, epoch: OwnershipEpoch(1), domain: 2), 2, 0),            // core 0 owns it
            (.copyDeliver(stray, ram, epoch: OwnershipEpoch(1), domain: 2), 2, 1),            // core 1 knows core 0 owns it
            (.moveOwnership(stray, ram, copies: .none, descendants: .none, epoch: OwnershipEpoch(1)), 2, 1), // not newer
        ]
        for (message, from, to) in forged { m.inject(message.encode(), from: from, to: to) }
        m.inject(ChannelMessage(tag: 0x43FF, 1), from: 1, to: 0)
        m.inject(CapabilityMessage.copyDeleted(ram).encode(), from: 2, to: 2)
        m.deliverAll()
        XCTAssertEqual(m.monitors.map { $0.counters.dropped }.reduce(0, +), forged.count + 2)
        for (a, b) in zip(before, m.monitors) {
            XCTAssertEqual(a.database.records, b.database.records)
            XCTAssertEqual(a.knownObjects, b.knownObjects)
            XCTAssertEqual(a.knownObjects.map { a.ownership(of: $0) }, b.knownObjects.map { b.ownership(of: $0) })
        }
        assertQuietAndSound(m)
    }

    /// Core 2 never started (no monitor): a copy to it is refused, and a revoke of a
    /// retyped RAM, which must reach every core, reaches only the members.
    func testCoresWithoutAMonitorAreLeftOut() {
        var database = ModelCapabilityDatabase(domains: [1])
        let record = database.install(ram, for: 1)!
        var monitor = CapabilityMonitor(core: CoreID(0), coreCount: 3, database: database,
                                        configuration: .init(members: CoreMask(rawValue: 0b011)))
        monitor.adopt(record)
        XCTAssertEqual(monitor.copy(record, to: CoreID(2), domain: 1, request: CapabilityRequestID(1)),
                       [.answer(CapabilityRequestID(1), .badTarget)])
        XCTAssertEqual(monitor.retype(record, into: 2, request: CapabilityRequestID(2)), [.answer(CapabilityRequestID(2), .done)])
        let marks = monitor.revoke(record, request: CapabilityRequestID(3)).compactMap { effect -> CoreID? in
            if case .send(.revokeMark, let to) = effect { return to } else { return nil }
        }
        XCTAssertEqual(marks, [CoreID(1)])
    }

    func testLocalRefusals() {
        var m = machine()
        m.issue(.copy(r1, to: 0, domain: 2), on: 0)
        m.issue(.copy(r1, to: 3, domain: 2), on: 0)
        m.issue(.copy(RecordID(99), to: 1, domain: 2), on: 0)
        m.issue(.retype(r1, count: 3), on: 0)
        m.issue(.map(r1), on: 0)
        XCTAssertEqual(answers(m).suffix(5), [.badTarget, .badTarget, .noSuchCapability, .notRetypeable, .notRetypeable])
        m.issue(.copy(r1, to: 1, domain: 77), on: 0)
        m.deliverAll()
        XCTAssertEqual(answers(m).last, .noRoom)
        assertQuietAndSound(m)
    }
}

final class RevokeCostTests: XCTestCase {
    func testRevokeCostGrowsAsTheTreesPredict() {
        let rows = RevokeCost.table()
        for row in rows {
            print("\(row.cores) cores: direct \(row.direct), tree \(row.tree)")
            // Mark, ready, commit, done: one each per other core, either way.
            XCTAssertEqual(row.direct.messages, 4 * (row.cores - 1))
            XCTAssertEqual(row.tree.messages, 4 * (row.cores - 1))
            XCTAssertEqual(row.direct.hops, 4)
        }
        // Beyond one package the tree adds a level, and its rounds cost less once the
        // root would otherwise send to many cores.
        XCTAssertEqual(rows.first { $0.cores == 32 }?.tree.hops, 8)
        XCTAssertLessThan(rows.first { $0.cores == 32 }!.tree.cycles, rows.first { $0.cores == 32 }!.direct.cycles)
    }

    func testTheGroupRouteIsTheKnowledgeBasesPerPackageTree() {
        let base = KnowledgeBase.amd8x4
        let groups = RevokeCost.packages(of: base, cores: 32)
        let route = RevokeRoute.viaGroups(groupOf: groups)
        let tree = base.multicastTree(from: CoreID(0), kind: .perPackage)
        for c in 0..<32 {
            XCTAssertEqual(route.children(of: CoreID(c), root: CoreID(0), targets: CoreMask.all(32)).sorted(), tree.children(of: CoreID(c)).sorted(), "core \(c)")
        }
    }
}
