import XCTest
import ABI
import Basics
import Channel
@testable import MonitorProtocols

/// One monitor at a time, step by step: what each input returns. The simulation tests
/// drive the same calls at random; these pin down each step's messages and answers.
final class MonitorTests: XCTestCase {
    let request = RequestID(42)
    let token = EndpointToken(0xE1)

    /// Core `core` of 3, with domain 1 running on every core (as if all starts had arrived).
    func monitor(_ core: Int, coreCount: Int = 3, timeout: UInt64 = 10) -> Monitor {
        var m = Monitor(core: CoreID(core), coreCount: coreCount, configuration: Monitor.Configuration(requestTimeout: timeout))
        for other in 0..<coreCount {
            if other == core {
                _ = m.domainStarted(LocalDomainNumber(1), program: Name("init")!)
            } else {
                _ = m.receive(MonitorMessage.domainStarted(DomainRecord(id: domain(other), program: Name("init")!)).encode(), from: CoreID(other))
            }
        }
        return m
    }

    func domain(_ core: Int, _ local: UInt32 = 1) -> DomainID { DomainID(core: CoreID(core), local: LocalDomainNumber(local)) }

    /// A name whose home, of 3 cores, is `home`.
    func name(homedAt home: Int) -> Name {
        (0...).lazy.map { Name("n\($0)")! }.first { $0.home(coreCount: 3).rawValue == home }!
    }

    func receive(_ m: inout Monitor, _ message: MonitorMessage, from core: Int) -> [MonitorEffect] {
        m.receive(message.encode(), from: CoreID(core))
    }

    // MARK: Names

    func testRegistrationAsksTheHomeWhichBroadcastsBeforeGranting() {
        let n = name(homedAt: 2)
        var asker = monitor(0)
        var home = monitor(2)
        let sent = asker.register(n, endpoint: token, by: domain(0), request: request)
        XCTAssertEqual(sent, [.send(.registerRequest(Ticket(1), name: n, owner: domain(0), endpoint: token), to: CoreID(2))])
        let decided = receive(&home, .registerRequest(Ticket(1), name: n, owner: domain(0), endpoint: token), from: 0)
        let record = NameRecord(name: n, owner: domain(0), endpoint: token, grant: Ticket(1))
        XCTAssertEqual(decided, [.send(.nameAdded(record), to: CoreID(0)), .send(.nameAdded(record), to: CoreID(1)),
                                 .send(.registerGranted(Ticket(1)), to: CoreID(0))])
        XCTAssertEqual(receive(&asker, .nameAdded(record), from: 2), [])
        XCTAssertEqual(receive(&asker, .registerGranted(Ticket(1)), from: 2), [.answer(request, .registered)])
        XCTAssertEqual(asker.lookup(n, request: RequestID(7)), [.answer(RequestID(7), .found(owner: domain(0), endpoint: token))])
        XCTAssertTrue(asker.isIdle)
    }

    func testTheHomeRefusesATakenNameAndAnEndedDomain() {
        let n = name(homedAt: 2)
        var home = monitor(2)
        _ = receive(&home, .registerRequest(Ticket(1), name: n, owner: domain(0), endpoint: token), from: 0)
        XCTAssertEqual(receive(&home, .registerRequest(Ticket(5), name: n, owner: domain(1), endpoint: token), from: 1),
                       [.send(.registerRefused(Ticket(5), .nameTaken), to: CoreID(1))])
        XCTAssertEqual(home.register(n, endpoint: token, by: domain(2), request: request), [.answer(request, .failed(.nameTaken))])
        // Domain 1.9 has ended (or never ran): its core's end reached the home first.
        let free = (0...).lazy.map { Name("m\($0)")! }.first { $0.home(coreCount: 3).rawValue == 2 }!
        XCTAssertEqual(receive(&home, .registerRequest(Ticket(6), name: free, owner: domain(1, 9), endpoint: token), from: 1),
                       [.send(.registerRefused(Ticket(6), .noSuchDomain), to: CoreID(1))])
        XCTAssertNil(home.record(for: free))
    }

    func testAHomeRegistersForItsOwnDomainsAtOnce() {
        let n = name(homedAt: 1)
        var home = monitor(1)
        let record = NameRecord(name: n, owner: domain(1), endpoint: token)
        XCTAssertEqual(home.register(n, endpoint: token, by: domain(1), request: request),
                       [.send(.nameAdded(record), to: CoreID(0)), .send(.nameAdded(record), to: CoreID(2)), .answer(request, .registered)])
    }

    func testRequestsForDomainsOfOtherCoresOrEndedOnesAreRefused() {
        var m = monitor(0)
        XCTAssertEqual(m.register(name(homedAt: 1), endpoint: token, by: domain(1), request: request), [.answer(request, .failed(.notLocal))])
        XCTAssertEqual(m.register(name(homedAt: 1), endpoint: token, by: domain(0, 7), request: request), [.answer(request, .failed(.noSuchDomain))])
        XCTAssertEqual(m.unregister(name(homedAt: 1), by: domain(2), request: request), [.answer(request, .failed(.notLocal))])
    }

    func testUnregisterGoesThroughTheHome() {
        let n = name(homedAt: 2)
        var home = monitor(2)
        _ = receive(&home, .registerRequest(Ticket(1), name: n, owner: domain(0), endpoint: token), from: 0)
        XCTAssertEqual(receive(&home, .unregisterRequest(Ticket(2), name: n, owner: domain(1)), from: 1),
                       [.send(.unregisterAnswer(Ticket(2), refusal: .notOwner), to: CoreID(1))])
        XCTAssertEqual(receive(&home, .unregisterRequest(Ticket(3), name: n, owner: domain(0)), from: 0),
                       [.send(.nameRemoved(n), to: CoreID(0)), .send(.nameRemoved(n), to: CoreID(1)),
                        .send(.unregisterAnswer(Ticket(3), refusal: nil), to: CoreID(0))])
        XCTAssertEqual(receive(&home, .unregisterRequest(Ticket(4), name: n, owner: domain(0)), from: 0),
                       [.send(.unregisterAnswer(Ticket(4), refusal: .noSuchName), to: CoreID(0))])
    }

    func testATimedOutRegistrationIsCancelledAtTheHome() {
        let n = name(homedAt: 2)
        var asker = monitor(0, timeout: 10)
        var home = monitor(2)
        _ = asker.register(n, endpoint: token, by: domain(0), request: request)
        XCTAssertEqual(asker.tick(now: MonitorTime(9)), [])
        XCTAssertEqual(asker.tick(now: MonitorTime(10)), [.answer(request, .failed(.timedOut)),
                                                          .send(.registerCancel(Ticket(1), name: n), to: CoreID(2))])
        XCTAssertEqual(asker.tick(now: MonitorTime(5)), [], "an earlier time is ignored")
        // The home, slow, grants first and then sees the cancel (same ring): it releases.
        _ = receive(&home, .registerRequest(Ticket(1), name: n, owner: domain(0), endpoint: token), from: 0)
        XCTAssertEqual(receive(&home, .registerCancel(Ticket(1), name: n), from: 0),
                       [.send(.nameRemoved(n), to: CoreID(0)), .send(.nameRemoved(n), to: CoreID(1))])
        XCTAssertNil(home.record(for: n))
        // The late grant is counted, not answered again.
        XCTAssertEqual(receive(&asker, .registerGranted(Ticket(1)), from: 2), [])
        XCTAssertEqual(asker.counters.lateAnswers, 1)
    }

    func testACancelReleasesOnlyTheGrantItNames() {
        let n = name(homedAt: 2)
        var home = monitor(2)
        _ = receive(&home, .registerRequest(Ticket(3), name: n, owner: domain(0), endpoint: token), from: 0)
        XCTAssertEqual(receive(&home, .registerCancel(Ticket(2), name: n), from: 0), [], "an older ticket")
        XCTAssertEqual(receive(&home, .registerCancel(Ticket(3), name: n), from: 1), [], "another core's ticket 3")
        XCTAssertNotNil(home.record(for: n))
    }

    func testADomainsEndReleasesItsNamesAtTheirHomes() {
        let here = name(homedAt: 2), elsewhere = name(homedAt: 1)
        var home = monitor(2)
        _ = receive(&home, .registerRequest(Ticket(1), name: here, owner: domain(0), endpoint: token), from: 0)
        let record = NameRecord(name: elsewhere, owner: domain(0), endpoint: token, grant: Ticket(2))
        _ = receive(&home, .nameAdded(record), from: 1)
        XCTAssertEqual(receive(&home, .domainEnded(domain(0), .exited(status: 0)), from: 0),
                       [.send(.nameRemoved(here), to: CoreID(0)), .send(.nameRemoved(here), to: CoreID(1))])
        XCTAssertEqual(home.names, [record], "the other home releases its own")
        XCTAssertNil(home.record(for: domain(0)))
    }

    func testTheEndingCoreAndEveryReplicaRememberHowADomainEnded() {
        var owner = monitor(0), replica = monitor(1)
        _ = owner.domainStarted(LocalDomainNumber(5), program: Name("hello")!)
        let id = DomainID(core: CoreID(0), local: LocalDomainNumber(5))
        _ = receive(&replica, .domainStarted(DomainRecord(id: id, program: Name("hello")!)), from: 0)
        let effects = owner.domainEnded(LocalDomainNumber(5), how: .exited(status: 7))
        XCTAssertTrue(effects.contains(.send(.domainEnded(id, .exited(status: 7)), to: CoreID(1))))
        _ = receive(&replica, .domainEnded(id, .exited(status: 7)), from: 0)
        XCTAssertEqual(owner.end(of: id), .exited(status: 7))
        XCTAssertEqual(replica.end(of: id), .exited(status: 7))
        XCTAssertNil(replica.end(of: domain(2)), "a domain that never ended")
        for local in 100..<(100 + UInt32(Monitor.recentEndsKept)) {
            _ = owner.domainStarted(LocalDomainNumber(local), program: Name("hello")!)
            _ = owner.domainEnded(LocalDomainNumber(local), how: .stopped)
        }
        XCTAssertNil(owner.end(of: id), "only the latest ends are kept")
        XCTAssertEqual(owner.recentEnds.count, Monitor.recentEndsKept)
    }

    // MARK: Spawn and kill

    func testSpawnOnAnotherCore() {
        var asker = monitor(0)
        var target = monitor(2)
        let arguments = Array(repeating: UInt8(ascii: "x"), count: 60)
        let sent = asker.spawn(Name("hello")!, arguments: arguments, on: CoreID(2), request: request)
        XCTAssertEqual(sent.count, 3, "the request and two pieces")
        var effects: [MonitorEffect] = []
        for case .send(let message, CoreID(2)) in sent { effects += target.receive(message.encode(), from: CoreID(0)) }
        XCTAssertEqual(effects, [.spawnLocally(SpawnID(1), program: Name("hello")!, arguments: arguments)])
        let started = DomainRecord(id: domain(2, 5), program: Name("hello")!)
        XCTAssertEqual(target.spawnSucceeded(SpawnID(1), local: LocalDomainNumber(5)),
                       [.send(.domainStarted(started), to: CoreID(0)), .send(.domainStarted(started), to: CoreID(1)),
                        .send(.spawnStarted(Ticket(1), domain(2, 5)), to: CoreID(0))])
        _ = receive(&asker, .domainStarted(started), from: 2)
        XCTAssertEqual(receive(&asker, .spawnStarted(Ticket(1), domain(2, 5)), from: 2), [.answer(request, .spawned(domain(2, 5)))])
        XCTAssertEqual(asker.record(for: domain(2, 5)), started)
        XCTAssertTrue(asker.isIdle && target.isIdle)
    }

    func testSpawnRefusalsThatNeedNoMessage() {
        var m = monitor(0)
        XCTAssertEqual(m.spawn(Name("hello")!, arguments: [], on: CoreID(3), request: request), [.answer(request, .failed(.noSuchCore))])
        XCTAssertEqual(m.spawn(Name("hello")!, arguments: Array(repeating: 1, count: 241), on: CoreID(1), request: request),
                       [.answer(request, .failed(.argumentsTooLong))])
    }

    func testSpawnHereAndItsFailure() {
        var m = monitor(1)
        XCTAssertEqual(m.spawn(Name("nosuch")!, arguments: [1], on: CoreID(1), request: request),
                       [.spawnLocally(SpawnID(1), program: Name("nosuch")!, arguments: [1])])
        XCTAssertEqual(m.spawnFailed(SpawnID(1), error: .noSuchProgram), [.answer(request, .failed(.noSuchProgram))])
        XCTAssertEqual(m.spawnFailed(SpawnID(1), error: .noSuchProgram), [], "reported twice")
        XCTAssertEqual(m.counters.unknownLocalReports, 1)
    }

    func testASpawnThatStartsAfterItsCallerTimedOutIsKilled() {
        var asker = monitor(0, timeout: 10)
        _ = asker.spawn(Name("hello")!, arguments: [], on: CoreID(2), request: request)
        XCTAssertEqual(asker.tick(now: MonitorTime(10)), [.answer(request, .failed(.timedOut))])
        XCTAssertFalse(asker.isIdle, "the abandoned spawn is remembered")
        XCTAssertEqual(receive(&asker, .spawnStarted(Ticket(1), domain(2, 4)), from: 2),
                       [.send(.killRequest(.noAnswer, domain(2, 4)), to: CoreID(2))])
        XCTAssertEqual(asker.counters.spawnsUndone, 1)
        XCTAssertTrue(asker.isIdle)
        var target = monitor(2)
        _ = target.domainStarted(LocalDomainNumber(4), program: Name("hello")!)
        XCTAssertEqual(receive(&target, .killRequest(.noAnswer, domain(2, 4)), from: 0), [.killLocally(LocalDomainNumber(4))])
    }

    func testKillHereAndElsewhere() {
        var m = monitor(0)
        XCTAssertEqual(m.kill(domain(0), request: request), [.killLocally(LocalDomainNumber(1)), .answer(request, .killed)])
        XCTAssertEqual(m.kill(domain(0, 9), request: request), [.answer(request, .failed(.noSuchDomain))])
        XCTAssertEqual(m.kill(DomainID(core: CoreID(3), local: LocalDomainNumber(1)), request: request), [.answer(request, .failed(.noSuchCore))])
        // Decided by the domain's core, even for a domain this replica has not heard of yet.
        XCTAssertEqual(m.kill(domain(1, 9), request: request), [.send(.killRequest(Ticket(1), domain(1, 9)), to: CoreID(1))])
        var target = monitor(1)
        XCTAssertEqual(receive(&target, .killRequest(Ticket(1), domain(1, 9)), from: 0),
                       [.send(.killAnswer(Ticket(1), refusal: .noSuchDomain), to: CoreID(0))])
        XCTAssertEqual(receive(&m, .killAnswer(Ticket(1), refusal: .noSuchDomain), from: 1), [.answer(request, .failed(.noSuchDomain))])
    }

    // MARK: What does not fit

    func testWhatDoesNotFitIsCountedAndDropped() {
        var m = monitor(0)
        XCTAssertEqual(m.receive(ChannelMessage(tag: 0x4D01, 1), from: CoreID(1)), [])
        XCTAssertEqual(m.counters.undecodable, 1)
        XCTAssertEqual(m.receive(MonitorMessage.registerGranted(Ticket(1)).encode(), from: CoreID(0)), [], "from itself")
        XCTAssertEqual(m.receive(MonitorMessage.registerGranted(Ticket(1)).encode(), from: CoreID(7)), [], "from no core")
        XCTAssertEqual(m.counters.badSender, 2)
        XCTAssertEqual(receive(&m, .registerGranted(Ticket(1)), from: 1), [], "a grant nobody asked for")
        XCTAssertEqual(receive(&m, .killAnswer(Ticket(99), refusal: nil), from: 1), [])
        XCTAssertEqual(m.counters.strayAnswers, 2)
        // An answer of the wrong kind, or from the wrong core, for a ticket that is pending.
        _ = m.kill(domain(1), request: request)
        XCTAssertEqual(receive(&m, .registerGranted(Ticket(1)), from: 1), [])
        XCTAssertEqual(receive(&m, .killAnswer(Ticket(1), refusal: nil), from: 2), [])
        XCTAssertEqual(m.counters.strayAnswers, 4)
        XCTAssertEqual(m.counters.lateAnswers, 0)
        XCTAssertEqual(receive(&m, .killAnswer(Ticket(1), refusal: nil), from: 1), [.answer(request, .killed)])
        let n = name(homedAt: 2)
        XCTAssertEqual(receive(&m, .nameAdded(NameRecord(name: n, owner: domain(1), endpoint: token)), from: 1), [])
        XCTAssertEqual(receive(&m, .registerRequest(Ticket(1), name: n, owner: domain(1), endpoint: token), from: 1), [])
        XCTAssertEqual(m.counters.notHome, 2)
        XCTAssertEqual(receive(&m, .domainEnded(domain(2), .stopped), from: 1), [])
        XCTAssertEqual(receive(&m, .killRequest(Ticket(1), domain(2)), from: 1), [])
        XCTAssertEqual(m.counters.wrongCore, 2)
        XCTAssertEqual(receive(&m, .nameRemoved(name(homedAt: 1)), from: 1), [])
        XCTAssertEqual(m.counters.unknownRecords, 1)
        XCTAssertEqual(receive(&m, .spawnArguments(Ticket(1), bytes: [1]), from: 1), [])
        XCTAssertEqual(m.counters.badSpawnPieces, 1)
        XCTAssertEqual(m.domains.count, 3, "nothing applied")
        XCTAssertEqual(m.counters.all.count, 14)
    }

    func testTooManyRequestsInFlightAreRefusedBusy() {
        var m = Monitor(core: CoreID(0), coreCount: 2, configuration: Monitor.Configuration(maximumPending: 2))
        for i in 1...2 { _ = m.kill(domain(1), request: RequestID(UInt64(i))) }
        XCTAssertEqual(m.kill(domain(1), request: request), [.answer(request, .failed(.busy))])
        XCTAssertEqual(m.requestsInFlight, 2)
    }
}
