// A first-in, first-out queue with a fixed capacity and a count of what it refused.
// The CPU driver keeps work and messages that other cores cause in these (a link's
// outbox, the deferred-work queue, the record of finished domains): another core can
// make this core queue something, but never make it hold more than the capacity, and
// what did not fit shows up as a number instead of as memory.

public struct BoundedQueue<Element> {
    public let capacity: Int
    public private(set) var elements: [Element] = []
    /// Elements refused because the queue was full (`append`), or pushed out of it
    /// (`appendDroppingOldest`).
    public private(set) var dropped = 0
    /// Index of the first element still queued (removing from the front is O(1)).
    private var head = 0

    public init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    public var count: Int { elements.count - head }
    public var isEmpty: Bool { count == 0 }
    public var isFull: Bool { count >= capacity }
    public var first: Element? { isEmpty ? nil : elements[head] }

    /// Queues `element`; false (and counted) if the queue is full.
    @discardableResult
    public mutating func append(_ element: Element) -> Bool {
        guard !isFull else {
            dropped += 1
            return false
        }
        compact()
        elements.append(element)
        return true
    }

    /// Queues `element`, pushing out (and counting) the oldest if the queue is full:
    /// for records where the newest matter most.
    public mutating func appendDroppingOldest(_ element: Element) {
        if isFull {
            _ = removeFirst()
            dropped += 1
        }
        compact()
        elements.append(element)
    }

    /// The oldest element, removed.
    public mutating func removeFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = elements[head]
        head += 1
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        }
        return element
    }

    /// Every queued element, oldest first.
    public var queued: ArraySlice<Element> { elements[head...] }

    /// Drops the removed prefix once it is as long as what remains, so storage stays
    /// within twice the capacity.
    private mutating func compact() {
        guard head > 0, head >= count else { return }
        elements.removeFirst(head)
        head = 0
    }
}
