// The run queue of user-level threads: a ring of references, first in first out, that
// moves them in and out instead of copying them, so a switch pays for no reference
// counting and no shifting of an array (docs/benchmarks.md, "Path lengths"). Its
// storage is made on first use, so the queue is a constant and its global needs no
// lazy initialisation.

struct ThreadQueue {
    private var slots: UnsafeMutablePointer<Thread>? = nil
    /// A power of two (or 0 before the first thread).
    private var capacity = 0
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    private func slot(_ index: Int) -> UnsafeMutablePointer<Thread> { slots! + ((head + index) & (capacity - 1)) }

    /// Queues `thread` last.
    mutating func append(_ thread: Thread) {
        if count == capacity { grow() }
        slot(count).initialize(to: thread)
        count += 1
    }

    mutating func append(contentsOf threads: [Thread]) {
        for thread in threads { append(thread) }
    }

    /// Queues `thread` first.
    mutating func insertFirst(_ thread: Thread) {
        if count == capacity { grow() }
        head = (head + capacity - 1) & (capacity - 1)
        slot(0).initialize(to: thread)
        count += 1
    }

    /// The first thread, taken out. The queue must not be empty.
    mutating func removeFirst() -> Thread {
        let thread = slot(0).move()
        head = (head + 1) & (capacity - 1)
        count -= 1
        return thread
    }

    /// Queues `thread` (which must be there) last and gives back the first in its place
    /// (a yield), moving both references. The queue must not be empty.
    mutating func exchangeFirst(with thread: inout Thread?) {
        let first = slot(0).move()
        head = (head + 1) & (capacity - 1)
        slot(count - 1).initialize(to: thread.take()!)
        thread = first
    }

    private mutating func grow() {
        let larger = max(capacity * 2, 8)
        let moved = UnsafeMutablePointer<Thread>.allocate(capacity: larger)
        for index in 0..<count { (moved + index).initialize(to: slot(index).move()) }
        slots?.deallocate()
        slots = moved
        capacity = larger
        head = 0
    }
}
