import XCTest
@testable import Basics

/// What other cores make a core queue stays within a capacity, and what did not fit is
/// counted.
final class BoundedQueueTests: XCTestCase {
    func testAFullQueueRefusesAndCounts() {
        var queue = BoundedQueue<Int>(capacity: 3)
        for value in 0..<5 { queue.append(value) }
        XCTAssertEqual(queue.count, 3)
        XCTAssertEqual(queue.dropped, 2)
        XCTAssertEqual(Array(queue.queued), [0, 1, 2])
        XCTAssertEqual(queue.removeFirst(), 0)
        XCTAssertTrue(queue.append(9))
        XCTAssertEqual(Array(queue.queued), [1, 2, 9])
    }

    func testDroppingOldestKeepsTheNewest() {
        var queue = BoundedQueue<Int>(capacity: 2)
        for value in 0..<5 { queue.appendDroppingOldest(value) }
        XCTAssertEqual(Array(queue.queued), [3, 4])
        XCTAssertEqual(queue.dropped, 3)
    }

    func testStorageStaysBoundedUnderSteadyTraffic() {
        var queue = BoundedQueue<Int>(capacity: 8)
        for value in 0..<100_000 {
            queue.append(value)
            if value % 3 != 0 { _ = queue.removeFirst() }
            XCTAssertLessThanOrEqual(queue.count, 8)
            XCTAssertLessThanOrEqual(queue.elements.count, 16)
        }
        XCTAssertGreaterThan(queue.dropped, 0)
        var last = -1
        while let value = queue.removeFirst() {
            XCTAssertGreaterThan(value, last)
            last = value
        }
        XCTAssertTrue(queue.isEmpty)
        XCTAssertNil(queue.first)
    }
}
