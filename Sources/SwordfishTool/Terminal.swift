import Foundation

/// The user's terminal in raw mode while a guest console is attached to it: every key
/// goes to the guest as typed (Ctrl-C included), nothing is echoed locally. Output
/// processing stays on, so a bare `\n` from the guest still starts a new line.
final class RawTerminal: @unchecked Sendable {
    private let descriptor: Int32
    private let original: termios
    private let lock = NSLock()
    private var isRestored = false

    /// Nil when `descriptor` is not a terminal.
    init?(descriptor: Int32 = STDIN_FILENO) {
        guard isatty(descriptor) == 1 else { return nil }
        var settings = termios()
        guard tcgetattr(descriptor, &settings) == 0 else { return nil }
        self.descriptor = descriptor
        self.original = settings
        var raw = settings
        cfmakeraw(&raw)
        raw.c_oflag |= tcflag_t(OPOST | ONLCR)
        guard tcsetattr(descriptor, TCSANOW, &raw) == 0 else { return nil }
    }

    /// Puts the terminal back as it was; safe to call more than once, from any thread.
    func restore() {
        lock.lock()
        defer { lock.unlock() }
        guard !isRestored else { return }
        isRestored = true
        var settings = original
        tcsetattr(descriptor, TCSANOW, &settings)
    }

    deinit {
        restore()
    }
}

/// Catches the signals that would otherwise end the tool without tidying up (leaving the
/// terminal raw, or QEMU running), and hands them to a handler on a background queue,
/// for as long as the trap lives.
final class SignalTrap: @unchecked Sendable {
    static let stoppingSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
    private var sources: [DispatchSourceSignal] = []

    init(_ signals: [Int32] = SignalTrap.stoppingSignals, handler: @escaping @Sendable (Int32) -> Void) {
        for signalNumber in signals {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { handler(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }
}
