import XCTest
@testable import KernelMessages

/// The policies that keep one core's requests from costing another core without end:
/// stay-awake requests expire per requester, and a panic request is obeyed only when
/// the requester's kernel confirms a grant a kernel-capability invocation made.
final class StayAwakeRequestsTests: XCTestCase {
    func testARequestExpiresAtItsDeadline() {
        var requests = StayAwakeRequests(coreCount: 4)
        XCTAssertFalse(requests.isAwake(now: 0))
        requests.request(from: 1, until: 100)
        XCTAssertTrue(requests.isAwake(now: 99))
        XCTAssertFalse(requests.isAwake(now: 100), "a requester that never says rest (it died) must not keep the core awake")
        XCTAssertEqual(requests.requesters, [])
    }

    func testOneRequesterRestingDoesNotCancelAnother() {
        var requests = StayAwakeRequests(coreCount: 4)
        requests.request(from: 1, until: 1_000)
        requests.request(from: 2, until: 500)
        requests.request(from: 1, until: nil)
        XCTAssertTrue(requests.isAwake(now: 10), "core 2 still measures")
        XCTAssertEqual(requests.requesters, [2])
        XCTAssertFalse(requests.isAwake(now: 500))
    }

    func testUnknownCoresAreIgnored() {
        var requests = StayAwakeRequests(coreCount: 2)
        requests.request(from: 5, until: .max)
        requests.request(from: -1, until: .max)
        XCTAssertFalse(requests.isAwake(now: 0))
    }
}

final class PanicAuthorityTests: XCTestCase {
    func testAGrantedRequestIsConfirmedOnce() {
        var grants = PanicGrants(seed: 7)
        var target = PanicChallenges(coreCount: 4)
        let ticket = grants.grant(target: 2, now: 0, lifetime: 100)
        XCTAssertNotEqual(ticket, 0)
        XCTAssertTrue(target.requested(ticket: ticket, by: 0, now: 1, lifetime: 100))
        let granted = grants.confirm(ticket: ticket, from: 2, now: 2)
        XCTAssertTrue(granted)
        XCTAssertTrue(target.confirmed(ticket: ticket, by: 0, now: 3))
        XCTAssertFalse(grants.confirm(ticket: ticket, from: 2, now: 4), "a grant is used once")
        XCTAssertEqual(target.refused, 0)
    }

    func testARequestNoInvocationGrantedIsRefused() {
        var grants = PanicGrants(seed: 7)
        var target = PanicChallenges(coreCount: 4)
        XCTAssertTrue(target.requested(ticket: 12345, by: 0, now: 0, lifetime: 100))
        XCTAssertFalse(grants.confirm(ticket: 12345, from: 2, now: 1))
        target.denied(ticket: 12345, by: 0)
        XCTAssertFalse(target.confirmed(ticket: 12345, by: 0, now: 2), "a denied request cannot be confirmed later")
        XCTAssertEqual(target.refused, 2)
    }

    func testAGrantForOneCoreDoesNotStopAnother() {
        var grants = PanicGrants(seed: 1)
        let ticket = grants.grant(target: 1, now: 0, lifetime: 100)
        XCTAssertFalse(grants.confirm(ticket: ticket, from: 3, now: 1))
        XCTAssertTrue(grants.confirm(ticket: ticket, from: 1, now: 1))
    }

    func testGrantsAndRequestsExpire() {
        var grants = PanicGrants(seed: 1)
        let ticket = grants.grant(target: 1, now: 0, lifetime: 100)
        XCTAssertFalse(grants.confirm(ticket: ticket, from: 1, now: 100))
        var target = PanicChallenges(coreCount: 2)
        XCTAssertTrue(target.requested(ticket: 9, by: 0, now: 0, lifetime: 10))
        XCTAssertFalse(target.confirmed(ticket: 9, by: 0, now: 10))
    }

    func testAConfirmationMustComeFromTheRequester() {
        var target = PanicChallenges(coreCount: 4)
        XCTAssertTrue(target.requested(ticket: 9, by: 0, now: 0, lifetime: 10))
        XCTAssertFalse(target.confirmed(ticket: 9, by: 3, now: 1), "core 3 cannot confirm core 0's request")
        XCTAssertFalse(target.confirmed(ticket: 8, by: 0, now: 1), "nor a different ticket")
        XCTAssertFalse(target.requested(ticket: 0, by: 0, now: 0, lifetime: 10), "ticket 0 is never granted")
        XCTAssertFalse(target.requested(ticket: 9, by: 7, now: 0, lifetime: 10), "no core 7")
    }

    func testOutstandingGrantsAreBounded() {
        var grants = PanicGrants(seed: 3)
        var tickets: [UInt64] = []
        for _ in 0..<(PanicGrants.limit + 4) { tickets.append(grants.grant(target: 1, now: 0, lifetime: 100)) }
        XCTAssertEqual(grants.outstanding, PanicGrants.limit)
        XCTAssertFalse(grants.confirm(ticket: tickets[0], from: 1, now: 1), "the oldest grant was replaced")
        XCTAssertTrue(grants.confirm(ticket: tickets.last!, from: 1, now: 1))
        XCTAssertEqual(Set(tickets).count, tickets.count, "tickets differ")
    }
}
