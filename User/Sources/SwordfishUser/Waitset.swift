// A waitset: the endpoints and connections a domain serves, each with a handler, and
// the threads waiting for any of them (Barrelfish's waitset). A thread calls `dispatch`
// to handle the next message; while there is none it sleeps, and the other threads run.
// When no thread can run, the scheduler polls the waitsets that have waiters and, if
// nothing arrived, sleeps in the kernel (the wait system call) until a message comes to
// any endpoint this domain receives on, or a connection's peer rings. Before it sleeps it
// tells every connection's peer so (the connection's doorbell), and it wakes now and then
// (`Connection.patience`) to ask whether those peers still run. A message the waitset
// cannot take (it carries a capability and the endpoint has no destination for one, or
// a connection failed) is handed to the handler once as a failed receive, and that
// source is not polled again.
import UserRuntimeC

public final class Waitset {
    /// A message as its handler gets it.
    public struct Message {
        public var words: [UInt64]
        /// Why the message could not be taken, nil if it was: for instance `slotEmpty`
        /// when it carries a capability and the endpoint was added without a
        /// destination for one. The endpoint is not polled again after a refusal.
        public var refusal: InvocationStatus?
        /// Why a connection failed (`peerEnded`, `corrupt`), nil if it has not; it is
        /// not polled again after that.
        public var failure: Connection.Failure? = nil
    }

    /// Where messages come from: an endpoint this domain receives on, or a connection.
    enum Source {
        case endpoint(Capability, capabilityDestination: Capability?)
        case connection(Connection)
    }

    struct Channel {
        let source: Source
        let handler: (Message) -> Void
        var failed = false
        /// When a connection last had a message, or its peer was last found running.
        var heardFrom: UInt64 = 0
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
        channels.append(Channel(source: .endpoint(endpoint, capabilityDestination: capabilityDestination), handler: handler))
        poll(channel: channels.count - 1)
        if channels[channels.count - 1].failed, let refusal = pending.last?.message.refusal {
            pending.removeLast()
            channels.removeLast()
            throw refusal
        }
    }

    /// Serves `connection` with `handler`: each message's words, or its failure once.
    /// The connection stays the caller's to send on.
    public func add(connection: Connection, handler: @escaping (Message) -> Void) {
        let wasDisabled = Dispatcher.disable()
        defer { Dispatcher.restore(wasDisabled) }
        channels.append(Channel(source: .connection(connection), handler: handler, heardFrom: user_timestamp()))
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
        switch channels[index].source {
        case .endpoint(let endpoint, let capabilityDestination):
            do throws(InvocationStatus) {
                let words = try endpoint.receive(capabilityDestination: capabilityDestination)
                pending.append((index, Message(words: words, refusal: nil)))
            } catch .endpointEmpty {
                return
            } catch {
                channels[index].failed = true
                pending.append((index, Message(words: [], refusal: error)))
            }
        case .connection(let connection):
            do throws(Connection.Failure) {
                if let words = try connection.tryReceive() {
                    channels[index].heardFrom = user_timestamp()
                    pending.append((index, Message(words: words, refusal: nil)))
                } else if user_timestamp() &- channels[index].heardFrom > Connection.patience {
                    // Quiet for a while: is anyone still there?
                    if connection.peerHasEnded() { throw .peerEnded }
                    channels[index].heardFrom = user_timestamp()
                }
            } catch {
                channels[index].failed = true
                pending.append((index, Message(words: [], refusal: nil, failure: error)))
            }
        }
    }

    /// The connections of every waitset with waiters.
    static var waitedConnections: [Connection] {
        var connections: [Connection] = []
        for waitset in withWaiters {
            for channel in waitset.channels where !channel.failed {
                if case .connection(let connection) = channel.source { connections.append(connection) }
            }
        }
        return connections
    }

    /// Wakes the waiters of every waitset with a message. Disabled.
    @discardableResult
    static func pollWaiting() -> Bool {
        var woke = false
        for waitset in withWaiters {
            waitset.poll()
            guard !waitset.pending.isEmpty else { continue }
            Scheduler.here.runQueue.append(contentsOf: waitset.waiters)
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
        // Tell every connection's peer that this domain sleeps, then look once more: a
        // message sent before the peer could see that is there now.
        let connections = waitedConnections
        var mustLook = false
        for connection in connections where !connection.prepareToSleep() { mustLook = true }
        defer { for connection in connections { connection.wakeUp() } }
        if mustLook { return true }                       // the scheduler polls again
        kernelWaits += 1
        do throws(SystemCallStatus) {
            // With connections, wake in time to ask whether their peers still run.
            try SystemCall.wait(until: connections.isEmpty ? nil : user_timestamp() &+ Connection.patience)
            return true
        } catch {
            return error != .nothingToWaitFor
        }
    }
}
