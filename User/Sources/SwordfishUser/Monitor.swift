// Asking this core's monitor for something: a request on its service endpoint (a copy
// the kernel put in `InitialSlot.monitor`), carrying this domain's answer endpoint,
// then a sleep until the reply with the same id comes back. The monitor answers every
// request (success, a refusal, or `timedOut` when another monitor it had to ask stays
// silent), so a question never hangs on a dead core. One thread at a time may ask.
//
// Names and domains are the whole machine's: a name registered on one core is looked
// up on any, a program can be started on any core and a domain killed from any; the
// monitors keep every core's replica of both tables, and of the knowledge base, by their protocols
// (Core/Sources/MonitorProtocols, docs/monitors.md).

public enum Monitor {
    nonisolated(unsafe) static var nextID: UInt32 = 1

    static let service = Capability(slot: InitialSlot.monitor)
    static let answers = Capability(slot: InitialSlot.monitorAnswers)
    /// The right to notify any domain (write only), which the monitor gives with its
    /// answer to `hello`: how a connection's sender wakes a peer that sleeps.
    static let wakeRight = Capability(slot: 49)

    /// Asks core `core`'s monitor whether it is there (through this core's monitor and
    /// their ring).
    public static func ping(core: Int) throws(MonitorStatus) {
        _ = try ask(.ping(core: core))
    }

    /// Registers `name` (at most `MonitorRequest.nameBytes` bytes) for this domain,
    /// system-wide, with `endpoint` (a domain on the same core that looks the name up
    /// gets a copy of it). Exactly one of two domains that register one name at once
    /// wins; the other gets `nameTaken`. The name goes away when this domain ends.
    public static func register(_ name: String, endpoint: Capability? = nil) throws(MonitorStatus) {
        _ = try ask(.register(name: try checked(name)), carrying: endpoint)
    }

    public static func unregister(_ name: String) throws(MonitorStatus) {
        _ = try ask(.unregister(name: try checked(name)))
    }

    /// Who holds `name`; if the owner runs on this core and registered an endpoint, a
    /// copy of it arrives in `endpointDestination`.
    public static func lookup(_ name: String, endpointDestination: Capability? = nil) throws(MonitorStatus) -> SystemDomainID {
        // The endpoint must land somewhere even when the caller does not want it: an
        // answer that carries a capability no receive takes would block every later one.
        let destination: Capability
        if let endpointDestination { destination = endpointDestination } else { destination = try LibrarySlots.take() }
        defer { if endpointDestination == nil { _ = try? destination.delete() } }
        return SystemDomainID(rawValue: try ask(.lookup(name: try checked(name)), capabilityDestination: destination).0)
    }

    /// Starts `program` on core `core` with `arguments` (at most 240 bytes); returns the
    /// new domain's system-wide id.
    public static func spawn(_ program: String, arguments: String = "", on core: Int) throws(MonitorStatus) -> SystemDomainID {
        let bytes = Array(arguments.utf8)
        guard bytes.count <= 240 else { throw .argumentsTooLong }
        var offset = 0
        while offset < bytes.count {
            let piece = Array(bytes[offset..<min(offset + MonitorRequest.nameBytes, bytes.count)])
            _ = try ask(.argumentPiece(piece))
            offset += piece.count
        }
        return SystemDomainID(rawValue: try ask(.spawn(program: try checked(program), core: core)).0)
    }

    /// What `bind` gives: the owner's endpoint (it runs on this core: same-core
    /// messages) or a binding page (it runs on another core: rings). `Connection` turns
    /// either into a connection.
    enum Binding {
        case endpoint(Capability, owner: SystemDomainID)
        case channel(page: Capability, owner: SystemDomainID)
    }

    /// Binds to the holder of `name`, on any core: one call whichever core it is on.
    static func bind(_ name: String) throws(MonitorStatus) -> Binding {
        let arriving = try LibrarySlots.take()
        let (owner, kind) = try ask(.bind(name: try checked(name)), capabilityDestination: arriving)
        if kind == BindingKind.endpoint.rawValue { return .endpoint(arriving, owner: SystemDomainID(rawValue: owner)) }
        return .channel(page: arriving, owner: SystemDomainID(rawValue: owner))
    }

    /// Whether `domain` still runs (as this core's monitor's replica knows it).
    public static func isAlive(_ domain: SystemDomainID) throws(MonitorStatus) -> Bool {
        do throws(MonitorStatus) {
            _ = try program(of: domain)
            return true
        } catch .noSuchDomain {
            return false
        }
    }

    /// The digest (`KnowledgeEncoding.digest` of the encoded base) and generation of this
    /// core's monitor's replica of the knowledge base.
    public static func knowledgeDigest() throws(MonitorStatus) -> (digest: UInt64, generation: UInt64) {
        let (digest, generation) = try ask(.knowledgeDigest)
        return (digest, generation)
    }

    /// The core a long-lived service goes to when nobody says, as this core's monitor's
    /// replica of the knowledge base picks it (`ServicePlacement`).
    public static func serviceCore() throws(MonitorStatus) -> Int {
        Int(try ask(.serviceCore).0)
    }

    /// The program `domain` runs (its first 16 bytes), as this core's monitor's replica
    /// knows it; `noSuchDomain` if it is not running.
    public static func program(of domain: SystemDomainID) throws(MonitorStatus) -> String {
        String(decoding: NameWords.unpack(try ask(.alive(domain: domain.rawValue))), as: UTF8.self)
    }

    /// Whether `domain` runs or sleeps at this moment, from its own core's kernel (through
    /// that core's monitor). `noSuchDomain` if it is not running, `timedOut` if its
    /// monitor did not answer.
    public static func state(of domain: SystemDomainID) throws(MonitorStatus) -> DomainRunState {
        guard let state = DomainRunState(rawValue: try ask(.state(domain: domain.rawValue)).0) else { throw .unknownRequest }
        return state
    }

    /// Waits until `domain`, on whatever core it runs, ends, and says how. Throws
    /// `noSuchDomain` if it is not running and its end is no longer remembered.
    public static func awaitEnd(of domain: SystemDomainID) throws(MonitorStatus) -> DomainEnd {
        let words = try ask(.awaitEnd(domain: domain.rawValue))
        guard let end = DomainEnd(words: words) else { throw .unknownRequest }
        return end
    }

    /// Stops `domain`, on whatever core it runs.
    public static func kill(_ domain: SystemDomainID) throws(MonitorStatus) {
        _ = try ask(.kill(domain: domain.rawValue))
    }

    /// I/O ports `base ..< base + count` from the bootstrap core's monitor (asked on
    /// that core; elsewhere `noSuchCore`), as a capability in `destination`.
    public static func ioPorts(_ base: UInt16, count: UInt16, into destination: Capability) throws(MonitorStatus) {
        _ = try ask(.ioPorts(base: UInt64(base), count: UInt64(count)), capabilityDestination: destination)
    }

    /// An interrupt capability for ISA IRQ `irq` from the bootstrap core's monitor
    /// (asked on that core; elsewhere `noSuchCore`), in `destination`.
    public static func interrupt(_ irq: UInt8, into destination: Capability) throws(MonitorStatus) {
        _ = try ask(.interrupt(irq: UInt64(irq)), capabilityDestination: destination)
    }

    /// Device memory `base ..< base + bytes` (whole pages of a BAR the device manager
    /// found) from the bootstrap core's monitor (elsewhere `noSuchCore`), as a device
    /// frame in `destination`, mapped uncached. `unavailable` for anything outside the
    /// window below 4 GiB that holds no RAM and no interrupt controller, for a part not
    /// page-aligned, or for one another driver holds.
    public static func deviceMemory(_ base: UInt64, bytes: UInt64, into destination: Capability) throws(MonitorStatus) {
        _ = try ask(.deviceMemory(base: base, bytes: bytes), capabilityDestination: destination)
    }

    /// Page `page` of the boot image's file `name` (a path under User/Files, such as
    /// `www/index.html`) written into `frame` (a writable 4 KiB frame of this domain's,
    /// which keeps it), the rest of the page zeroed; the file's size in bytes.
    /// `noSuchName` if the image has no such file, `badAddress` for a page past its end.
    public static func bootFile(_ name: String, page: Int, into frame: Capability) throws(MonitorStatus) -> Int {
        Int(try ask(.bootFile(name: try checked(name), page: page), carrying: frame).0)
    }

    // MARK: Capabilities across cores (docs/capabilities.md)

    /// RAM of `bytes` (at most `MemoryService.pieceBytes`) from this core's memory
    /// service, in `destination`; its base and size. `outOfMemory` when none is free.
    public static func allocate(_ bytes: UInt64, into destination: Capability) throws(MonitorStatus) -> (base: UInt64, size: UInt64) {
        try ask(.allocate(bytes: bytes), capabilityDestination: destination)
    }

    /// Gives RAM from this core's memory service back: every copy and everything made
    /// from it, on every core, is gone when this returns (`notOwner` for another
    /// core's RAM).
    public static func free(_ ram: Capability) throws(MonitorStatus) {
        _ = try ask(.free, carrying: ram)
    }

    /// This core's memory service: bytes free and bytes it manages.
    public static func memoryStatus() throws(MonitorStatus) -> (free: UInt64, total: UInt64) {
        try ask(.memoryStatus)
    }

    /// Copies `capability` (RAM from a memory service, or a frame made from it by
    /// `retype`) to `domain`, on any core; returns its object's base and size once the
    /// copy waits there for the domain's `receiveCapability`.
    @discardableResult
    public static func send(_ capability: Capability, to domain: SystemDomainID) throws(MonitorStatus) -> (base: UInt64, size: UInt64) {
        try ask(.sendCapability(domain: domain.rawValue), carrying: capability)
    }

    /// The copy of the object `type` at `base` of `size` bytes that was sent to this
    /// domain, in `destination`: what a `Connection` message said it carried.
    static func receiveCopy(of type: CapabilityType, base: UInt64, size: UInt64, into destination: Capability) throws(MonitorStatus) {
        _ = try ask(.receiveCopy(type: type, base: base, size: size), capabilityDestination: destination)
    }

    /// The next capability sent to this domain, in `destination` (its base and size);
    /// `timedOut` if none comes within the monitor's patience.
    public static func receiveCapability(into destination: Capability) throws(MonitorStatus) -> (base: UInt64, size: UInt64) {
        try ask(.receiveCapability(source: 0), capabilityDestination: destination)
    }

    /// Revokes `capability` on every core: every other copy and everything made from it
    /// are gone, mappings included, when this returns; `capability` stays.
    public static func revoke(_ capability: Capability) throws(MonitorStatus) {
        _ = try ask(.revokeCapability, carrying: capability, capabilityDestination: capability)
    }

    /// Retypes `ram` into `destinations.count` equal frames, one in each destination;
    /// `hasDescendants` if it has descendants on any core (exactly one of two domains
    /// that retype the same RAM at once gets the frames).
    public static func retype(_ ram: Capability, into destinations: [Capability]) throws(MonitorStatus) {
        try claimAnswers()
        let request = nextID
        _ = try ask(.retypeCapability(count: destinations.count), carrying: ram)
        for destination in destinations {
            _ = try ask(.receiveCapability(source: request & 0xFF_FFFF), capabilityDestination: destination)
        }
    }

    static func checked(_ name: String) throws(MonitorStatus) -> [UInt8] {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= MonitorRequest.nameBytes, !bytes.contains(0) else { throw .noSuchName }
        return bytes
    }

    /// Sends `request` (with `capability`, if any) and returns the reply's two values
    /// once it comes (a capability in it goes to `capabilityDestination`).
    public static func ask(_ request: MonitorRequest, carrying capability: Capability? = nil,
                           capabilityDestination: Capability? = nil) throws(MonitorStatus) -> (UInt64, UInt64) {
        let id: UInt32
        if capability == nil && capabilityDestination == nil, let (sent, first) = try call(request) {
            id = sent
            if let first, first.id == id {
                guard first.status == .success else { throw first.status }
                return first.values
            }
        } else {
            id = try post(request, carrying: capability)
        }
        while true {
            let words: [UInt64]
            do throws(InvocationStatus) {
                words = try answers.receive(capabilityDestination: capabilityDestination)
            } catch .endpointEmpty {
                _ = try? answers.wait()
                continue
            } catch {
                throw .noMonitor
            }
            guard let answer = MonitorReply(words: words), answer.id == id else { continue }   // a stale answer
            guard answer.status == .success else { throw answer.status }
            return answer.values
        }
    }

    /// Sends `request` and waits for the first answer in one kernel entry (the `call`
    /// invocation): its id, and that answer (nil if it carries a capability, which the
    /// caller's receive then takes; a stale one the caller passes over). Nil if it was not
    /// sent because the monitor's queue is full (the caller posts, which waits for room).
    static func call(_ request: MonitorRequest) throws(MonitorStatus) -> (UInt32, MonitorReply?)? {
        guard service.type == .endpoint else { throw .noMonitor }
        try claimAnswers()
        let id = nextID
        nextID &+= 1
        do throws(InvocationStatus) {
            let answer = try service.call(request.words(id: id), receivingOn: answers).words
            return (id, MonitorReply(words: [answer.0, answer.1, answer.2]))
        } catch .endpointFull {
            return nil
        } catch .capabilityWaiting {
            return (id, nil)
        } catch {
            throw .noMonitor
        }
    }

    /// Sends `request` (with `capability`, if any) and returns its id at once, without
    /// waiting for the answer (the next `ask` passes over it as stale). For a domain
    /// that must not wait, such as one that ends while the monitors work on its request.
    @discardableResult
    public static func post(_ request: MonitorRequest, carrying capability: Capability? = nil) throws(MonitorStatus) -> UInt32 {
        guard service.type == .endpoint else { throw .noMonitor }
        try claimAnswers()
        let id = nextID
        nextID &+= 1
        while true {
            do throws(InvocationStatus) {
                try service.send(request.words(id: id), capability: capability)
                return id
            } catch .endpointFull {
                yield()                                  // the monitor is busy: let it run
            } catch {
                throw .noMonitor
            }
        }
    }

    /// On first use: makes the reply endpoint, becomes its receiver and tells the
    /// monitor (`hello`, which carries it).
    static func claimAnswers() throws(MonitorStatus) {
        guard answers.type == .null else { return }
        do throws(InvocationStatus) {
            try Capability.ram.retype(to: .endpoint, into: answers)
            _ = try answers.receive()
        } catch .endpointEmpty {
        } catch {
            throw .noMonitor
        }
        _ = try ask(.hello, carrying: answers, capabilityDestination: wakeRight)
    }
}
