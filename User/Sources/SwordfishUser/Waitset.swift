// A waitset: the endpoints a domain serves, each with a handler, and the threads waiting
// for any of them (Barrelfish's waitset, on same-core endpoints). A thread calls
// `dispatch` to handle the next message; while there is none it sleeps, and the other
// threads run. When no thread can run, the scheduler polls the waitsets that have
// waiters and, if nothing arrived, sleeps in the kernel (the wait system call) until a
// message comes to any endpoint this domain receives on. A message the waitset cannot
// take (it carries a capability and the endpoint has no destination for one) is handed
// to the handler once as a failed receive, and that endpoint is not polled again.
import UserRuntimeC

public final class Waitset {
    /// A message as its handler gets it.
    public struct Message {
        public var words: [UInt64]
        /// The status of the receive: 0, or why the message could not be taken (for
        /// instance 35, slot empty, when it carries a capability and the endpoint was
        /// added without a destination for one). The endpoint is not polled again.
        public var status: UInt64
    }

    struct Channel {
        let endpoint: UInt64
        let capabilityDestination: UInt64
        let handler: (Message) -> Void
        var failed = false
    }

    var channels: [Channel] = []
    /// Messages received and not yet handled, by channel.
    var pending: [(channel: Int, message: Message)] = []
    var waiters: [Thread] = []
    let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: 3)

    /// Times this domain slept in the kernel for want of a message.
    public internal(set) static var kernelWaits = 0

    /// The waitsets some thread waits on.
    static var withWaiters: [Waitset] = []

    static let endpointEmpty: UInt64 = 49
    static let receive: UInt64 = 7

    public init() {}

    /// Serves `endpoint` (the address of an endpoint capability) with `handler`; a
    /// capability in a message goes to `capabilityDestination` (a free slot), or nil if
    /// none is expected. The handler must move or delete that capability before the
    /// next one arrives, or that receive fails (36, slot occupied). This domain becomes
    /// the endpoint's receiver at once, so senders may start. Returns the status of that
    /// first receive: 0 unless the endpoint cannot be received on.
    @discardableResult
    public func add(endpoint: UInt64, capabilityDestination: UInt64? = nil, handler: @escaping (Message) -> Void) -> UInt64 {
        let wasDisabled = Dispatcher.disable()
        defer { Dispatcher.restore(wasDisabled) }
        channels.append(Channel(endpoint: endpoint, capabilityDestination: capabilityDestination ?? UInt64.max, handler: handler))
        poll(channel: channels.count - 1)
        return channels[channels.count - 1].failed ? pending.last!.message.status : 0
    }

    /// Handles the next message on any of the endpoints, waiting for one if need be.
    public func dispatch() {
        while true {
            let wasDisabled = Dispatcher.disable()
            poll()
            if !pending.isEmpty {
                let (channel, message) = pending.removeFirst()
                let handler = channels[channel].handler
                Dispatcher.restore(wasDisabled)
                handler(message)
                return
            }
            waiters.append(Scheduler.current)
            if !Waitset.withWaiters.contains(where: { $0 === self }) { Waitset.withWaiters.append(self) }
            Scheduler.block()
            Dispatcher.restore(wasDisabled)
        }
    }

    /// Takes at most one message from each endpoint that has none pending (so a second
    /// capability never meets an occupied destination). Disabled.
    func poll() {
        for index in channels.indices { poll(channel: index) }
    }

    func poll(channel index: Int) {
        guard !channels[index].failed, !pending.contains(where: { $0.channel == index }) else { return }
        let status = invoke(channels[index].endpoint, Waitset.receive, channels[index].capabilityDestination,
                            UInt64(UInt(bitPattern: buffer))).status
        if status == Waitset.endpointEmpty { return }
        if status != 0 { channels[index].failed = true }
        pending.append((index, Message(words: [buffer[0], buffer[1], buffer[2]], status: status)))
    }

    /// Wakes the waiters of every waitset with a message. Disabled.
    @discardableResult
    static func pollWaiting() -> Bool {
        var woke = false
        for waitset in withWaiters {
            waitset.poll()
            guard !waitset.pending.isEmpty else { continue }
            Scheduler.runQueue.append(contentsOf: waitset.waiters)
            waitset.waiters.removeAll()
            woke = true
        }
        withWaiters.removeAll { $0.waiters.isEmpty }
        return woke
    }

    /// For the scheduler when no thread can run: wakes waiters if a message is there,
    /// and otherwise sleeps in the kernel until one arrives. False if no thread waits on
    /// a waitset (nothing could ever wake one). Disabled.
    static func wakeWaiters() -> Bool {
        guard !withWaiters.isEmpty else { return false }
        if pollWaiting() { return true }
        kernelWaits += 1
        return SystemCall.raw(SystemCall.wait).status != SystemCall.Status.nothingToWaitFor.rawValue
    }
}
