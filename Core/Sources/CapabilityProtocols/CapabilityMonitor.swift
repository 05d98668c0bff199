// The capability protocols of one core's monitor as a pure state machine: copy, delete
// (and with it the move of ownership), retype and revoke of capabilities whose copies
// and descendants live on several cores. It is called with a local domain's request, a
// message from another core's monitor, or a domain's end; it changes the core's
// capability database through `CapabilityDatabase` and returns the messages to send and
// the answers to give. Nothing here does I/O, so the guest's monitor and the host's
// simulator (Core/Sources/CapabilitySimulation) drive the same code.
//
// The rules, after Barrelfish's distributed capabilities (docs/capabilities.md has the
// state machines and the locking order):
//
// - Every object has one owner core, which holds a copy. The owner knows a superset of
//   the other cores holding copies (`copies`) and of the cores that retyped it
//   (`descendants`); other holders know the owner and its epoch.
// - Every operation on an object is decided at its owner under the object's lock, held
//   until every message of the operation has been answered. So no two operations on
//   one object overlap anywhere, and no operation's message is still travelling when
//   the next one starts; requests arriving meanwhile wait in the object's queue. A
//   holder asks the owner; a stale holder is told `notOwner` and asks again once it
//   hears of the new owner.
// - Revoke marks, then commits, over a tree (`RevokeRoute`): a core answers the mark only
//   when nothing it owns under the revoked object has an operation in flight, and
//   deletes at commit. New operations on marked objects are refused with `revoked`.
// - Nothing here waits on a clock: messages between monitors are never lost, so every
//   operation completes once the cores involved run. A slow core delays; it cannot
//   leave anything half done.
//
// Everything is kept in arrays sorted by key (no Dictionary or Set), so iteration order
// is part of the state and the code builds in Embedded Swift.
import Basics
import Channel

public struct CapabilityMonitor<Database: CapabilityDatabase> {
    public struct Configuration: Equatable, Sendable {
        /// Requests waiting on other cores at once; more are refused with `busy`.
        public var maximumPending: Int
        /// Bytes of physical memory: every RAM object and frame lies below.
        public var memoryLimit: UInt64
        /// The RAM this monitor knows of: a device frame a message names must lie clear
        /// of it (empty: the monitor cannot tell, and its kernel checks).
        public var ram: [Range<UInt64>]
        public var route: RevokeRoute
        /// The cores whose monitors take part (nil: every core): the cores a revoke of a
        /// retyped object must reach, and the only ones a copy may go to. A core that
        /// never started runs no monitor and would never answer.
        public var members: CoreMask?

        public init(maximumPending: Int = 64, memoryLimit: UInt64 = 1 << 40, route: RevokeRoute = .direct,
                    members: CoreMask? = nil, ram: [Range<UInt64>] = []) {
            self.maximumPending = maximumPending
            self.memoryLimit = memoryLimit
            self.ram = ram
            self.route = route
            self.members = members
        }
    }

    public let core: CoreID
    public let coreCount: Int
    public let configuration: Configuration
    public var database: Database
    public internal(set) var counters = CapabilityCounters()

    /// Every object this core holds a record of or owns, sorted by object.
    var objects: [KnownObject] = []
    /// Local requests waiting on another core's answer.
    var outgoing: [OutgoingRequest] = []
    /// Revokes this core takes part in (as root or below it).
    var revokes: [RevokeRun] = []
    var nextTicket = CapabilityTicket(1)
    var effects: [CapabilityEffect] = []
    /// A protocol broken on purpose, only by the tests that check the simulator's checker.
    public var breakage: CapabilityBreakage? = nil

    public init(core: CoreID, coreCount: Int, database: Database, configuration: Configuration = Configuration()) {
        self.core = core
        self.coreCount = min(max(coreCount, 1), CoreMask.maximumCores)
        self.database = database
        self.configuration = configuration
    }

    /// The cores that take part.
    public var members: CoreMask { configuration.members ?? CoreMask.all(coreCount) }

    /// True when no request waits, no object is locked or has a queue, and no revoke runs.
    public var isIdle: Bool {
        outgoing.isEmpty && revokes.isEmpty && !objects.contains { $0.lock != nil || !$0.queue.isEmpty }
    }

    /// Local requests waiting on another core.
    public var requestsInFlight: Int { outgoing.count }
    /// Objects this core owns that an operation has locked, or that have requests queued.
    public var busyObjects: [CapabilityObject] { objects.filter { $0.lock != nil || !$0.queue.isEmpty }.map { $0.object } }
    /// Revokes this core takes part in.
    public var revokesInProgress: Int { revokes.count }

    /// What this core believes about `object`: its owner, the epoch, and, if it owns it,
    /// the other holders and the cores that retyped it.
    public func ownership(of object: CapabilityObject) -> ObjectOwnership? {
        guard let i = find(object) else { return nil }
        let o = objects[i]
        return ObjectOwnership(owner: o.owner, epoch: o.epoch, copies: o.copies, descendants: o.descendants)
    }

    /// Every object this core knows, sorted.
    public var knownObjects: [CapabilityObject] { objects.map { $0.object } }

    // MARK: Inputs: local requests

    /// A capability this core's kernel made (boot memory, say): this core owns its
    /// object. (A record the monitor has never heard of is treated so on first use.)
    public mutating func adopt(_ record: RecordID) {
        guard let r = database.record(record), find(r.object) == nil else { return }
        _ = entry(r.object, owner: core, epoch: .first)
    }

    /// Copies the capability in `record` to `domain` on core `target`.
    public mutating func copy(_ record: RecordID, to target: CoreID, domain: UInt32, request: CapabilityRequestID) -> [CapabilityEffect] {
        if target == core || target.rawValue < 0 || target.rawValue >= coreCount || !members.contains(target) {
            answer(.local(request, record: record), .badTarget)
        } else {
            startLocal(.copy(to: target, domain: domain), record: record, request: request)
        }
        return finish()
    }

    /// Deletes the capability in `record`. The last copy on the owner moves ownership to
    /// another holder; the last copy anywhere frees the object.
    public mutating func delete(_ record: RecordID, request: CapabilityRequestID) -> [CapabilityEffect] {
        startLocal(.delete(record), record: record, request: request)
        return finish()
    }

    /// Deletes every other copy of the object in `record` and every descendant, on every
    /// core, with their mappings; answers when all are gone.
    public mutating func revoke(_ record: RecordID, request: CapabilityRequestID) -> [CapabilityEffect] {
        startLocal(.revoke(keepCore: core, keep: record), record: record, request: request)
        return finish()
    }

    /// Retypes the RAM in `record` into `count` frames for the same domain; refused while
    /// the RAM has descendants anywhere.
    public mutating func retype(_ record: RecordID, into count: Int, request: CapabilityRequestID) -> [CapabilityEffect] {
        if let r = database.record(record), r.object.retyped(into: count) == nil {
            answer(.local(request, record: record), .notRetypeable)
        } else {
            startLocal(.retype(count: count, record: record), record: record, request: request)
        }
        return finish()
    }

    /// Maps the frame in `record` for its domain (a local operation; refused for a frame
    /// being revoked).
    public mutating func map(_ record: RecordID, request: CapabilityRequestID) -> [CapabilityEffect] {
        if let r = database.record(record) {
            if isDoomed(r.object) {
                answer(.local(request, record: record), .revoked)
            } else {
                answer(.local(request, record: record), database.map(record) ? .done : .notRetypeable)
            }
        } else {
            answer(.local(request, record: record), .noSuchCapability)
        }
        return finish()
    }

    /// Domain `domain` of this core has ended: its capabilities are deleted (with moves
    /// where they were an owner's last copies). Nothing is answered for these deletes.
    public mutating func domainEnded(_ domain: UInt32) -> [CapabilityEffect] {
        for record in database.records(heldBy: domain) {
            startLocal(.delete(record.id), record: record.id, request: nil)
        }
        return finish()
    }

    // MARK: Inputs: messages

    /// A slot from core `sender`'s ring. Whatever it holds is counted and dropped unless
    /// it is a message that fits the protocol's state.
    public mutating func receive(_ slot: ChannelMessage, from sender: CoreID) -> [CapabilityEffect] {
        guard sender.rawValue >= 0, sender.rawValue < coreCount, sender != core else {
            counters.badSender += 1
            return []
        }
        guard let message = CapabilityMessage(decoding: slot, coreCount: coreCount, memoryLimit: configuration.memoryLimit,
                                                 ram: configuration.ram) else {
            counters.undecodable += 1
            return []
        }
        switch message {
        case .copyRequest(let t, let object, let to, let domain):
            if members.contains(to) {
                ownerReceives(.copy(to: to, domain: domain), object, from: sender, ticket: t)
            } else {
                send(.requestAnswer(t, .badTarget, epoch: nil), to: sender)
            }
        case .retypeRequest(let t, let object, let count):
            if object.retyped(into: count) == nil {
                send(.requestAnswer(t, .notRetypeable, epoch: nil), to: sender)
            } else {
                ownerReceives(.retype(count: count, record: nil), object, from: sender, ticket: t)
            }
        case .revokeRequest(let t, let object, let keep):
            ownerReceives(.revoke(keepCore: sender, keep: keep), object, from: sender, ticket: t)
        case .copyDeliver(let t, let object, let epoch, let domain):
            receiveCopy(t, object, epoch: epoch, domain: domain, from: sender)
        case .copyInstalled(let t, let status):
            copyInstalled(t, status, from: sender)
        case .copyDeleted(let object):
            copyDeleted(object, from: sender)
        case .retypeDone(let t, let status):
            retypeDone(t, status, from: sender)
        case .moveOwnership(let t, let object, let copies, let descendants, let epoch):
            receiveOwnership(t, object, copies: copies, descendants: descendants, epoch: epoch, from: sender)
        case .moveAnswer(let t, let accepted):
            moveAnswered(t, accepted: accepted, from: sender)
        case .ownerChanged(let object, let epoch):
            ownerChanged(object, epoch: epoch, from: sender)
        case .requestAnswer(let t, let status, let epoch):
            requestAnswered(t, status, epoch: epoch, from: sender)
        case .revokeMark(let t, let object, let root, let targets):
            receiveMark(t, object, root: root, targets: targets, from: sender)
        case .revokeReady(let t, let root):
            receiveReady(t, root: root, from: sender)
        case .revokeCommit(let t, let object, let root, let targets, let keepCore, let keep):
            receiveCommit(t, object, root: root, targets: targets, keepCore: keepCore, keep: keep, from: sender)
        case .revokeDone(let t, let root):
            receiveDone(t, root: root, from: sender)
        }
        return finish()
    }

    // MARK: Helpers

    mutating func finish() -> [CapabilityEffect] {
        progress()
        defer { effects = [] }
        return effects
    }

    mutating func send(_ message: CapabilityMessage, to target: CoreID) {
        counters.sent += 1
        effects.append(.send(message, to: target))
    }

    mutating func answer(_ requester: Requester, _ status: CapabilityStatus, epoch: OwnershipEpoch? = nil) {
        switch requester {
        case .local(let request?, _): effects.append(.answer(request, status))
        case .local(nil, _): break
        case .remote(let peer, let ticket): send(.requestAnswer(ticket, status, epoch: epoch), to: peer)
        }
    }

    mutating func issueTicket() -> CapabilityTicket {
        let t = nextTicket
        nextTicket = CapabilityTicket(nextTicket.rawValue &+ 1 == 0 ? 1 : nextTicket.rawValue &+ 1)
        return t
    }

    /// The index of `object` in `objects`, by binary search.
    func find(_ object: CapabilityObject) -> Int? {
        let i = insertionIndex(object)
        return i < objects.count && objects[i].object == object ? i : nil
    }

    func insertionIndex(_ object: CapabilityObject) -> Int {
        var low = 0, high = objects.count
        while low < high {
            let mid = (low + high) / 2
            if objects[mid].object < object { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The entry for `object`, made (owned by `owner` at `epoch`) if there is none.
    mutating func entry(_ object: CapabilityObject, owner: CoreID, epoch: OwnershipEpoch) -> Int {
        if let i = find(object) { return i }
        let i = insertionIndex(object)
        objects.insert(KnownObject(object: object, owner: owner, epoch: epoch), at: i)
        return i
    }

    /// The object whose lock waits for `answer` with `ticket` from `sender`.
    func lockAwaiting(_ answer: CapabilityMessage.Tag, _ ticket: CapabilityTicket, from sender: CoreID) -> Int? {
        objects.firstIndex { $0.lock?.awaited.map { $0 == (answer, ticket, sender) } == true }
    }

    /// True if this core is handing `objects[i]` to another core: it has deleted its
    /// last copy and waits for the move's answer.
    func isMovingAway(_ i: Int) -> Bool {
        if case .move? = objects[i].lock { return objects[i].owner == core } else { return false }
    }

    /// True if a revoke running here covers `object`: it is marked for deletion.
    func isDoomed(_ object: CapabilityObject) -> Bool {
        revokes.contains { $0.object.covers(object) }
    }
}

/// What a call asks its driver (the guest's monitor, or the simulator) to do.
public enum CapabilityEffect: Equatable, Sendable {
    /// Put `message` (encode it) on the ring to core `to`'s monitor.
    case send(CapabilityMessage, to: CoreID)
    /// The local request is finished.
    case answer(CapabilityRequestID, CapabilityStatus)
}

/// A core's view of one object's ownership.
public struct ObjectOwnership: Hashable, Sendable {
    public var owner: CoreID
    public var epoch: OwnershipEpoch
    /// Owner only: the other cores that may hold copies.
    public var copies: CoreMask
    /// Owner only: the cores that retyped the object (this one included).
    public var descendants: CoreMask
}

/// Who an operation answers: a local domain's request (nil: nobody, as for the deletes
/// of a domain that ended) or another core's request ticket.
enum Requester: Hashable {
    case local(CapabilityRequestID?, record: RecordID)
    case remote(CoreID, CapabilityTicket)
}

/// An operation as the owner runs it.
enum Operation: Hashable {
    case copy(to: CoreID, domain: UInt32)
    /// `record` is the local record to retype, nil when another core retypes its copy.
    case retype(count: Int, record: RecordID?)
    case revoke(keepCore: CoreID, keep: RecordID)
    case delete(RecordID)
}

/// The lock an owner holds on an object while an operation's messages are out.
enum ObjectLock: Hashable {
    case copy(CapabilityTicket, target: CoreID, Requester)
    /// Another core retypes its copy; `previous` is the descendants set to restore if it
    /// could not.
    case retype(CapabilityTicket, core: CoreID, previous: CoreMask)
    case revoke(CapabilityTicket)
    /// Ownership offered to `candidate` at `epoch`. While it is out, newer news of the
    /// object (a copy, an owner update, ownership coming back) may arrive: the entry
    /// takes it, and the answer then only unlocks.
    case move(CapabilityTicket, candidate: CoreID, remaining: CoreMask, epoch: OwnershipEpoch, Requester)
}

extension ObjectLock {
    /// The answer that releases the lock: its message, ticket and sender (a revoke's
    /// answers come through its run instead). A retype's ticket is the asker's, so only
    /// the three together name one lock.
    var awaited: (answer: CapabilityMessage.Tag, ticket: CapabilityTicket, core: CoreID)? {
        switch self {
        case .copy(let ticket, let target, _): return (.copyInstalled, ticket, target)
        case .retype(let ticket, let core, _): return (.retypeDone, ticket, core)
        case .move(let ticket, let candidate, _, _, _): return (.moveAnswer, ticket, candidate)
        case .revoke: return nil
        }
    }
}

struct QueuedOperation: Hashable {
    var requester: Requester
    var operation: Operation
}

struct KnownObject: Hashable {
    var object: CapabilityObject
    var owner: CoreID
    var epoch: OwnershipEpoch
    var copies = CoreMask.none
    var descendants = CoreMask.none
    var lock: ObjectLock? = nil
    var queue: [QueuedOperation] = []
}

/// A local request sent to the object's owner.
struct OutgoingRequest: Hashable {
    var ticket: CapabilityTicket
    var request: CapabilityRequestID?
    var record: RecordID
    var object: CapabilityObject
    var operation: Operation
    var peer: CoreID
    /// The owner's epoch this core knew when it asked.
    var askedAt: OwnershipEpoch
    /// Answered `notOwner`: waits for news of a newer owner.
    var parked = false
}

/// How many of each unusual thing a monitor has seen. Drops never stop the monitor.
public struct CapabilityCounters: Hashable, Sendable {
    /// Slots that did not decode.
    public var undecodable = 0
    /// Slots from a core outside the system or from this core itself.
    public var badSender = 0
    /// Messages that decode but fit no state: answers to nothing, a revoke step from the
    /// wrong core or out of order, a copy or move claiming an ownership this core knows
    /// is not the sender's.
    public var refused = 0
    /// Requests that reached a core that does not own the object (normal after a move).
    public var notOwner = 0
    /// Notices about objects this core no longer knows, or older than what it knows
    /// (normal: a deleted copy's notice reaching a former owner).
    public var stale = 0
    /// Messages sent.
    public var sent = 0

    public init() {}

    /// Slots dropped as bad input.
    public var dropped: Int { undecodable + badSender + refused }
}

/// Protocols broken on purpose, to check that the simulator catches each.
public enum CapabilityBreakage: String, Sendable, CaseIterable {
    /// Revoke commits without marking first (nothing waits for operations in flight).
    case skipMark
    /// The owner does not record a core it delivers a copy to.
    case forgetRemoteCopy
    /// Revoke runs without locking the object: copies go on beside it.
    case revokeWithoutLock
    /// A holder retypes its copy without asking the owner.
    case retypeWithoutOwner
    /// A new owner does not tell the other holders.
    case silentMove
}

/// Two monitors are equal when their states are: what an exhaustive search needs to
/// recognise a state it has explored.
extension CapabilityMonitor: Equatable, Hashable where Database: Hashable {
    public static func == (a: Self, b: Self) -> Bool {
        a.core == b.core && a.objects == b.objects && a.outgoing == b.outgoing && a.revokes == b.revokes
            && a.nextTicket == b.nextTicket && a.counters == b.counters && a.database == b.database
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(core)
        hasher.combine(objects)
        hasher.combine(outgoing)
        hasher.combine(revokes)
        hasher.combine(nextTicket)
        hasher.combine(database)
    }
}
