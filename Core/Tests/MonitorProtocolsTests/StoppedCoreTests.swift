import XCTest
import ABI
import Basics
import Channel
@testable import MonitorProtocols

/// A core that says it stopped for good: what waited on it stops waiting, and every
/// replica forgets its domains the same way.
final class StoppedCoreTests: XCTestCase {
    let request = RequestID(42)
    let place = SpanPlace(root: 0x1000, frame: 0x2000, frameAddress: 0x3000)!

    func domain(_ core: Int, _ local: UInt32 = 1) -> DomainID { DomainID(core: CoreID(core), local: LocalDomainNumber(local)) }

    /// Core `core` of 3, with domain 1 running on every core.
    func monitor(_ core: Int) -> Monitor {
        var m = Monitor(core: CoreID(core), coreCount: 3, configuration: Monitor.Configuration(requestTimeout: 10))
        for other in 0..<3 {
            if other == core {
                _ = m.domainStarted(LocalDomainNumber(1), program: Name("init")!)
            } else {
                _ = m.receive(MonitorMessage.domainStarted(DomainRecord(id: domain(other), program: Name("init")!)).encode(), from: CoreID(other))
            }
        }
        return m
    }

    func testRequestsWaitingOnItAreAnsweredAtOnceAndNewOnesRefused() {
        var m = monitor(0)
        _ = m.spawn(Name("hello")!, arguments: [], on: CoreID(2), request: request)
        XCTAssertEqual(m.coreStopped(CoreID(2)), [.answer(request, .failed(.noSuchCore))])
        XCTAssertEqual(m.spawn(Name("hello")!, arguments: [], on: CoreID(2), request: RequestID(7)),
                       [.answer(RequestID(7), .failed(.noSuchCore))], "refused without a message to the stopped core")
        XCTAssertEqual(m.kill(domain(2, 4), request: RequestID(8)), [.answer(RequestID(8), .failed(.noSuchCore))])
        XCTAssertTrue(m.isIdle)
    }

    func testItsDomainsLeaveEveryReplicaAsStopped() {
        var m = monitor(0)
        _ = m.coreStopped(CoreID(1))
        XCTAssertNil(m.record(for: domain(1)))
        XCTAssertEqual(m.end(of: domain(1)), .stopped)
        XCTAssertNotNil(m.record(for: domain(2)), "other cores' domains stay")
        // What it wrote before it stopped, read later, is stale.
        XCTAssertEqual(m.receive(MonitorMessage.domainStarted(DomainRecord(id: domain(1, 7), program: Name("late")!)).encode(),
                                 from: CoreID(1)), [])
        XCTAssertNil(m.record(for: domain(1, 7)))
        XCTAssertEqual(m.counters.staleAfterStop, 1)
    }

    func testASpannedDomainsEndNeedsNoAnswerFromAStoppedCore() {
        var home = monitor(0)
        _ = home.span(LocalDomainNumber(1), at: place, on: CoreID(1), request: request)
        _ = home.span(LocalDomainNumber(1), at: place, on: CoreID(2), request: RequestID(43))
        _ = home.receive(MonitorMessage.spanStarted(Ticket(1), domain(1, 5)).encode(), from: CoreID(1))
        _ = home.receive(MonitorMessage.spanStarted(Ticket(2), domain(2, 5)).encode(), from: CoreID(2))
        XCTAssertEqual(home.spanCores(of: LocalDomainNumber(1)), [CoreID(1), CoreID(2)])
        XCTAssertEqual(home.coreStopped(CoreID(2)), [])
        XCTAssertEqual(home.spanCores(of: LocalDomainNumber(1)), [CoreID(1)], "a shootdown no longer waits on it")
        let ended = home.domainEnded(LocalDomainNumber(1), how: .exited(status: 0))
        XCTAssertTrue(ended.contains(.send(.unspanRequest(domain(0)), to: CoreID(1))))
        XCTAssertFalse(ended.contains { if case .send(_, CoreID(2)) = $0 { return true } else { return false } })
        XCTAssertFalse(ended.contains(.releaseSpanned(LocalDomainNumber(1))), "core 1 has not answered yet")
        XCTAssertEqual(home.receive(MonitorMessage.unspanDone(domain(0)).encode(), from: CoreID(1)), [.releaseSpanned(LocalDomainNumber(1))])
    }

    func testAnEndWaitingOnACoreThatStopsReleasesTheMemory() {
        var home = monitor(0)
        _ = home.span(LocalDomainNumber(1), at: place, on: CoreID(1), request: request)
        _ = home.receive(MonitorMessage.spanStarted(Ticket(1), domain(1, 5)).encode(), from: CoreID(1))
        let ended = home.domainEnded(LocalDomainNumber(1), how: .exited(status: 0))
        XCTAssertFalse(ended.contains(.releaseSpanned(LocalDomainNumber(1))))
        XCTAssertEqual(home.spansHeld, 1)
        XCTAssertEqual(home.coreStopped(CoreID(1)), [.releaseSpanned(LocalDomainNumber(1))])
        XCTAssertEqual(home.spansHeld, 0)
        XCTAssertTrue(home.isIdle)
        XCTAssertEqual(home.span(LocalDomainNumber(1), at: place, on: CoreID(1), request: RequestID(9)),
                       [.answer(RequestID(9), .failed(.noSuchCore))])
    }

    func testDispatchersOfADomainWhoseHomeStoppedAreStopped() {
        var guest = monitor(1)
        XCTAssertEqual(guest.receive(MonitorMessage.spanRequest(Ticket(3), domain: domain(0), place: place).encode(), from: CoreID(0)),
                       [.spanLocally(SpawnID(1), home: domain(0), place: place)])
        _ = guest.spanSucceeded(SpawnID(1), local: LocalDomainNumber(6))
        XCTAssertEqual(guest.coreStopped(CoreID(0)), [.killLocally(LocalDomainNumber(6))])
        // One still being built when the notice came is stopped once built.
        var building = monitor(2)
        _ = building.receive(MonitorMessage.spanRequest(Ticket(3), domain: domain(0), place: place).encode(), from: CoreID(0))
        XCTAssertEqual(building.coreStopped(CoreID(0)), [])
        let built = building.spanSucceeded(SpawnID(1), local: LocalDomainNumber(6))
        XCTAssertTrue(built.contains(.killLocally(LocalDomainNumber(6))))
        XCTAssertFalse(built.contains { if case .send(_, CoreID(0)) = $0 { return true } else { return false } }, "nothing to the stopped core")
    }

    func testANoticeThatCannotBeTrueIsCountedAndDropped() {
        var m = monitor(0)
        XCTAssertEqual(m.coreStopped(CoreID(0)), [], "this core itself")
        XCTAssertEqual(m.coreStopped(CoreID(3)), [], "a core outside the system")
        _ = m.coreStopped(CoreID(1))
        XCTAssertEqual(m.coreStopped(CoreID(1)), [], "twice")
        XCTAssertEqual(m.counters.badSender, 3)
        XCTAssertNotNil(m.record(for: domain(2)))
    }
}
