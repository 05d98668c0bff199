// The monitor's side of capabilities that cross cores: it drives the protocols' state
// machine (`CapabilityMonitor`, Core/Sources/CapabilityProtocols) with domains'
// requests, capability messages from the other monitors and domains' ends, and does
// what comes out: messages on the rings, answers to domains, copies handed over. It
// also runs this core's memory service: a pool of RAM its kernel grants at start, cut
// into pieces of `MemoryService.pieceBytes`, each held by the service's own record (so
// a piece returns to the pool only when the service revokes it, and with it every copy
// and descendant on every core).
//
// A capability that arrives for a domain waits in its mailbox until the domain asks
// (`receiveCapability`); the frames of a retype wait there under the retype's request.
// docs/capabilities.md has the protocols and what each request does.
import Basics
import CapabilityProtocols
import KnowledgeBase
import MonitorProtocols
import SwordfishUser
import UserRuntimeC

/// What a protocol request was for, to act on its answer.
enum CapabilityWork {
    case send(client: UInt64, id: UInt32, object: CapabilityObject)
    case revoke(client: UInt64, id: UInt32, kept: RecordID)
    case retype(client: UInt64, id: UInt32, object: CapabilityObject)
    /// A piece going back to the pool, and who hears when it is there.
    case free(piece: Int, answer: FreeAnswer)
    /// A piece lent to a domain on core `peer`, which asked with `token`.
    case lend(piece: Int, peer: Int, token: UInt64)
}

/// Who hears that a piece is back in the pool.
enum FreeAnswer {
    /// The domain that freed it here.
    case local(client: UInt64, id: UInt32)
    /// The monitor of the core it was lent to.
    case remote(peer: Int, token: UInt64)
    /// Nobody: its holder ended.
    case none
}

/// One piece of the memory service's pool: the service's record and who has it (a
/// domain here, or one on another core it was lent to).
struct Piece {
    var record: RecordID
    var object: CapabilityObject
    var holder: UInt64?
    var lentTo: DomainID?
    var freeing = false

    var isFree: Bool { holder == nil && lentTo == nil && !freeing }
}

/// The service's pieces, made at start (`startMemoryService`).
var memoryPieces: [Piece] = []

/// Makes the anchors' CNode and the memory service's pool: as much of
/// `MemoryService.poolBytes` as the kernel grants (halving until it does).
func startMemoryService() {
    typealias Database = KernelCapabilityDatabase
    // The anchors' CNode, from memory of its own (the monitor's RAM grant is small).
    let anchors = Capability(slot: 14)
    do throws(InvocationStatus) {
        let bytes = UInt64(Database.slotCount) * CapabilityType.cnodeSlotBytes
        let granted = capabilities.database.invoke(.grantMemory, bytes, anchors.address.encoded)
        guard granted == .success else { throw granted }
        try anchors.retype(to: .cnode, size: UInt64(Database.slotCount), into: Capability(slot: Database.root))
    } catch {
        return print("monitor on core \(capabilities.core.rawValue): no room for the capability anchors: \(error)")
    }
    let pool = Capability(slot: 15)
    var bytes = MemoryService.poolBytes
    while bytes >= MemoryService.pieceBytes {
        let status = capabilities.database.invoke(.grantMemory, bytes, pool.address.encoded)
        if status == .success { break }
        bytes /= 2
    }
    guard bytes >= MemoryService.pieceBytes, let whole = capabilities.database.object(of: pool) else {
        return print("monitor on core \(capabilities.core.rawValue): no memory for the memory service")
    }
    // The pieces are retyped out of the pool (RAM from RAM) straight into records.
    let count = Int(bytes / MemoryService.pieceBytes)
    guard let records = capabilities.database.reserve(count) else {
        return print("monitor on core \(capabilities.core.rawValue): no anchor slots for the memory service")
    }
    do throws(InvocationStatus) {
        try pool.retype(to: .physicalRAM, size: MemoryService.pieceBytes, count: count, into: KernelCapabilityDatabase.anchor(records[0]))
    } catch {
        return print("monitor on core \(capabilities.core.rawValue): cutting the memory service's pool: \(error)")
    }
    for (index, record) in records.enumerated() {
        let object = CapabilityObject(.ram, base: whole.base + UInt64(index) * MemoryService.pieceBytes, size: MemoryService.pieceBytes)
        capabilities.database.made(object, in: record, for: KernelCapabilityDatabase.service)
        capabilities.adopt(record)
        memoryPieces.append(Piece(record: record, object: object))
    }
}

var capabilityWork: [(request: CapabilityRequestID, work: CapabilityWork)] = []
var nextCapabilityRequest: UInt64 = 1
/// Capabilities that came for a domain, waiting for it to ask: the client, the record,
/// and 0 or the id of the retype that made it.
var mailboxes: [(client: UInt64, record: RecordID, source: UInt32)] = []
/// Domains waiting in `receiveCapability`: the client, its request id, the source, the
/// deadline.
var capabilityWaiters: [(client: UInt64, id: UInt32, source: UInt32, deadline: UInt64)] = []

/// Runs a protocol request for `work`.
func start(_ work: CapabilityWork, _ body: (CapabilityRequestID) -> [CapabilityEffect]) {
    let request = CapabilityRequestID(nextCapabilityRequest)
    nextCapabilityRequest += 1
    capabilityWork.append((request, work))
    perform(body(request))
}

/// Answers a domain's request about capabilities (the one it carried is in `arriving`).
func handleCapabilityRequest(_ request: MonitorRequest, id: UInt32, from client: UInt64) {
    let holder = UInt32(truncatingIfNeeded: client)
    func answer(_ status: MonitorStatus, _ values: (UInt64, UInt64) = (0, 0), with capability: Capability? = nil) {
        reply(MonitorReply(status: status, id: id, values: values), to: client, with: capability)
    }
    let carried = capabilities.database.object(of: arriving)
    /// A record of the carried capability's object here (the asker's own first).
    func recordOfCarried() -> RecordID? {
        guard let carried else { return nil }
        return capabilities.database.record(of: carried, heldBy: holder) ?? capabilities.database.copies(of: carried).first?.id
    }
    switch request {
    case .allocate(let bytes):
        guard bytes > 0, bytes <= MemoryService.pieceBytes else { return answer(.outOfMemory) }
        guard let i = memoryPieces.firstIndex(where: { $0.isFree }) else { return borrow(for: client, id: id) }
        guard let record = ownRecord(of: memoryPieces[i].object, for: holder) else { return answer(.outOfResources) }
        memoryPieces[i].holder = client
        answer(.success, (memoryPieces[i].object.base, memoryPieces[i].object.size), with: KernelCapabilityDatabase.anchor(record))
    case .free:
        if let loan = borrowed.firstIndex(where: { $0.object == carried && $0.client == client }) {
            return giveBack(borrowed.remove(at: loan), answering: (client, id))
        }
        guard let i = memoryPieces.firstIndex(where: { $0.object == carried }) else {
            return answer(carried?.kind == .ram ? .notOwner : .noSuchCapability)
        }
        guard memoryPieces[i].holder == client, !memoryPieces[i].freeing else { return answer(.notOwner) }
        returnPiece(i, answer: .local(client: client, id: id))
    case .memoryStatus:
        let free = UInt64(memoryPieces.filter { $0.isFree }.count) * MemoryService.pieceBytes
        answer(.success, (free, UInt64(memoryPieces.count) * MemoryService.pieceBytes))
    case .sendCapability(let word):
        guard let target = DomainID(word: word, coreCount: capabilities.coreCount), state.record(for: target) != nil else {
            return answer(.noSuchDomain)
        }
        // A device object (a device frame, ports, interrupts) the domain holds gets its
        // first record here: it is no domain's memory, so nothing reclaims it when the
        // domain ends, and the anchor keeps it for the cores it goes to.
        guard let carried, let record = recordOfCarried() ?? (carried.kind.isMemory ? nil : ownRecord(of: carried, for: holder)) else {
            return answer(.noSuchCapability)
        }
        guard capabilities.database.markShared(record) else { return answer(.hasDescendants) }
        if target.core == capabilities.core {
            guard capabilities.database.install(carried, for: target.local.rawValue) != nil else { return answer(.outOfResources) }
            deliverFresh()
            return answer(.success, (carried.base, carried.size))
        }
        guard peers.contains(target.core.rawValue), !broken[target.core.rawValue] else { return answer(.noSuchCore) }
        start(.send(client: client, id: id, object: carried)) { capabilities.copy(record, to: target.core, domain: target.local.rawValue, request: $0) }
    case .receiveCapability(let source):
        capabilityWaiters.append((client, id, source, user_timestamp() &+ patience))
        deliverMail()
    case .receiveCopy(let type, let base, let size):
        guard let kind = KernelCapabilityDatabase.kind(of: type) else { return answer(.noSuchCapability) }
        let object = CapabilityObject(kind, base: base, size: size)
        // What came for it (a copy sent twice is one record), or what it already held.
        let mail = mailboxes.firstIndex { $0.client == client && capabilities.database.record($0.record)?.object == object }
        guard let record = mail.map({ mailboxes.remove(at: $0).record }) ?? capabilities.database.record(of: object, heldBy: holder) else {
            return answer(.noSuchCapability)
        }
        answer(.success, (base, size), with: KernelCapabilityDatabase.anchor(record))
    case .revokeCapability:
        guard let carried, let record = recordOfCarried() else { return answer(.noSuchCapability) }
        // RAM goes back to its memory service only through that service: a revoke
        // elsewhere would take the service's own copy too.
        let piece = memoryPieces.first { $0.object == carried }
        if carried.kind == .ram && piece == nil { return answer(.notOwner) }
        // The service's own record of a piece is the one kept (the pool must keep its
        // copy); the asker gets a copy of it back.
        let kept = piece?.record ?? record
        start(.revoke(client: client, id: id, kept: kept)) { capabilities.revoke(kept, request: $0) }
    case .retypeCapability(let count):
        guard let carried, carried.kind == .ram else { return answer(carried == nil ? .noSuchCapability : .notRetypeable) }
        // The frames are the asker's: retype through a record of its own.
        guard let own = ownRecord(of: carried, for: holder) else { return answer(.noSuchCapability) }
        start(.retype(client: client, id: id, object: carried)) { capabilities.retype(own, into: count, request: $0) }
    default:
        answer(.unknownRequest)
    }
}

/// `holder`'s record of `object`, made if it has none. The monitor hands it over itself,
/// so it does not go to the mailbox as a copy that came would.
func ownRecord(of object: CapabilityObject, for holder: UInt32) -> RecordID? {
    if let held = capabilities.database.record(of: object, heldBy: holder) { return held }
    let made = capabilities.database.install(object, for: holder)
    capabilities.database.fresh.removeAll { $0 == made }
    return made
}

/// Revokes piece `i` from the service's record and returns it to the pool.
func returnPiece(_ i: Int, answer: FreeAnswer) {
    memoryPieces[i].freeing = true
    start(.free(piece: i, answer: answer)) { capabilities.revoke(memoryPieces[i].record, request: $0) }
}

// MARK: Lending between cores' services

/// Allocations waiting for another core's service: the token, the client, its request
/// id, the cores still to ask (nearest first) and when to give up on the one asked.
var lends: [(token: UInt64, client: UInt64, id: UInt32, lenders: [Int], deadline: UInt64)] = []
/// Pieces this core's domains borrowed: the object, the lending core, the client.
var borrowed: [(object: CapabilityObject, lender: Int, client: UInt64)] = []
/// Borrowed pieces on their way back: the token, who asked (nil: its holder ended).
var returning: [(token: UInt64, client: UInt64?, id: UInt32, deadline: UInt64)] = []

/// The other cores whose services may lend, nearest first: the same NUMA node before
/// others, then by the measured round trip (the knowledge base's replica).
func lenders() -> [Int] {
    let here = capabilities.core
    let base = state.knowledge?.base
    let node = base?.numaNode(of: here)
    func distance(_ peer: Int) -> (Int, UInt64) {
        let sameNode = node != nil && base?.numaNode(of: CoreID(peer)) == node
        return (sameNode ? 0 : 1, base?.latency(from: here, to: CoreID(peer)) ?? .max)
    }
    return peers.filter { !broken[$0] }.sorted { distance($0) < distance($1) }
}

/// No piece is free here: ask the other cores' services in turn.
func borrow(for client: UInt64, id: UInt32) {
    askToLend((nextToken, client, id, lenders(), 0))
    nextToken += 1
}

/// Asks the next lender, or answers `outOfMemory` when none is left.
func askToLend(_ lend: (token: UInt64, client: UInt64, id: UInt32, lenders: [Int], deadline: UInt64)) {
    var lend = lend
    guard let lender = lend.lenders.first else {
        return reply(MonitorReply(status: .outOfMemory, id: lend.id), to: lend.client)
    }
    lend.lenders.removeFirst()
    lend.deadline = user_timestamp() &+ patience
    lends.append(lend)
    let client = DomainID(core: capabilities.core, local: LocalDomainNumber(UInt32(truncatingIfNeeded: lend.client)))
    send(MonitorMessage.lendRequest(token: lend.token, client: client).encode(), to: lender)
}

/// Sends a borrowed piece back to its lender, which revokes it everywhere.
func giveBack(_ loan: (object: CapabilityObject, lender: Int, client: UInt64), answering asker: (client: UInt64, id: UInt32)?) {
    returning.append((nextToken, asker?.client, asker?.id ?? 0, user_timestamp() &+ patience))
    send(MonitorMessage.lendReturn(token: nextToken, base: loan.object.base).encode(), to: loan.lender)
    nextToken += 1
}

/// The lending messages from `peer`'s monitor.
func handleLending(_ message: MonitorMessage, from peer: Int) {
    switch message {
    case .lendRequest(let token, let client):
        guard client.core.rawValue == peer, let i = memoryPieces.firstIndex(where: { $0.isFree }),
              capabilities.database.markShared(memoryPieces[i].record) else {
            return send(MonitorMessage.lendAnswer(token: token, base: 0).encode(), to: peer)
        }
        memoryPieces[i].lentTo = client
        start(.lend(piece: i, peer: peer, token: token)) {
            capabilities.copy(memoryPieces[i].record, to: client.core, domain: client.local.rawValue, request: $0)
        }
    case .lendAnswer(let token, let base):
        let object = CapabilityObject(.ram, base: base, size: MemoryService.pieceBytes)
        guard let index = lends.firstIndex(where: { $0.token == token }) else {
            // Lent after this side gave up: give it straight back.
            if base != 0 { giveBack((object, peer, 0), answering: nil) }
            return
        }
        let lend = lends.remove(at: index)
        guard base != 0 else { return askToLend(lend) }
        let holder = UInt32(truncatingIfNeeded: lend.client)
        guard let record = capabilities.database.record(of: object, heldBy: holder) else {
            giveBack((object, peer, lend.client), answering: nil)
            return reply(MonitorReply(status: .outOfMemory, id: lend.id), to: lend.client)
        }
        // It came as a copy for the client; it is the allocation's answer, not mail.
        mailboxes.removeAll { $0.client == lend.client && $0.record == record }
        borrowed.append((object, peer, lend.client))
        reply(MonitorReply(status: .success, id: lend.id, values: (object.base, object.size)), to: lend.client,
              with: KernelCapabilityDatabase.anchor(record))
    case .lendReturn(let token, let base):
        guard let i = memoryPieces.firstIndex(where: { $0.object.base == base && $0.lentTo?.core.rawValue == peer && !$0.freeing }) else {
            return send(MonitorMessage.lendReturned(token: token, accepted: false).encode(), to: peer)
        }
        returnPiece(i, answer: .remote(peer: peer, token: token))
    case .lendReturned(let token, let accepted):
        guard let index = returning.firstIndex(where: { $0.token == token }) else { return dropped += 1 }
        let done = returning.remove(at: index)
        if let client = done.client { reply(MonitorReply(status: accepted ? .success : .notOwner, id: done.id), to: client) }
    default:
        dropped += 1
    }
}

func perform(_ effects: [CapabilityEffect]) {
    for effect in effects {
        switch effect {
        case .send(let message, let to):
            send(message.encode(), to: to.rawValue)
        case .answer(let request, let status):
            guard let index = capabilityWork.firstIndex(where: { $0.request == request }) else { continue }
            finish(capabilityWork.remove(at: index).work, status)
        }
    }
    deliverFresh()
}

func finish(_ work: CapabilityWork, _ status: CapabilityStatus) {
    let answer = monitorStatus(status)
    switch work {
    case .send(let client, let id, let object):
        reply(MonitorReply(status: answer, id: id, values: (object.base, object.size)), to: client)
    case .revoke(let client, let id, let kept):
        // The sweep took the asker's copy with the others: it gets the one left.
        let left = capabilities.database.record(kept) != nil ? KernelCapabilityDatabase.anchor(kept) : nil
        reply(MonitorReply(status: answer, id: id), to: client, with: status == .done ? left : nil)
    case .retype(let client, let id, let object):
        // Its frames are the records it made for the asker under the RAM.
        let holder = UInt32(truncatingIfNeeded: client)
        let frames = capabilities.database.fresh.filter { fresh in
            capabilities.database.record(fresh).map { $0.holder == holder && object.isAncestor(of: $0.object) } ?? false
        }
        capabilities.database.fresh.removeAll { frames.contains($0) }
        for frame in frames { mailboxes.append((client, frame, id)) }
        reply(MonitorReply(status: answer, id: id, values: (UInt64(frames.count), 0)), to: client)
        deliverMail()
    case .free(let piece, let to):
        memoryPieces[piece].freeing = false
        if status == .done {
            memoryPieces[piece].holder = nil
            memoryPieces[piece].lentTo = nil
            // The service's copy alone again: a domain given it next may retype it.
            _ = capabilities.database.unmarkShared(memoryPieces[piece].record)
        }
        switch to {
        case .local(let client, let id): reply(MonitorReply(status: answer, id: id), to: client)
        case .remote(let peer, let token): send(MonitorMessage.lendReturned(token: token, accepted: status == .done).encode(), to: peer)
        case .none: break
        }
    case .lend(let piece, let peer, let token):
        if status != .done {
            // Not installed there (no room): the service's copy alone again.
            memoryPieces[piece].lentTo = nil
            _ = capabilities.database.unmarkShared(memoryPieces[piece].record)
        }
        send(MonitorMessage.lendAnswer(token: token, base: status == .done ? memoryPieces[piece].object.base : 0).encode(), to: peer)
    }
}

func monitorStatus(_ status: CapabilityStatus) -> MonitorStatus {
    switch status {
    case .done: return .success
    case .noSuchCapability: return .noSuchCapability
    case .hasDescendants: return .hasDescendants
    case .revoked: return .revoked
    case .busy: return .busy
    case .noRoom: return .outOfResources
    case .notRetypeable: return .notRetypeable
    case .badTarget: return .noSuchCore
    case .notOwner: return .notOwner
    }
}

/// Copies that came for this core's domains go to their mailboxes.
func deliverFresh() {
    for record in capabilities.database.fresh {
        guard let holder = capabilities.database.record(record)?.holder, holder != KernelCapabilityDatabase.service else { continue }
        mailboxes.append((UInt64(holder), record, 0))
    }
    capabilities.database.fresh.removeAll()
    deliverMail()
}

/// Hands waiting domains what their mailboxes hold.
func deliverMail() {
    // What a revoke took meanwhile is no longer there to hand.
    mailboxes.removeAll { capabilities.database.record($0.record) == nil }
    capabilityWaiters.removeAll { waiter in
        guard let index = mailboxes.firstIndex(where: { $0.client == waiter.client && $0.source == waiter.source }) else { return false }
        let mail = mailboxes.remove(at: index)
        guard let record = capabilities.database.record(mail.record) else { return false }
        reply(MonitorReply(status: .success, id: waiter.id, values: (record.object.base, record.object.size)),
              to: waiter.client, with: KernelCapabilityDatabase.anchor(mail.record))
        return true
    }
}

/// A domain of this core ended: its records go by protocol, its memoryPieces back to the pool.
func capabilitiesOfEnded(_ client: UInt64) {
    perform(capabilities.domainEnded(UInt32(truncatingIfNeeded: client)))
    mailboxes.removeAll { $0.client == client }
    capabilityWaiters.removeAll { $0.client == client }
    for i in memoryPieces.indices where memoryPieces[i].holder == client && !memoryPieces[i].freeing { returnPiece(i, answer: .none) }
    lends.removeAll { $0.client == client }
    for loan in borrowed where loan.client == client { giveBack(loan, answering: nil) }
    borrowed.removeAll { $0.client == client }
}


/// `timedOut` for every domain that waited for a capability or a return too long; an
/// allocation whose lender stayed silent asks the next.
func expireCapabilityWaiters(isPast: (UInt64) -> Bool) {
    capabilityWaiters.removeAll { waiter in
        guard isPast(waiter.deadline) else { return false }
        reply(MonitorReply(status: .timedOut, id: waiter.id), to: waiter.client)
        return true
    }
    for late in returning where isPast(late.deadline) {
        if let client = late.client { reply(MonitorReply(status: .timedOut, id: late.id), to: client) }
    }
    returning.removeAll { isPast($0.deadline) }
    let late = lends.filter { isPast($0.deadline) }
    lends.removeAll { isPast($0.deadline) }
    for lend in late { askToLend(lend) }
}

/// Deadlines the monitor must wake for even with nothing else to do.
var capabilityDeadlines: [UInt64] {
    capabilityWaiters.map { $0.deadline } + lends.map { $0.deadline } + returning.map { $0.deadline }
}

/// `names counters`' second line: what the capability protocols counted, and what this
/// core's capabilities and memory service hold.
func printCapabilityCounters() {
    let c = capabilities.counters
    let free = memoryPieces.filter { $0.isFree }.count
    print("capabilities on core \(capabilities.core.rawValue): records \(capabilities.database.all.count) objects \(capabilities.knownObjects.count)"
        + " in flight \(capabilities.requestsInFlight) sent \(c.sent) dropped \(c.dropped) (undecodable \(c.undecodable)"
        + " bad sender \(c.badSender) refused \(c.refused)) not owner \(c.notOwner) stale \(c.stale);"
        + " memory service \(free) of \(memoryPieces.count) pieces free, \(memoryPieces.filter { $0.lentTo != nil }.count) lent,"
        + " \(borrowed.count) borrowed")
}
