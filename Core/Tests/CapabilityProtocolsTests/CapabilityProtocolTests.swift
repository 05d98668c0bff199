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

/// Device objects (a device frame, ports, interrupts) cross cores like memory: copied,
/// deleted where they were sent, revoked from their owner; never retyped.
final class DeviceCapabilityProtocolTests: XCTestCase {
    /// Two cores, one RAM object on core 0 (record 1) and the device objects there
    /// (records 2, 3, 4), each copied to core 1.
    func machine() -> SimulatedMachine {
        var m = SimulatedMachine(coreCount: 2, objects: 1, devices: true)
        for r in 1...4 { m.issue(.copy(RecordID(UInt32(r)), to: 1, domain: 2), on: 0) }
        m.deliverAll()
        return m
    }

    var devices: [CapabilityObject] { SimulatedMachine.deviceObjects(memoryLimit: 64 * 1024) }

    func assertSound(_ m: SimulatedMachine, file: StaticString = #filePath, line: UInt = #line) {
        var m = m
        m.finalChecks()
        XCTAssertEqual(m.violations, [], file: file, line: line)
    }

    func testEachDeviceObjectIsCopiedToAnotherCore() {
        let m = machine()
        XCTAssertEqual(m.requests.map { $0.answers }, [[.done], [.done], [.done], [.done]])
        for object in devices {
            XCTAssertEqual(m.monitors[1].database.copies(of: object).count, 1, describe(object))
            XCTAssertEqual(m.monitors[0].ownership(of: object)?.copies, CoreMask(rawValue: 2))
            XCTAssertEqual(m.monitors[1].ownership(of: object)?.owner, CoreID(0))
        }
        // Ports and interrupts numbered like the RAM at 0 are not inside it: the RAM's
        // revoke leaves them.
        let ram = CapabilityObject(.ram, base: 0, size: 64 * 1024)
        XCTAssertEqual(m.monitors[1].database.records(coveredBy: ram).map { $0.object }, [ram])
        assertSound(m)
    }

    func testRevokeOnTheOwnerRemovesTheCopiesOnOtherCores() {
        var m = machine()
        for r in 2...4 { m.issue(.revoke(RecordID(UInt32(r))), on: 0) }
        m.deliverAll()
        XCTAssertEqual(m.requests.suffix(3).map { $0.answers }, [[.done], [.done], [.done]])
        for object in devices {
            XCTAssertFalse(m.monitors[1].database.holds(object), describe(object))
            XCTAssertEqual(m.monitors[0].database.copies(of: object).count, 1)
        }
        // The RAM's copy on core 1 is untouched.
        XCTAssertTrue(m.monitors[1].database.holds(CapabilityObject(.ram, base: 0, size: 64 * 1024)))
        assertSound(m)
    }

    func testARevokeAskedOnTheOtherCoreLeavesItTheOwner() {
        var m = machine()
        let ports = devices[1]
        let record = m.monitors[1].database.copies(of: ports)[0].id
        m.issue(.revoke(record), on: 1)
        m.deliverAll()
        XCTAssertEqual(m.requests.last?.answers, [.done])
        XCTAssertFalse(m.monitors[0].database.holds(ports))
        XCTAssertEqual(m.monitors[1].ownership(of: ports)?.owner, CoreID(1))
        assertSound(m)
    }

    func testDeletesAndEndsWhereTheyWereSent() {
        var m = machine()
        let frame = devices[0]
        m.issue(.delete(m.monitors[1].database.copies(of: frame)[0].id), on: 1)
        m.deliverAll()
        XCTAssertEqual(m.monitors[0].ownership(of: frame)?.copies, CoreMask.none)
        // The holding domain's end takes the rest; the owner hears of each.
        m.endDomain(2, on: 1)
        m.deliverAll()
        XCTAssertTrue(m.monitors[1].database.records.isEmpty)
        for object in devices { XCTAssertEqual(m.monitors[0].ownership(of: object)?.copies, CoreMask.none) }
        // The owner's own last copy going ends the object.
        m.issue(.delete(RecordID(3)), on: 0)
        m.deliverAll()
        XCTAssertNil(m.monitors[0].ownership(of: devices[1]))
        assertSound(m)
    }

    func testDeviceObjectsAreNotRetypedAndOnlyFramesMap() {
        var m = machine()
        for r in 2...4 { m.issue(.retype(RecordID(UInt32(r)), count: 1), on: 0) }
        let frameCopy = m.monitors[1].database.copies(of: devices[0])[0].id
        let portsCopy = m.monitors[1].database.copies(of: devices[1])[0].id
        m.issue(.retype(portsCopy, count: 2), on: 1)
        m.issue(.map(frameCopy), on: 1)
        m.issue(.map(portsCopy), on: 1)
        m.deliverAll()
        XCTAssertEqual(m.requests.suffix(6).map { $0.answers }, [[.notRetypeable], [.notRetypeable], [.notRetypeable],
                                                                   [.notRetypeable], [.done], [.notRetypeable]])
        assertSound(m)
    }

    func testMalformedDeviceMessagesAreDroppedAndChangeNothing() {
        var m = machine()
        let before = m.monitors
        let stray = CapabilityTicket(0x8000_0002)
        let bad = [CapabilityObject(.deviceFrame, base: 0, size: 4096),          // RAM
                   CapabilityObject(.deviceFrame, base: 0x20_0003, size: 4096),  // not page-aligned
                   CapabilityObject(.ioPorts, base: 0xFFFF, size: 2),            // past the last port
                   CapabilityObject(.interrupts, base: 1 << 32, size: 1),        // past the interrupts
                   CapabilityObject(.ioPorts, base: 0xC000, size: 0)]            // empty
        for object in bad {
            m.inject(CapabilityMessage.copyDeliver(stray, object, epoch: .first, domain: 2).encode(), from: 0, to: 1)
            m.inject(CapabilityMessage.revokeRequest(stray, object, keep: RecordID(1)).encode(), from: 1, to: 0)
            m.inject(CapabilityMessage.copyDeleted(object).encode(), from: 1, to: 0)
        }
        m.deliverAll()
        XCTAssertEqual(m.monitors.map { $0.counters.undecodable }.reduce(0, +), bad.count * 3)
        for (a, b) in zip(before, m.monitors) {
            XCTAssertEqual(a.database, b.database)
            XCTAssertEqual(a.knownObjects, b.knownObjects)
        }
        // And everything still works: a revoke of the ports goes through.
        m.issue(.revoke(RecordID(3)), on: 0)
        m.deliverAll()
        XCTAssertEqual(m.requests.last?.answers, [.done])
        assertSound(m)
    }
}
