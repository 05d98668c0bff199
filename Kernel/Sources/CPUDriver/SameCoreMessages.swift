// Same-core messages (LMP): a few words and optionally one capability, sent on an
// endpoint capability to the domain that receives on it, on the same core. The kernel
// copies the words and keeps the capability in a CNode of its own while the message
// waits (so it stays a real capability, subject to revoke like any other), and hands it
// to the receiver's chosen slot on receive. The first domain to receive on an endpoint
// becomes its receiver; each endpoint holds at most `EndpointQueue.capacity` messages,
// and a sender to a full endpoint is told so instead of waiting.
//
// Receiving does not block: an empty endpoint answers `endpointEmpty`. A receiver that
// has nothing else to do sleeps: on one endpoint with the `wait` invocation, or on all
// of its endpoints with the wait system call (what the user library's waitset does
// when none of its threads can run), until a message arrives or an endpoint dies.
//
// The call invocation is send, wait and receive in one kernel entry, the message in
// registers both ways: the fast path of a request and its answer, or of a server's
// answer and its next request. A message for a caller asleep in its call goes straight
// into its registers, and the scheduler switches straight to the domain a caller woke.
import Arch
import ABI
import Basics
import Capabilities
import Memory
import BootInfo

struct WaitingMessage {
    /// The sending domain (for its quota of capabilities in flight).
    var sender: Int
    /// The badge of the capability it was sent with (0 for none): the receiver learns
    /// it, so a server can tell its clients apart (the monitor gives every domain a
    /// copy of its endpoint badged with the domain's id).
    var badge: UInt64 = 0
    var words: MessageWords
    /// Where the message's capability waits in the core's transit CNodes.
    var capabilitySlot: KernelSlots.Slot?
    /// The IRQ, for an interrupt message from the kernel (DeviceInterrupts.swift).
    var interrupt: UInt8? = nil
}

struct EndpointQueue {
    static let capacity = MessageLayout.endpointCapacity
    /// Endpoints one domain may receive on at once: no domain can use up the core's
    /// heap. (Capabilities in flight have a quota from the domain's memory: KernelSlots.)
    static let perDomain = 16
    let endpoint: ObjectID
    /// The domain that receives on it.
    let receiver: Int
    var messages: [WaitingMessage] = []
}

/// CNodes of the kernel's own: the transit CNodes for capabilities inside waiting
/// messages, and the keeper CNodes that hold a copy of every domain's RAM capability
/// (so the kernel can revoke it when the domain ends, whatever the domain did to its
/// own slots). They grow a page at a time from this core's frames as slots are needed,
/// and each domain holds at most its quota of them (`KernelSlots`), so no domain can
/// use them up for the others.
struct KernelCNodes {
    static let slotsPerNode: UInt64 = 64
    var cspaces: [CSpace] = []
    var slots = KernelSlots(slotsPerNode: UInt32(slotsPerNode))

    enum Refusal: Error {
        case quotaReached
        case outOfMemory
    }

    /// A slot for `owner`, which may hold `quota`; makes another CNode if all are full.
    mutating func take(for owner: Int, quota: Int, _ capabilities: inout CoreCapabilities) -> Result<KernelSlots.Slot, Refusal> {
        switch slots.take(for: owner, quota: quota) {
        case .success(let slot): return .success(slot)
        case .failure(.quotaReached): return .failure(.quotaReached)
        case .failure(.needsNode):
            guard grow(&capabilities), case .success(let slot) = slots.take(for: owner, quota: quota) else { return .failure(.outOfMemory) }
            return .success(slot)
        }
    }

    /// One more CNode, in one of this core's frames. The first is made when the core
    /// starts; the others at need, and they stay (a page per 63 slots at the most ever
    /// used at once, which the quotas of the domains then alive bound).
    @discardableResult
    mutating func grow(_ capabilities: inout CoreCapabilities) -> Bool {
        guard let frame = CoreBlock.current!.pointee.frames.allocate() else { return false }
        guard let cspace = try? capabilities.createCSpace(at: frame, slotCount: Self.slotsPerNode) else {
            try? CoreBlock.current!.pointee.frames.free(frame)
            return false
        }
        cspaces.append(cspace)
        slots.addNode()
        return true
    }

    func cspace(of slot: KernelSlots.Slot) -> CSpace { cspaces[slot.node] }

    /// The keeper's slots all belong to the kernel (one per domain, bounded by memory).
    static let keeperOwner = -1

    mutating func give(_ slot: KernelSlots.Slot, from owner: Int) { slots.give(slot, from: owner) }
}

extension Domain {
    /// Capabilities this domain may have in flight (in the transit CNodes) at once:
    /// more for a domain with more memory of its own.
    var inFlightQuota: Int { KernelSlots.quota(forDomainBytes: UInt64(frames.count) * 4096) }
}

extension CoreState {

    func send(from domain: Domain, on target: CapabilityAddress, words: MessageWords, capability: CapabilityAddress?) -> InvocationStatus {
        guard let (sentWith, endpoint) = try? lookup(target, in: domain.cspace, ofType: [.endpoint], requiring: .write) else {
            return InvocationStatus(CapabilityError.slotEmpty)
        }
        guard let index = endpointQueues.firstIndex(where: { $0.endpoint == endpoint }) else {
            return InvocationStatus.noReceiver
        }
        guard endpointQueues[index].messages.count < EndpointQueue.capacity else { return InvocationStatus.endpointFull }
        var message = WaitingMessage(sender: domain.id, badge: sentWith.badge, words: words, capabilitySlot: nil)
        if let capability {
            let slot: KernelSlots.Slot
            switch transit.take(for: domain.id, quota: domain.inFlightQuota, &capabilities) {
            case .success(let taken): slot = taken
            case .failure(.quotaReached): return InvocationStatus.tooManyInFlight
            case .failure(.outOfMemory): return InvocationStatus.outOfMemory
            }
            do {
                try capabilities.copy(capability, in: domain.cspace, to: .root(slot.index), in: transit.cspace(of: slot))
            } catch {
                transit.give(slot, from: domain.id)
                return InvocationStatus(error)
            }
            message.capabilitySlot = slot
        }
        deliver(message, at: index)
        return InvocationStatus.success
    }

    /// Send, wait and receive in one kernel entry: the call invocation (the IPC call of
    /// L4 and seL4, Barrelfish's LMP send with its receiver's donated time). Everything
    /// is checked before the words go: both capabilities (the target an endpoint with
    /// the write right, `receiver` one with the read right), that this domain receives
    /// on `receiver` (claimed by a receive, as for wait), that the target has a receiver
    /// and room. Then the words go as a send's would, and the answer is taken as a
    /// receive's would be, into the caller's registers (`CallRegisters`): at once if a
    /// message is there, else when one arrives (`answerCall`), the caller sleeping
    /// meanwhile. If the send woke its receiver and the caller sleeps, the scheduler
    /// runs that receiver next without a pass through the event loop (`directSwitch`).
    func call(from domain: Domain, on target: CapabilityAddress, words: MessageWords, receivingOn receiver: CapabilityAddress) {
        let context = domain.context
        let sentWith: Capability, sendEndpoint: ObjectID, receiveEndpoint: ObjectID
        do throws(CapabilityError) {
            (sentWith, sendEndpoint) = try lookup(target, in: domain.cspace, ofType: [.endpoint], requiring: .write)
            (_, receiveEndpoint) = try lookup(receiver, in: domain.cspace, ofType: [.endpoint], requiring: .read)
        } catch {
            return context.setResult(status: InvocationStatus(error).rawValue)
        }
        guard let own = endpointQueues.firstIndex(where: { $0.endpoint == receiveEndpoint }), endpointQueues[own].receiver == domain.id else {
            return context.setResult(status: InvocationStatus.notEndpointOwner.rawValue)
        }
        guard let index = endpointQueues.firstIndex(where: { $0.endpoint == sendEndpoint }) else {
            return context.setResult(status: InvocationStatus.noReceiver.rawValue)
        }
        guard endpointQueues[index].messages.count < EndpointQueue.capacity else {
            return context.setResult(status: InvocationStatus.endpointFull.rawValue)
        }
        let woken = deliver(WaitingMessage(sender: domain.id, badge: sentWith.badge, words: words, capabilitySlot: nil), at: index)
        // The receive half (the send took no queue away, so `own` still names it).
        guard endpointQueues[own].messages.isEmpty else { return answerCall(of: domain, from: own) }
        // Woken without an answer, the caller sees that its endpoint died (its
        // capability went with it): `wakes` ends the sleep only then.
        context.setResult(status: InvocationStatus.slotEmpty.rawValue)
        domain.waiting = .call(receiveEndpoint)
        directSwitch = woken
    }

    /// Puts `message` on the endpoint queue at `index` for its receiver, or, if the
    /// receiver sleeps in a call on it and nothing is queued before it, hands it over in
    /// the receiver's registers without queueing it. Returns the receiver if this woke it.
    @discardableResult
    func deliver(_ message: WaitingMessage, at index: Int) -> Domain? {
        if endpointQueues[index].messages.isEmpty, message.capabilitySlot == nil,
           let caller = receiver(of: index), case .call(endpointQueues[index].endpoint)? = caller.waiting {
            hand(message, to: caller)
            return caller
        }
        endpointQueues[index].messages.append(message)
        return messageArrived(at: index)
    }

    /// The receiver of the endpoint queue at `index`, if it is on this core still.
    func receiver(of index: Int) -> Domain? {
        let id = endpointQueues[index].receiver
        return domains.first { $0.id == id }
    }

    /// Tells the receiver of the endpoint queue at `index` that it has a new message:
    /// ends its wait on that endpoint, answers its call there, or marks the edge its
    /// next wait system call sees. Returns the receiver if this woke it.
    @discardableResult
    func messageArrived(at index: Int) -> Domain? {
        guard let sleeper = receiver(of: index) else { return nil }
        let endpoint = endpointQueues[index].endpoint
        switch sleeper.waiting {
        case .call(endpoint)?:
            answerCall(of: sleeper, from: index)
            return sleeper
        case .endpoint(endpoint)?:
            // The wait that ends takes this message: no edge is left for the next wait
            // system call, or a domain that asks and then waits for anything (the shell
            // while a program runs) would wake at once every time, and spin.
            sleeper.waiting = nil
            return sleeper
        default:
            sleeper.messageArrived = true
            return nil
        }
    }

    /// The receive half of `caller`'s call, from the endpoint queue at `index`, which
    /// has a message: the first one, taken off the queue and handed over; or, if it
    /// carries a capability (which only a receive naming a slot takes), left first in the
    /// queue, and the call answers `capabilityWaiting`. Either way the caller wakes.
    func answerCall(of caller: Domain, from index: Int) {
        let message = endpointQueues[index].messages[0]
        guard message.capabilitySlot == nil else {
            caller.waiting = nil
            caller.messageArrived = true
            return caller.context.setResult(status: InvocationStatus.capabilityWaiting.rawValue)
        }
        endpointQueues[index].messages.removeFirst()
        hand(message, to: caller)
    }

    /// Ends `caller`'s call with `message`, which carries no capability: status, words
    /// and badge in its registers (`CallRegisters`), as a receive would have written them.
    func hand(_ message: WaitingMessage, to caller: Domain) {
        let context = caller.context
        context.setResult(status: InvocationStatus.success.rawValue)
        for (register, word) in zip(CallRegisters.words, message.words) { context.setArgument(register, word) }
        context.setArgument(CallRegisters.badge, message.badge)
        caller.receivedBadge = message.badge
        caller.waiting = nil
    }

    /// The domain a call just woke (`directSwitch`), if it can run now; either way
    /// `directSwitch` is cleared.
    func takeDirectSwitch() -> Domain? {
        guard let next = directSwitch else { return nil }
        directSwitch = nil
        guard next.state.isRunnable, next.waiting == nil, domains.contains(where: { $0 === next }) else { return nil }
        return next
    }

    /// Puts the domain to sleep until `target`'s endpoint has a message (at once if it
    /// has one). Only its receiver may wait on it.
    func wait(by domain: Domain, on target: CapabilityAddress) -> InvocationStatus {
        if let status = waitForNotification(by: domain, on: target) { return status }
        guard let (_, endpoint) = try? lookup(target, in: domain.cspace, ofType: [.endpoint], requiring: .read) else {
            return InvocationStatus(CapabilityError.slotEmpty)
        }
        guard let queue = endpointQueues.first(where: { $0.endpoint == endpoint }), queue.receiver == domain.id else {
            return InvocationStatus.notEndpointOwner
        }
        if queue.messages.isEmpty { domain.waiting = .endpoint(endpoint) }
        return InvocationStatus.success
    }

    func receive(by domain: Domain, on target: CapabilityAddress, destination: CapabilityAddress?, buffer: UInt64) -> InvocationStatus {
        guard let (_, endpoint) = try? lookup(target, in: domain.cspace, ofType: [.endpoint], requiring: .read) else {
            return InvocationStatus(CapabilityError.slotEmpty)
        }
        let index: Int
        if let found = endpointQueues.firstIndex(where: { $0.endpoint == endpoint }) {
            guard endpointQueues[found].receiver == domain.id else { return InvocationStatus.notEndpointOwner }
            index = found
        } else {
            // Forget endpoints that no longer exist, then add this one (within the quota).
            forgetDeadEndpoints()
            guard endpointQueues.filter({ $0.receiver == domain.id }).count < EndpointQueue.perDomain else {
                return InvocationStatus.tooManyEndpoints
            }
            endpointQueues.append(EndpointQueue(endpoint: endpoint, receiver: domain.id))
            index = endpointQueues.count - 1
        }
        guard let message = endpointQueues[index].messages.first else { return InvocationStatus.endpointEmpty }
        // Check everything the receiver gave before taking the message off the queue.
        guard copyToUser(domain, address: buffer, words: message.words, dryRun: true) else { return InvocationStatus.badBuffer }
        if let slot = message.capabilitySlot {
            // A capability revoked while it waited is gone: the words still arrive.
            let waiting = (try? identify(.root(slot.index), in: transit.cspace(of: slot)))?.type ?? .null
            if waiting != .null {
                guard let destination else { return InvocationStatus(CapabilityError.slotEmpty) }
                do {
                    try capabilities.copy(.root(slot.index), in: transit.cspace(of: slot), to: destination, in: domain.cspace)
                } catch {
                    return InvocationStatus(error)
                }
            }
            releaseTransit(slot, of: message.sender)
        }
        _ = copyToUser(domain, address: buffer, words: message.words, dryRun: false)
        domain.receivedBadge = message.badge
        endpointQueues[index].messages.removeFirst()
        return InvocationStatus.success
    }

    /// Empties a transit slot `sender`'s message held, and gives it back to its quota.
    func releaseTransit(_ slot: KernelSlots.Slot, of sender: Int) {
        _ = try? capabilities.delete(.root(slot.index), in: transit.cspace(of: slot))
        transit.give(slot, from: sender)
    }

    /// Runs two domains of `program` that talk over endpoints (the `lmp` program): the
    /// first makes an endpoint in slot 2 and receives on it; the second gets a copy in
    /// its slot 2 — or, `bothWays`, makes its own too, and each gets the other's in slot
    /// 4. Runs both to the end; their final states, nil if they could not start.
    func runPair(_ program: BootImage.Program, _ firstRole: StaticString, _ secondRole: StaticString,
                 bothWays: Bool) -> (first: Domain.State?, second: Domain.State?) {
        func receives(_ domain: Domain) -> Bool {
            endpointQueues.contains { $0.receiver == domain.id } || !domains.contains { $0 === domain }
        }
        func runUntil(_ done: () -> Bool) { runDomains(milliseconds: 30_000, until: done) }
        guard let first = try? spawn(program, arguments: firstRole.withUTF8Buffer { Array($0) }) else { return (nil, nil) }
        runUntil { receives(first) }
        guard let second = try? spawn(program, arguments: secondRole.withUTF8Buffer { Array($0) }) else { return (nil, nil) }
        if bothWays { runUntil { receives(second) } }
        let copied = bothWays
            ? (try? capabilities.copy(.root(2), in: first.cspace, to: .root(4), in: second.cspace)) != nil
                && (try? capabilities.copy(.root(2), in: second.cspace, to: .root(4), in: first.cspace)) != nil
            : (try? capabilities.copy(.root(2), in: first.cspace, to: .root(2), in: second.cspace)) != nil
        guard copied else { return (nil, nil) }
        runUntil { !domains.contains { $0 === first } && !domains.contains { $0 === second } }
        return (first.state, second.state)
    }

    /// Drops the queues of endpoints that died, with their waiting capabilities. Their
    /// receivers learn of it as of a message: the next wait system call returns, and
    /// the receive that follows says the endpoint is gone.
    func forgetDeadEndpoints() {
        endpointQueues.removeAll { queue in
            guard !isAlive(queue.endpoint) else { return false }
            for message in queue.messages { if let slot = message.capabilitySlot { releaseTransit(slot, of: message.sender) } }
            for receiver in domains where receiver.id == queue.receiver { receiver.messageArrived = true }
            return true
        }
    }

    /// Drops the endpoints a finished domain received on, with their waiting capabilities.
    func forgetEndpoints(of domain: Domain) {
        for queue in endpointQueues where queue.receiver == domain.id {
            for message in queue.messages { if let slot = message.capabilitySlot { releaseTransit(slot, of: message.sender) } }
        }
        endpointQueues.removeAll { $0.receiver == domain.id }
    }

    /// Writes `words` to the domain's memory at `address` (only if every byte is mapped
    /// writable for user access); with `dryRun`, only checks. One page walk per page the
    /// words touch, not per word.
    func copyToUser<Words: Collection<UInt64>>(_ domain: Domain, address: UInt64, words: Words, dryRun: Bool) -> Bool {
        guard address & 7 == 0 else { return false }
        let frames = CoreMemory()
        var page: (virtual: UInt64, physical: PhysicalAddress)? = nil
        for (i, word) in words.enumerated() {
            let (at, overflow) = address.addingReportingOverflow(UInt64(i * 8))
            guard !overflow else { return false }
            let pageStart = at & ~0xFFF
            if page?.virtual != pageStart {
                guard let physical = domain.addressSpace.translate(pageStart, writable: true, frames: frames) else { return false }
                page = (pageStart, physical)
            }
            if !dryRun, let page { frames.pointer(to: page.physical + (at & 0xFFF)).storeBytes(of: word, as: UInt64.self) }
        }
        return true
    }
}
