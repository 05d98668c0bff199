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
        /// Why the message could not be taken, nil if it was: for instance `slotEmpty`
        /// when it carries a capability and the endpoint was added without a
        /// destination for one. The endpoint is not polled again after a refusal.
        public var refusal: InvocationStatus?
    }

    struct Channel {
        let endpoint: Capability
        let capabilityDestination: Capability?
        let handler: (Message) -> Void
        var failed = false
    }

    var channels: [Channel] = []
    /// Messages received and not yet handled, by channel.
    var pending: [(channel: Int, message: Message)] = []
    var waiters: [Thread] = []

    /// Times this domain slept in the kernel for want of a message.
    public internal(set) static var kernelWaits = 0

    /// The waitsets some thread waits on.
    static var withWaiters: [Waitset] = []

    public init() {}

    /// Serves `endpoint` (the address of an endpoint capability) with `handler`; a
    /// capability in a message goes to `capabilityDestination` (a free slot), or nil if
    /// none is expected. The handler must move or delete that capability before the
    /// next one arrives, or that receive fails (`slotOccupied`). This domain becomes the
    /// endpoint's receiver at once (the kernel takes a first receive as the claim), so
    /// senders may start; an endpoint that already has another receiver, or that this
    /// domain cannot receive on, throws that first receive's refusal.
    public func add(endpoint: Capability, capabilityDestination: Capability? = nil,
                    handler: @escaping (Message) -> Void) throws(InvocationStatus) {
        let wasDisabled = Dispatcher.disable()
        defer { Dispatcher.restore(wasDisabled) }
        channels.append(Channel(endpoint: endpoint, capabilityDestination: capabilityDestination, handler: handler))
        poll(channel: channels.count - 1)
        if channels[channels.count - 1].failed, let refusal = pending.last?.message.refusal {
            pending.removeLast()
            channels.removeLast()
            throw refusal
        }
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
        do throws(InvocationStatus) {
            let words = try channels[index].endpoint.receive(capabilityDestination: channels[index].capabilityDestination)
            pending.append((index, Message(words: words, refusal: nil)))
        } catch .endpointEmpty {
            return
        } catch {
            channels[index].failed = true
            pending.append((index, Message(words: [], refusal: error)))
        }
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
        do throws(SystemCallStatus) {
            try SystemCall.wait()
            return true
        } catch {
            return error != .nothingToWaitFor
        }
    }
}
