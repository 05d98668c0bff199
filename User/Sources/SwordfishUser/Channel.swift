// A connection between two domains, found by name, on any cores: one API for both
// transports, so a program does not care where its peer runs.
//
// - Peers on different cores share one page of the client's core's binding pool
//   (`BindingPool` in the ABI), both mapping it: a ring each way (the cache-line rings
//   of Core/Sources/Channel that the kernel and the monitors use) and a doorbell line
//   each (`Doorbell`). No kernel is on the data path. A receiver with nothing to read
//   polls a little, then announces that it sleeps and sleeps in the kernel; a sender
//   that sees the announcement notifies it (the notify right the monitor gave this
//   domain with its `hello` answer), once per sleep.
// - Peers on one core talk over same-core endpoints: the client sends its own endpoint
//   with a `hello`, and the server answers with an endpoint of the connection's own, so
//   each side has one endpoint to send on and one to receive on. The kernel wakes a
//   receiver when a message arrives.
//
// A message may carry one capability. On one core the kernel carries it with the
// endpoint message. Across cores the monitors do: the sender's monitor copies it to the
// peer by the capability protocols (`Monitor.send`, which returns once the copy waits at
// the peer's monitor), and only then does the ring message go, naming the object; the
// receiver takes that copy from its monitor into the slot it chose. A message that names
// an object its monitor has not got (revoked on the way, or made up by the peer)
// arrives without one.
//
// A receiver that sleeps wakes now and then (`patience`) and asks the monitor whether
// the peer still runs, so a peer that ended is an error, not a hang; a sender that finds
// no room for `patience` gets `peerNotReading`. Whatever the peer writes into the shared
// page, this side only ever sees a message or `corrupt`, after which the connection is
// not used again.
@_exported import Channel
import UserRuntimeC

public final class Connection {
    /// Words a message carries (the most a same-core message holds).
    public static let words = MessageLayout.words
    /// How long a receive sleeps before it asks whether the peer still runs, and how
    /// long a send waits for room before it gives up, in TSC cycles (a fraction of a
    /// second to a second at the speeds these machines run).
    public static let patience: UInt64 = 500_000_000
    /// How many times a receive looks before it sleeps.
    public static let polls = 200

    /// Why a send or receive failed. After any of them but `capabilityNotSent` and
    /// `refused(.slotOccupied)` the connection is not used again.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The peer wrote what no correct peer writes.
        case corrupt
        /// The peer no longer runs (and nothing it sent is left).
        case peerEnded
        /// The peer has not made room for `patience`: it does not read.
        case peerNotReading
        /// The kernel refused a same-core message for this reason (`slotOccupied`: the
        /// slot named for a capability holds one; nothing was received).
        case refused(InvocationStatus)
        /// The monitors did not carry the capability (it is not RAM from a memory
        /// service or a frame made from it, or it cannot be shared): nothing was sent.
        case capabilityNotSent(MonitorStatus)
        /// This side closed the connection.
        case closed

        public var description: String {
            switch self {
            case .corrupt: return "corrupt"
            case .peerEnded: return "peerEnded"
            case .peerNotReading: return "peerNotReading"
            case .refused(let status): return "refused (\(status))"
            case .capabilityNotSent(let status): return "capability not sent (\(status))"
            case .closed: return "closed"
            }
        }
    }

    /// What goes with a message's words.
    enum Attachment {
        case none
        /// A capability the kernel carries (same core).
        case capability(Capability)
        /// A copy the monitors already carried (across cores): the message names it.
        case copy(type: CapabilityType, base: UInt64, size: UInt64)
    }

    /// A ring message's tag: words alone, or words and a copy's object in words 3–5.
    enum RingTag: UInt16 {
        case words = 1, copy
    }

    enum Transport {
        case rings(sender: RingSender, receiver: RingReceiver, doorbell: Doorbell, peerDoorbell: DoorbellWatcher)
        case endpoints(to: Capability, from: Capability)
    }

    /// The other end's domain.
    public let peer: SystemDomainID
    var transport: Transport
    /// Why the connection stopped working, if it has.
    public private(set) var failure: Failure?
    /// Where its page is mapped (across cores), until it is closed.
    var window: UInt64?

    /// The page of a binding, mapped; the client sends on the first ring.
    init(page: Capability, isClient: Bool, peer: SystemDomainID) throws(MonitorStatus) {
        self.peer = peer
        let address = try ChannelWindow.map(page)
        window = address
        let base = UnsafeMutableRawPointer(bitPattern: UInt(address))!
        let slots = Ring.slots(inBytes: BindingPool.ringBytes)
        let first = base, second = base + BindingPool.ringBytes
        let clientBell = base + BindingPool.doorbellOffset, serverBell = clientBell + Ring.lineSize
        transport = .rings(sender: RingSender(region: isClient ? first : second, slots: slots),
                           receiver: RingReceiver(region: isClient ? second : first, slots: slots),
                           doorbell: Doorbell(line: isClient ? clientBell : serverBell),
                           peerDoorbell: DoorbellWatcher(line: isClient ? serverBell : clientBell))
    }

    init(sendingTo to: Capability, receivingOn from: Capability, peer: SystemDomainID) {
        self.peer = peer
        transport = .endpoints(to: to, from: from)
        LibrarySlots.reserve(to, from)
    }

    /// Connects to the holder of `name`, on whatever core it runs.
    public static func connect(to name: String) throws(MonitorStatus) -> Connection {
        switch try Monitor.bind(name) {
        case .channel(let page, let owner):
            return try Connection(page: page, isClient: true, peer: owner)
        case .endpoint(let server, let owner):
            // Our endpoint goes with the hello; the server's answer brings the one of
            // this connection.
            let own = try LibrarySlots.take()
            let answer: [UInt64]
            do throws(InvocationStatus) {
                try Capability.ram.retype(to: .endpoint, into: own)
                _ = try? own.receive()                   // becomes its receiver
                try sendWhenRoom((Handshake.hello, Program.identity.rawValue, 0), capability: own, to: server)
                try? server.delete()
                answer = try receiveWaiting(on: own, capabilityDestination: server)
            } catch {
                _ = try? own.delete()
                throw .outOfResources
            }
            guard answer[0] == Handshake.accepted, server.type == .endpoint else {
                _ = try? own.delete()
                _ = try? server.delete()
                throw .unknownRequest
            }
            return Connection(sendingTo: server, receivingOn: own, peer: owner)
        }
    }

    /// Connects to the holder of `name`, waiting up to `cycles` for it to be registered
    /// (a server just started on another core registers its name a little later).
    public static func connect(to name: String, waitingUpTo cycles: UInt64) throws(MonitorStatus) -> Connection {
        let start = user_timestamp()
        while true {
            do throws(MonitorStatus) {
                return try connect(to: name)
            } catch {
                guard error == .noSuchName, user_timestamp() &- start < cycles else { throw error }
                yield()
            }
        }
    }

    /// Sends `words` (up to `Connection.words`), waiting for room up to `patience`.
    public func send(_ words: [UInt64]) throws(Failure) {
        try send(words, with: .none)
    }

    /// Sends `words` and a copy of `capability`, which arrives in the slot the peer's
    /// `receive(capabilityInto:)` names. Across cores it must be one the monitors carry:
    /// RAM from a memory service, a frame made from it by `Monitor.retype`, or a device
    /// capability (device frame, I/O ports, interrupts).
    public func send(_ words: [UInt64], carrying capability: Capability) throws(Failure) {
        if let failure { throw failure }
        guard case .rings = transport else { return try send(words, with: .capability(capability)) }
        let object: (base: UInt64, size: UInt64)
        do throws(MonitorStatus) {
            object = try Monitor.send(capability, to: peer)
        } catch .noSuchDomain {
            try fail(.peerEnded)
        } catch {
            throw .capabilityNotSent(error)
        }
        try send(words, with: .copy(type: capability.type, base: object.base, size: object.size))
    }

    func send(_ words: [UInt64], with attachment: Attachment) throws(Failure) {
        let since = user_timestamp()
        while try !trySend(words, with: attachment) {
            yield()
            guard user_timestamp() &- since > Self.patience else { continue }
            if peerHasEnded() { try fail(.peerEnded) }
            // Room may have come while we asked.
            if try trySend(words, with: attachment) { return }
            try fail(.peerNotReading)
        }
    }

    /// Sends `words` if there is room now; false if the peer has not caught up.
    public func trySend(_ words: [UInt64]) throws(Failure) -> Bool {
        try trySend(words, with: .none)
    }

    func trySend(_ words: [UInt64], with attachment: Attachment) throws(Failure) -> Bool {
        if let failure { throw failure }
        switch transport {
        case .rings(var sender, let receiver, let doorbell, var peerDoorbell):
            var message = ChannelMessage(tag: RingTag.words.rawValue)
            for (index, word) in words.prefix(Self.words).enumerated() { message.words[index] = word }
            if case .copy(let type, let base, let size) = attachment {
                message.tag = RingTag.copy.rawValue
                message.words[Self.words] = base
                message.words[Self.words + 1] = size
                message.words[Self.words + 2] = UInt64(type.rawValue)
            }
            let sent: Bool
            do throws(ChannelError) { sent = try sender.send(message) } catch { try fail(.corrupt) }
            if sent, peerDoorbell.peerNeedsRinging() {
                try? Monitor.wakeRight.notify(core: peer.core, domain: Int(peer.local))
            }
            transport = .rings(sender: sender, receiver: receiver, doorbell: doorbell, peerDoorbell: peerDoorbell)
            return sent
        case .endpoints(let to, _):
            var capability: Capability? = nil
            if case .capability(let carried) = attachment { capability = carried }
            do throws(InvocationStatus) {
                try to.send((words.count > 0 ? words[0] : 0, words.count > 1 ? words[1] : 0, words.count > 2 ? words[2] : 0),
                            capability: capability)
                return true
            } catch .endpointFull {
                return false
            } catch .noReceiver, .slotEmpty {
                // The peer's endpoint has no receiver, or was revoked with the peer's
                // memory when it ended.
                try fail(.peerEnded)
            } catch {
                try fail(.refused(error))
            }
        }
    }

    /// The next message, if one is there (a capability it carries is dropped).
    public func tryReceive() throws(Failure) -> [UInt64]? {
        try tryReceive(capabilityInto: nil)?.words
    }

    /// The next message, if one is there, and whether a capability came with it (into
    /// `destination`; dropped when it is nil).
    public func tryReceive(capabilityInto destination: Capability?) throws(Failure) -> (words: [UInt64], carriedCapability: Bool)? {
        if let failure { throw failure }
        switch transport {
        case .rings(let sender, var receiver, let doorbell, let peerDoorbell):
            let message: ChannelMessage?
            do throws(ChannelError) { message = try receiver.receive() } catch { try fail(.corrupt) }
            if message != nil { receiver.publish() }
            transport = .rings(sender: sender, receiver: receiver, doorbell: doorbell, peerDoorbell: peerDoorbell)
            guard let message else { return nil }
            let words = (0..<Self.words).map { message.words[$0] }
            switch RingTag(rawValue: message.tag) {
            case .words?:
                return (words, false)
            case .copy?:
                guard let type = CapabilityType(rawValue: UInt8(truncatingIfNeeded: message.words[Self.words + 2])),
                      message.words[Self.words + 2] >> 8 == 0 else { try fail(.corrupt) }
                return (words, takeCopy(of: type, base: message.words[Self.words], size: message.words[Self.words + 1], into: destination))
            case nil:
                try fail(.corrupt)
            }
        case .endpoints(_, let from):
            do throws(InvocationStatus) {
                guard let destination else { return (try from.receive(), false) }
                let words = try from.receive(capabilityDestination: destination)
                return (words, destination.type != .null)
            } catch .endpointEmpty {
                return nil
            } catch .slotEmpty where destination == nil {
                // The message carries a capability, and there is nowhere to drop it yet.
                guard let scratch = try? LibrarySlots.take() else { throw .refused(.slotOccupied) }
                defer { _ = try? scratch.delete() }
                return try tryReceive(capabilityInto: scratch).map { ($0.words, false) }
            } catch {
                try fail(.refused(error))
            }
        }
    }

    /// Takes the copy a ring message named from this core's monitor into `destination`
    /// (or drops it); false if the monitor has none (revoked on the way, or never sent).
    func takeCopy(of type: CapabilityType, base: UInt64, size: UInt64, into destination: Capability?) -> Bool {
        guard let target = destination ?? (try? LibrarySlots.take()) else { return false }
        do throws(MonitorStatus) { try Monitor.receiveCopy(of: type, base: base, size: size, into: target) } catch { return false }
        if destination == nil { try? target.delete() }
        return true
    }

    /// The next message: looks `polls` times, then sleeps until the peer rings (or a
    /// message arrives); every `patience` it asks whether the peer still runs. A
    /// capability it carries is dropped.
    public func receive(polls: Int = Connection.polls) throws(Failure) -> [UInt64] {
        try receive(capabilityInto: nil, polls: polls).words
    }

    /// The next message, as `receive(polls:)`, and whether a capability came with it, in
    /// `destination` (which must be empty).
    public func receive(capabilityInto destination: Capability?, polls: Int = Connection.polls) throws(Failure) -> (words: [UInt64], carriedCapability: Bool) {
        if let destination, destination.type != .null { throw .refused(.slotOccupied) }
        var since = user_timestamp()
        while true {
            for _ in 0..<max(polls, 1) {
                if let message = try tryReceive(capabilityInto: destination) { return message }
            }
            if user_timestamp() &- since > Self.patience {
                if peerHasEnded() {
                    if let message = try tryReceive(capabilityInto: destination) { return message }
                    try fail(.peerEnded)
                }
                since = user_timestamp()
            }
            try sleep(until: since &+ Self.patience)
        }
    }

    /// Sleeps in the kernel until the peer rings, a message arrives or `deadline`.
    func sleep(until deadline: UInt64) throws(Failure) {
        if prepareToSleep() { try? SystemCall.wait(until: deadline) }
        wakeUp()
    }

    /// Tells the peer this side is about to sleep (so its next message rings it);
    /// false if a message is already there, and this side should not sleep.
    public func prepareToSleep() -> Bool {
        guard case .rings(let sender, let receiver, var doorbell, let peerDoorbell) = transport else {
            return true                                  // the kernel wakes an endpoint's receiver
        }
        doorbell.announceSleep()
        transport = .rings(sender: sender, receiver: receiver, doorbell: doorbell, peerDoorbell: peerDoorbell)
        return !receiver.hasMessage()
    }

    /// This side is awake again: the peer need not ring.
    public func wakeUp() {
        if case .rings(_, _, let doorbell, _) = transport { doorbell.announceAwake() }
    }

    /// Ends this side: across cores its page is unmapped, which frees its place for
    /// another connection (a domain maps `ChannelWindow.pages.count` at once); on one
    /// core its endpoints are deleted. Every later call throws `closed`. The peer is not
    /// told: it finds `peerEnded` once this domain ends.
    public func close() {
        guard failure != .closed else { return }
        failure = .closed
        switch transport {
        case .rings:
            if let window { ChannelWindow.unmap(window) }
            window = nil
        case .endpoints(let to, let from):
            _ = try? to.delete()
            _ = try? from.delete()
            LibrarySlots.release(to, from)
        }
    }

    /// True once the peer no longer runs, as this core's monitor knows it.
    func peerHasEnded() -> Bool { (try? Monitor.isAlive(peer)) == false }

    func fail(_ reason: Failure) throws(Failure) -> Never {
        failure = reason
        throw reason
    }
}

/// A name others connect to: `accept` gives a connection per client, on any core.
public struct Listener {
    let endpoint: Capability

    /// Registers `name` (see `Monitor.register`) with an endpoint of the library's.
    public init(name: String) throws(MonitorStatus) {
        endpoint = try LibrarySlots.take()
        do throws(InvocationStatus) {
            try Capability.ram.retype(to: .endpoint, into: endpoint)
            _ = try? endpoint.receive()                  // becomes its receiver
        } catch {
            throw .outOfResources
        }
        try Monitor.register(name, endpoint: endpoint)
    }

    /// The next client's connection, sleeping until one comes.
    public func accept() throws(MonitorStatus) -> Connection {
        let arriving = try LibrarySlots.take()
        let words: [UInt64]
        do throws(InvocationStatus) { words = try receiveWaiting(on: endpoint, capabilityDestination: arriving) } catch { throw .outOfResources }
        return try connection(from: words, arriving: arriving)
    }

    /// The next client's connection if one is waiting, else nil at once (a server that
    /// polls other work between clients).
    public func tryAccept() throws(MonitorStatus) -> Connection? {
        let arriving = try LibrarySlots.take()
        let words: [UInt64]
        do throws(InvocationStatus) { words = try endpoint.receive(capabilityDestination: arriving) } catch .endpointEmpty {
            return nil
        } catch {
            _ = try? arriving.delete()
            throw .outOfResources
        }
        return try connection(from: words, arriving: arriving)
    }

    func connection(from words: [UInt64], arriving: Capability) throws(MonitorStatus) -> Connection {
        // From another core, the monitors bring a binding page (`BindOffer`).
        if words[0] == BindOffer.marker, arriving.type == .frame {
            return try Connection(page: arriving, isClient: false, peer: SystemDomainID(rawValue: words[1]))
        }
        // From this core, a client's hello with its endpoint: answer with ours.
        guard words[0] == Handshake.hello, arriving.type == .endpoint else {
            _ = try? arriving.delete()
            throw .unknownRequest
        }
        let own = try LibrarySlots.take()
        do throws(InvocationStatus) {
            try Capability.ram.retype(to: .endpoint, into: own)
            _ = try? own.receive()
            try sendWhenRoom((Handshake.accepted, Program.identity.rawValue, 0), capability: own, to: arriving)
        } catch {
            _ = try? own.delete()
            _ = try? arriving.delete()
            throw .outOfResources
        }
        return Connection(sendingTo: arriving, receivingOn: own, peer: SystemDomainID(rawValue: words[1]))
    }
}

/// The first words of a same-core connection's two handshake messages.
enum Handshake {
    static let hello: UInt64 = 0x6865_6C6C_6F21          // "hello!"
    static let accepted: UInt64 = 0x6163_6365_7074       // "accept"
}

/// Sends on a same-core endpoint, letting its receiver run while it is full.
func sendWhenRoom(_ words: (UInt64, UInt64, UInt64), capability: Capability?, to endpoint: Capability) throws(InvocationStatus) {
    while true {
        do throws(InvocationStatus) {
            return try endpoint.send(words, capability: capability)
        } catch .endpointFull {
            yield()
        }
    }
}

/// The next message on `endpoint`, sleeping until one comes.
func receiveWaiting(on endpoint: Capability, capabilityDestination: Capability?) throws(InvocationStatus) -> [UInt64] {
    while true {
        do throws(InvocationStatus) {
            return try endpoint.receive(capabilityDestination: capabilityDestination)
        } catch .endpointEmpty {
            try? endpoint.wait()
        }
    }
}

/// Root slots 40–48: the library's for connections (listeners' and connections'
/// endpoints, a capability on its way in) and, once a domain spans, the heap's piece of
/// the memory service and its CNode (Spanning.swift).
enum LibrarySlots {
    static let range: ClosedRange<UInt32> = 40...48

    /// Slots a connection keeps even while they are empty: a peer's endpoint dies with
    /// the peer, which empties the slot, and a slot taken again then would be deleted
    /// when that connection is closed.
    nonisolated(unsafe) static var reserved: [UInt32] = []

    static func take() throws(MonitorStatus) -> Capability { Capability(slot: try takeSlot()) }

    /// The first empty one no connection keeps.
    static func takeSlot() throws(MonitorStatus) -> UInt32 {
        guard let slot = range.first(where: { Capability(slot: $0).type == .null && !reserved.contains($0) }) else { throw .outOfResources }
        return slot
    }

    static func reserve(_ capabilities: Capability...) {
        for capability in capabilities where capability.address.leafSlot == nil { reserved.append(capability.address.rootSlot) }
    }

    static func release(_ capabilities: Capability...) {
        for capability in capabilities where capability.address.leafSlot == nil {
            if let index = reserved.firstIndex(of: capability.address.rootSlot) { reserved.remove(at: index) }
        }
    }
}

/// Where the library maps channel pages: the 2 MiB at 2 TiB (PML4 entry 4), its page
/// table in root slots 52–54, the pages' frames in 55–59 (five channels a domain).
enum ChannelWindow {
    static let base: UInt64 = 4 << 39
    static let tables: UInt32 = 52
    static let pages: ClosedRange<UInt32> = 55...59
    nonisolated(unsafe) static var table: Capability? = nil

    /// Moves `page` into the next free page slot and maps it; its address.
    static func map(_ page: Capability) throws(MonitorStatus) -> UInt64 {
        guard let slot = pages.first(where: { Capability(slot: $0).type == .null }) else { throw .busy }
        do throws(InvocationStatus) {
            if table == nil { table = try makePageTable(from: .ram, into: tables, pml4Entry: 4) }
            let frame = Capability(slot: slot)
            try page.copy(to: frame)
            try? page.delete()
            let entry = Int(slot - pages.lowerBound)
            try table!.map(frame, at: entry, rights: [.read, .write])
            return base + UInt64(entry) * BindingPool.pageBytes
        } catch {
            throw .outOfResources
        }
    }

    /// Unmaps the page `map` put at `address` and frees its slot.
    static func unmap(_ address: UInt64) {
        let entry = Int((address - base) / BindingPool.pageBytes)
        try? table?.unmap(at: entry)
        _ = try? Capability(slot: pages.lowerBound + UInt32(entry)).delete()
    }
}
