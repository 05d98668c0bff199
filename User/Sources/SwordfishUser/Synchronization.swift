// Blocking synchronisation between the threads of one domain. The threads share one
// core, so the dispatcher's disabled flag is all the atomicity needed: no spinning, and
// a thread that must wait leaves the core to the others (Threads.swift).

/// A lock that a thread waiting for it sleeps on. Unlocking hands it straight to the
/// first waiter, so waiters get it in order and none starves.
public final class Mutex {
    var locked = false
    var waiters: [Thread] = []

    public init() {}

    public func lock() {
        let wasDisabled = Dispatcher.disable()
        if locked {
            waiters.append(Scheduler.current)
            Scheduler.block()                   // unlock made us the owner
        } else {
            locked = true
        }
        Dispatcher.restore(wasDisabled)
    }

    public func unlock() {
        let wasDisabled = Dispatcher.disable()
        unlockDisabled()
        Dispatcher.restore(wasDisabled)
    }

    func unlockDisabled() {
        if waiters.isEmpty {
            locked = false
        } else {
            Scheduler.runQueue.append(waiters.removeFirst())
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
        waiters.append(Scheduler.current)
        mutex.unlockDisabled()
        Scheduler.block()
        Dispatcher.restore(wasDisabled)
        mutex.lock()
    }

    /// Wakes one waiter, if there is one.
    public func signal() {
        let wasDisabled = Dispatcher.disable()
        if !waiters.isEmpty { Scheduler.runQueue.append(waiters.removeFirst()) }
        Dispatcher.restore(wasDisabled)
    }

    /// Wakes every waiter.
    public func broadcast() {
        let wasDisabled = Dispatcher.disable()
        Scheduler.runQueue.append(contentsOf: waiters)
        waiters.removeAll()
        Dispatcher.restore(wasDisabled)
    }
}
