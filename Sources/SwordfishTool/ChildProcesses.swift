import Foundation

/// The programs the tool has started and not yet seen exit.
///
/// Foundation starts each child in a process group of its own, so Ctrl-C on the terminal
/// reaches only the tool. When a signal ends the tool, this ends every child's group (a
/// SwiftPM child has children of its own), runs the registered clean-ups (the terminal
/// goes back to cooked mode) and exits with 128 + the signal, as a shell reports it.
final class ChildProcesses: @unchecked Sendable {
    static let shared = ChildProcesses()

    private let lock = NSLock()
    private var children: Set<pid_t> = []
    private var cleanups: [Int: @Sendable () -> Void] = [:]
    private var nextCleanup = 0
    private var trap: SignalTrap?

    /// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT from now on; idempotent.
    func stopChildrenOnSignals() {
        lock.withLock {
            guard trap == nil else { return }
            trap = SignalTrap { [self] signalNumber in end(after: signalNumber) }
        }
    }

    func add(_ pid: pid_t) {
        lock.withLock { _ = children.insert(pid) }
    }

    func remove(_ pid: pid_t) {
        lock.withLock { _ = children.remove(pid) }
    }

    /// Runs `cleanup` if a signal ends the tool; returns a token for `removeCleanup`.
    func addCleanup(_ cleanup: @escaping @Sendable () -> Void) -> Int {
        lock.withLock {
            nextCleanup += 1
            cleanups[nextCleanup] = cleanup
            return nextCleanup
        }
    }

    func removeCleanup(_ token: Int) {
        lock.withLock { _ = cleanups.removeValue(forKey: token) }
    }

    private func end(after signalNumber: Int32) -> Never {
        let (pids, actions) = lock.withLock { (children, Array(cleanups.values)) }
        for pid in pids where kill(-pid, SIGTERM) != 0 {
            kill(pid, SIGTERM)
        }
        actions.forEach { $0() }
        RawOutput.note("stopped by signal \(signalNumber)")
        exit(128 + signalNumber)
    }
}
