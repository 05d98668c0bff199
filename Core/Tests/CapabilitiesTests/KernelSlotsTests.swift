import XCTest
@testable import Capabilities

/// The kernel's own CNodes (transit, keeper) are shared out with a quota per domain, and
/// grow instead of running out for everyone.
final class KernelSlotsTests: XCTestCase {
    /// Takes a slot, adding CNodes as the pool asks, as the kernel does.
    func take(_ slots: inout KernelSlots, for owner: Int, quota: Int) -> Result<KernelSlots.Slot, KernelSlots.Refusal> {
        let first = slots.take(for: owner, quota: quota)
        guard case .failure(.needsNode) = first else { return first }
        slots.addNode()
        return slots.take(for: owner, quota: quota)
    }

    func testOneDomainAtItsQuotaLeavesRoomForOthers() {
        var slots = KernelSlots(slotsPerNode: 64)
        slots.addNode()
        for _ in 0..<16 { XCTAssertNoThrow(try take(&slots, for: 1, quota: 16).get()) }
        XCTAssertEqual(take(&slots, for: 1, quota: 16), .failure(.quotaReached))
        for owner in 2..<10 {
            for _ in 0..<16 { XCTAssertNoThrow(try take(&slots, for: owner, quota: 16).get(), "domain \(owner) is refused") }
        }
        XCTAssertEqual(slots.inUse, 9 * 16)
        XCTAssertEqual(slots.nodes, 3, "63 slots per CNode: 144 slots need three")
    }

    func testTheQuotaGrowsWithTheDomainsMemory() {
        XCTAssertEqual(KernelSlots.quota(forDomainBytes: 0), 4)
        XCTAssertEqual(KernelSlots.quota(forDomainBytes: 256 * 1024), 16)
        XCTAssertEqual(KernelSlots.quota(forDomainBytes: 1024 * 1024), 64)
        XCTAssertLessThan(KernelSlots.quota(forDomainBytes: 256 * 1024), KernelSlots.quota(forDomainBytes: 512 * 1024))
        var slots = KernelSlots(slotsPerNode: 64)
        let big = KernelSlots.quota(forDomainBytes: 2 * 1024 * 1024)
        for _ in 0..<big { XCTAssertNoThrow(try take(&slots, for: 1, quota: big).get()) }
        XCTAssertEqual(take(&slots, for: 1, quota: big), .failure(.quotaReached))
    }

    func testSlotsComeBackAndAreNeverHandedOutTwice() {
        var slots = KernelSlots(slotsPerNode: 4)
        var taken: [KernelSlots.Slot] = []
        for _ in 0..<9 { taken.append(try! take(&slots, for: 1, quota: 100).get()) }
        XCTAssertEqual(Set(taken.map { "\($0.node).\($0.index)" }).count, 9)
        XCTAssertFalse(taken.contains { $0.index == 0 }, "slot 0 is the CNode's own")
        slots.give(taken[0], from: 1)
        slots.give(taken[0], from: 1)                  // twice: ignored
        XCTAssertEqual(slots.held(by: 1), 8)
        XCTAssertEqual(try take(&slots, for: 2, quota: 1).get(), taken[0])
        slots.give(taken[1], from: 3)                  // not its slot holder: ignored
        XCTAssertEqual(slots.held(by: 1), 8)
        for slot in taken.dropFirst() { slots.give(slot, from: 1) }
        XCTAssertEqual(slots.held(by: 1), 0)
        XCTAssertEqual(slots.inUse, 1)
    }
}
