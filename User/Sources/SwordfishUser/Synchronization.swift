// Blocking synchronisation between the threads of one domain. On one core the
// dispatcher's disabled flag is all the atomicity needed. Once the domain spans cores
// (Spanning.swift) their state is also taken under `Span.lock`: a mutex another core's
// thread holds is spun on briefly, then the thread that must wait leaves its core to
// the others, and the thread that wakes it (on any core) puts it back on its own
// dispatcher, notifying that one if it sleeps (Threads.swift, `makeRunnable`).

import UserRuntimeC

/// A lock that a thread waiting for it sleeps on. Unlocking hands it straight to the
/// first waiter, so waiters get it in order and none starves.
public final class Mutex {
    var locked = false
    var waiters: [Thread] = []

    /// Times `lock` looks again before sleeping, when another core may hold the mutex
    /// for a moment: a sleep and a notification cost far more than a short wait.
    static let spins = 200

    public init() {}

    public func lock() {
        let wasDisabled = Dispatcher.disable()
        Span.lock()
        if locked && Span.isSpanned {
            for _ in 0..<Self.spins where locked {
                Span.unlock()
                user_pause()
                Span.lock()
            }
        }
        if locked {
            waiters.append(Scheduler.current)
            Span.unlock()
            Scheduler.block()                   // unlock made us the owner
        } else {
            locked = true
            Span.unlock()
        }
        Dispatcher.restore(wasDisabled)
    }

    public func unlock() {
        let wasDisabled = Dispatcher.disable()
        Span.lock()
        unlockLocked()
        Span.unlock()
        Dispatcher.restore(wasDisabled)
    }

    /// With `Span.lock` held.
    func unlockLocked() {
        if waiters.isEmpty {
            locked = false
        } else {
            Scheduler.makeRunnable(waiters.removeFirst())
        }
    }

    /// Runs `body` holding the lock.
    public func withLock<Result>(_ body: () -> Result) -> Result {
        lock()
        defer { unlock() }
        return body()
    }
}

/// A condition variable: `wait` releases the mutex and sleeps until a `signal` or
/// `broadcast`, then takes the mutex again. As everywhere, a woken waiter must check its
/// condition again.
public final class Condition {
    var waiters: [Thread] = []

    public init() {}

    /// Call with `mutex` held.
    public func wait(_ mutex: Mutex) {
        let wasDisabled = Dispatcher.disable()
        Span.lock()
        waiters.append(Scheduler.current)
        mutex.unlockLocked()
        Span.unlock()
        Scheduler.block()
        Dispatcher.restore(wasDisabled)
        mutex.lock()
    }

    /// Wakes one waiter, if there is one.
    public func signal() {
        let wasDisabled = Dispatcher.disable()
        Span.lock()
        if !waiters.isEmpty { Scheduler.makeRunnable(waiters.removeFirst()) }
        Span.unlock()
        Dispatcher.restore(wasDisabled)
    }

    /// Wakes every waiter.
    public func broadcast() {
        let wasDisabled = Dispatcher.disable()
        Span.lock()
        for waiter in waiters { Scheduler.makeRunnable(waiter) }
        waiters.removeAll()
        Span.unlock()
        Dispatcher.restore(wasDisabled)
    }
}
