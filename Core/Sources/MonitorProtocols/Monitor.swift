// One core's monitor as a pure state machine. It holds this core's replica of the
// system state (the domain table, the name table and the knowledge base) and the
// requests it is waiting on,
// and changes them only when called: a message from another monitor, a request from a
// local domain, an event the guest side reports, or the clock. Each call returns the
// effects to carry out (messages to send, answers to give, domains to start or stop);
// nothing here does I/O, so the guest's monitor program and the host simulator drive
// the very same code.
//
// The protocols are described at the top of NameService.swift (names), Domains.swift
// (domain table, spawn, kill) and KnowledgeReplication.swift, and together in
// docs/monitors.md.
//
// Everything is kept in arrays sorted by key (no Dictionary or Set): iteration order is
// then part of the state, which keeps the host simulator's seeds replayable, and the
// code builds in Embedded Swift.
import ABI
import Basics
import Channel

public struct Monitor: Sendable {
    public struct Configuration: Sendable {
        /// Clock ticks a request waits on another monitor before its caller gets
        /// `timedOut`.
        public var requestTimeout: UInt64
        /// Requests waiting on other monitors at once; more are refused with `busy`.
        public var maximumPending: Int
        /// Timed-out spawns remembered so that one starting late is killed again.
        public var maximumAbandoned: Int
        /// The cores that run monitors, the same list on every core (empty: every core).
        /// Names have their homes among them and broadcasts go to them only.
        public var monitorCores: [CoreID]
        /// The core whose monitor publishes the knowledge base (core 0, whose kernel
        /// built it), the same on every core; nil: the base is not replicated.
        public var knowledgeSource: CoreID?

        public init(requestTimeout: UInt64 = 100, maximumPending: Int = 64, maximumAbandoned: Int = 32,
                    monitorCores: [CoreID] = [], knowledgeSource: CoreID? = nil) {
            self.requestTimeout = requestTimeout
            self.maximumPending = maximumPending
            self.maximumAbandoned = maximumAbandoned
            self.monitorCores = monitorCores
            self.knowledgeSource = knowledgeSource
        }
    }

    public let core: CoreID
    public let coreCount: Int
    public let configuration: Configuration
    /// The latest time `tick(now:)` was given.
    public internal(set) var now: MonitorTime
    /// Running domains, system-wide, sorted by id.
    public internal(set) var domains: [DomainRecord] = []
    /// Registered names, system-wide, sorted by name.
    public internal(set) var names: [NameRecord] = []
    /// The latest domains to end, system-wide, oldest first (at most
    /// `Monitor.recentEndsKept`): how a domain that awaited one learns how it ended.
    public internal(set) var recentEnds: [(domain: DomainID, end: DomainEnd)] = []
    public static let recentEndsKept = 64
    /// The knowledge base, once the source published it (here) or all of it arrived.
    public internal(set) var knowledge: KnowledgeReplica? = nil
    /// Messages dropped and other unusual events, by kind.
    public internal(set) var counters = MonitorCounters()

    /// Requests waiting on another monitor, in the order they were sent.
    var pending: [PendingRequest] = []
    /// Spawns whose caller timed out, oldest first: if one starts after all, it is killed.
    var abandonedSpawns: [AbandonedSpawn] = []
    /// Spawns handed to the guest side, waiting for its report.
    var spawning: [LocalSpawn] = []
    /// Spawn requests whose argument pieces are still arriving (at most one per core,
    /// since a monitor sends the pieces of one request back to back on a FIFO ring).
    var assemblies: [SpawnAssembly] = []
    /// Spanned domains of this core, each with the cores that may run a dispatcher of it
    /// (Spans.swift).
    var spanHomes: [SpanHome] = []
    /// Ended spanned domains of this core whose memory its kernel holds until the cores
    /// left in each record say they stopped its dispatchers.
    var unspanning: [SpanHome] = []
    /// Dispatchers running here for other cores' domains.
    var spanGuests: [SpanGuest] = []
    /// Spans handed to the guest side, waiting for its report.
    var spansStarting: [LocalSpan] = []
    /// Other cores' ended domains whose dispatchers here are being stopped; each is
    /// answered `unspanDone` once none is left (Spans.swift).
    var unspansAnswering: [DomainID] = []
    /// Cores that said they stopped for good, sorted (StoppedCores.swift): nothing is
    /// sent to them and nothing waits on them.
    var stoppedCores: [CoreID] = []
    /// The knowledge base arriving from the source, and when this monitor last heard of
    /// it (or asked for it).
    var knowledgeAssembly: KnowledgeAssembly? = nil
    var knowledgeHeard: MonitorTime
    var nextTicket = Ticket(1)
    var nextSpawn = SpawnID(1)
    /// What the current call produces; handed out and cleared when it returns.
    var effects: [MonitorEffect] = []
    /// A protocol broken on purpose, only by the tests that check the simulator's checker.
    var breakage: Breakage? = nil

    public init(core: CoreID, coreCount: Int, configuration: Configuration = Configuration(), now: MonitorTime = MonitorTime(0)) {
        self.core = core
        self.coreCount = coreCount
        self.configuration = configuration
        self.now = now
        knowledgeHeard = now
    }

    /// True when no request, spawn, span, end of a span or argument assembly is in progress, and the
    /// knowledge base is here (if it is replicated).
    public var isIdle: Bool {
        pending.isEmpty && abandonedSpawns.isEmpty && spawning.isEmpty && assemblies.isEmpty && !awaitsKnowledge
            && unspanning.isEmpty && spansStarting.isEmpty && unspansAnswering.isEmpty
    }

    /// Requests waiting on another monitor.
    public var requestsInFlight: Int { pending.count }

    // MARK: Inputs

    /// A slot from core `sender`'s ring. Whatever it holds is counted and dropped unless
    /// it is a message that fits the protocol's state.
    public mutating func receive(_ slot: ChannelMessage, from sender: CoreID) -> [MonitorEffect] {
        guard sender.rawValue >= 0, sender.rawValue < coreCount, sender != core else {
            counters.badSender += 1
            return []
        }
        // Read after its notice: whatever a stopped core wrote before it stopped is stale.
        guard !stoppedCores.contains(sender) else {
            counters.staleAfterStop += 1
            return []
        }
        guard let message = MonitorMessage(decoding: slot, coreCount: coreCount) else {
            counters.undecodable += 1
            return []
        }
        switch message {
        case .registerRequest(let ticket, let name, let owner, let endpoint):
            homeReceivesRegistration(ticket, name: name, owner: owner, endpoint: endpoint, from: sender)
        case .registerGranted(let ticket):
            if let request = takePending(ticket, from: sender, isRegister) { answer(request.request, .registered) }
        case .registerRefused(let ticket, let error):
            if let request = takePending(ticket, from: sender, isRegister) { answer(request.request, .failed(error)) }
        case .registerCancel(let ticket, let name):
            homeReceivesCancel(ticket, name: name, from: sender)
        case .unregisterRequest(let ticket, let name, let owner):
            homeReceivesUnregistration(ticket, name: name, owner: owner, from: sender)
        case .unregisterAnswer(let ticket, let refusal):
            if let request = takePending(ticket, from: sender, isUnregister) {
                answer(request.request, refusal.map { .failed($0) } ?? .unregistered)
            }
        case .nameAdded(let record): replicaApplies(added: record, from: sender)
        case .nameRemoved(let name): replicaApplies(removed: name, from: sender)
        case .domainStarted(let record): replicaApplies(started: record, from: sender)
        case .domainEnded(let domain, let end): replicaApplies(ended: domain, how: end, from: sender)
        case .spawnRequest(let ticket, let program, let argumentBytes):
            targetReceivesSpawn(ticket, program: program, argumentBytes: argumentBytes, from: sender)
        case .spawnArguments(let ticket, let bytes): targetReceivesArguments(ticket, bytes: bytes, from: sender)
        case .spawnStarted(let ticket, let domain): askerReceivesSpawnStarted(ticket, domain: domain, from: sender)
        case .spawnRefused(let ticket, let error): askerReceivesSpawnRefused(ticket, error: error, from: sender)
        case .killRequest(let ticket, let domain): targetReceivesKill(ticket, domain: domain, from: sender)
        case .killAnswer(let ticket, let refusal):
            if let request = takePending(ticket, from: sender, isKill) {
                answer(request.request, refusal.map { .failed($0) } ?? .killed)
            }
        case .knowledgeHeader(let generation, let byteCount, let checksum):
            replicaReceivesKnowledgeHeader(generation: generation, byteCount: byteCount, checksum: checksum, from: sender)
        case .knowledgePiece(let generation, let index, let bytes):
            replicaReceivesKnowledgePiece(generation: generation, index: index, bytes: bytes, from: sender)
        case .knowledgeRequest: sourceReceivesKnowledgeRequest(from: sender)
        case .spanRequest(let ticket, let domain, let place): targetReceivesSpan(ticket, domain: domain, place: place, from: sender)
        case .spanStarted(let ticket, let dispatcher): askerReceivesSpanAnswer(ticket, .spawned(dispatcher), from: sender)
        case .spanRefused(let ticket, let error): askerReceivesSpanAnswer(ticket, .failed(error), from: sender)
        case .unspanRequest(let domain): targetReceivesUnspan(domain, from: sender)
        case .unspanDone(let domain): homeReceivesUnspanDone(domain, from: sender)
        case .ping, .pong, .bindRequest, .bindAnswer, .statesRequest, .statesAnswer,
             .lendRequest, .lendAnswer, .lendReturn, .lendReturned:
            effects.append(.driverMessage(message, from: sender))
        }
        return takeEffects()
    }

    /// The clock moved to `now` (an earlier time is ignored). Every request that has
    /// waited `requestTimeout` ticks is answered `timedOut`, and what it may have
    /// started elsewhere is undone (see docs/monitors.md).
    public mutating func tick(now: MonitorTime) -> [MonitorEffect] {
        guard now > self.now else { return [] }
        self.now = now
        var waiting: [PendingRequest] = []
        for request in pending {
            guard request.deadline <= now else {
                waiting.append(request)
                continue
            }
            answer(request.request, .failed(.timedOut))
            switch request.kind {
            case .register(let name):
                // The home may have granted it, or will: the cancel follows the request on
                // the same FIFO ring, so the home sees it after deciding, and releases.
                if breakage != .forgetCancel { send(.registerCancel(request.ticket, name: name), to: request.peer) }
            case .spawn:
                if abandonedSpawns.count >= configuration.maximumAbandoned {
                    abandonedSpawns.removeFirst()
                    counters.abandonedForgotten += 1
                }
                abandonedSpawns.append(AbandonedSpawn(ticket: request.ticket, target: request.peer))
            case .unregister, .kill, .span:
                // Nothing to undo: the request stays queued at its monitor and still takes
                // effect, which is what the caller asked for. (A span's core stays in its
                // domain's set, so the domain's end stops a dispatcher that started late.)
                break
            }
        }
        pending = waiting
        askForKnowledgeIfSilent()
        return takeEffects()
    }

    // MARK: Helpers for the protocol files

    mutating func takeEffects() -> [MonitorEffect] {
        defer { effects = [] }
        return effects
    }

    mutating func send(_ message: MonitorMessage, to target: CoreID) {
        if !stoppedCores.contains(target) { effects.append(.send(message, to: target)) }
    }

    /// The cores whose monitors take part.
    var members: [CoreID] {
        configuration.monitorCores.isEmpty ? (0..<coreCount).map { CoreID($0) } : configuration.monitorCores
    }

    /// To every monitor but this one (the ring to each, one message per core).
    mutating func broadcast(_ message: MonitorMessage) {
        for other in members where other != core { send(message, to: other) }
    }

    mutating func answer(_ request: RequestID, _ result: MonitorAnswer) { effects.append(.answer(request, result)) }

    func isValidCore(_ c: CoreID) -> Bool { c.rawValue >= 0 && c.rawValue < coreCount && members.contains(c) }

    /// Starts waiting on `peer` for request `kind` and sends `messages` there, or refuses
    /// the caller with `busy` when too many requests are in flight.
    mutating func ask(_ peer: CoreID, _ kind: PendingRequest.Kind, for request: RequestID,
                      _ messages: (Ticket) -> [MonitorMessage]) {
        guard pending.count < configuration.maximumPending else { return answer(request, .failed(.busy)) }
        guard !stoppedCores.contains(peer) else { return answer(request, .failed(.noSuchCore)) }
        let ticket = nextTicket
        nextTicket = Ticket(nextTicket.rawValue &+ 1 == 0 ? 1 : nextTicket.rawValue &+ 1)
        pending.append(PendingRequest(ticket: ticket, request: request, peer: peer,
                                      deadline: now.advanced(by: configuration.requestTimeout), kind: kind))
        for message in messages(ticket) { send(message, to: peer) }
    }

    /// The request an answer from `sender` with `ticket` belongs to, if it is one of the
    /// kind `fits` accepts, no longer pending. Any other answer is counted: late if the
    /// ticket was issued (its request has timed out), stray if it never was.
    mutating func takePending(_ ticket: Ticket, from sender: CoreID, _ fits: (PendingRequest.Kind) -> Bool) -> PendingRequest? {
        if let i = pending.firstIndex(where: { $0.ticket == ticket && $0.peer == sender }), fits(pending[i].kind) {
            return pending.remove(at: i)
        }
        countUnmatchedAnswer(ticket)
        return nil
    }

    mutating func countUnmatchedAnswer(_ ticket: Ticket) {
        // A ticket still pending was answered by the wrong core or with the wrong kind.
        let issuedAndDone = ticket != .noAnswer && ticket < nextTicket && !pending.contains { $0.ticket == ticket }
        if issuedAndDone { counters.lateAnswers += 1 } else { counters.strayAnswers += 1 }
    }

    func isRegister(_ kind: PendingRequest.Kind) -> Bool { if case .register = kind { return true } else { return false } }
    func isUnregister(_ kind: PendingRequest.Kind) -> Bool { if case .unregister = kind { return true } else { return false } }
    func isSpawn(_ kind: PendingRequest.Kind) -> Bool { if case .spawn = kind { return true } else { return false } }
    func isKill(_ kind: PendingRequest.Kind) -> Bool { if case .kill = kind { return true } else { return false } }
}

/// What a monitor call asks its driver (the guest program, or the simulator) to do.
public enum MonitorEffect: Equatable, Sendable {
    /// Put `message` (encode it) on the ring to core `to`'s monitor.
    case send(MonitorMessage, to: CoreID)
    /// The local request `RequestID` is finished.
    case answer(RequestID, MonitorAnswer)
    /// Start `program` with `arguments` on this core, then report the outcome with
    /// `spawnSucceeded` or `spawnFailed` and this `SpawnID`.
    case spawnLocally(SpawnID, program: Name, arguments: [UInt8])
    /// Stop this core's domain; report `domainEnded(_:how:)` when it is gone (as for any end).
    /// Sent again if a second kill comes first, so stopping should be idempotent.
    case killLocally(LocalDomainNumber)
    /// Build a dispatcher of `home` (another core's domain) here at `place`, then report
    /// `spanSucceeded` or `spanFailed` with this `SpawnID` (Spans.swift).
    case spanLocally(SpawnID, home: DomainID, place: SpanPlace)
    /// Every core that may have run a dispatcher of this core's ended domain stopped it:
    /// its kernel may now free the domain's memory.
    case releaseSpanned(LocalDomainNumber)
    /// A message the driver answers itself (ping, binding, states), decoded and checked here
    /// like every other.
    case driverMessage(MonitorMessage, from: CoreID)
}

/// A running domain as every replica records it.
public struct DomainRecord: Equatable, Sendable {
    public var id: DomainID
    public var program: Name
    public init(id: DomainID, program: Name) {
        self.id = id
        self.program = program
    }
}

/// A registered name. `grant` is the ticket of the registration request that won it
/// (0 if the home registered it for one of its own domains): the home needs it to match
/// a cancel to the grant it undoes, and broadcasting it keeps every replica identical.
public struct NameRecord: Equatable, Sendable {
    public var name: Name
    public var owner: DomainID
    public var endpoint: EndpointToken
    public var grant: Ticket
    public init(name: Name, owner: DomainID, endpoint: EndpointToken, grant: Ticket = .noAnswer) {
        self.name = name
        self.owner = owner
        self.endpoint = endpoint
        self.grant = grant
    }
}

/// How many of each unusual thing a monitor has seen. Drops never stop the monitor;
/// these are what the guest can print to notice a misbehaving peer.
public struct MonitorCounters: Equatable, Sendable {
    /// Slots that did not decode (unknown tag, bad field).
    public var undecodable = 0
    /// Slots from a core outside the system or from this core itself, and notices of a
    /// stopped core that cannot be (this core, one outside the system, one already stopped).
    public var badSender = 0
    /// Slots from a core read after it said it stopped, and records of what a stop
    /// notice removed already (a removal, or a grant for a name of the stopped core):
    /// a correct system sends these after a stop, so they are not counted as dropped.
    public var staleAfterStop = 0
    /// Answers to a ticket never issued, from the wrong core or of the wrong kind.
    public var strayAnswers = 0
    /// Answers to a request that had already timed out (expected after timeouts).
    public var lateAnswers = 0
    /// Name requests or records at or from a core that is not the name's home.
    public var notHome = 0
    /// Domain messages about a domain not on the core that should send or receive them.
    public var wrongCore = 0
    /// A replica removing what it does not have, or starting a domain it has.
    public var unknownRecords = 0
    /// Spawn argument pieces with no request, past the announced length, or cut short.
    public var badSpawnPieces = 0
    /// Guest reports for spawns or domains this monitor does not know, or of a
    /// knowledge base on a monitor that is not the source (or too large to encode).
    public var unknownLocalReports = 0
    /// Spawns that started after their caller had timed out, and were killed again.
    public var spawnsUndone = 0
    /// Timed-out spawns forgotten (beyond `maximumAbandoned`) before their answer came.
    public var abandonedForgotten = 0
    /// Knowledge-base messages from a core that is not the source, requests at a
    /// monitor that is not, pieces out of place, copies whose checksum or decoding failed.
    public var badKnowledge = 0
    /// Knowledge-base messages for a generation this replica has (a repeated answer).
    public var staleKnowledge = 0

    public init() {}

    /// Every counter with its name, for printing.
    public var all: [(name: String, value: Int)] {
        [("undecodable", undecodable), ("badSender", badSender), ("strayAnswers", strayAnswers),
         ("lateAnswers", lateAnswers), ("notHome", notHome), ("wrongCore", wrongCore),
         ("unknownRecords", unknownRecords), ("badSpawnPieces", badSpawnPieces),
         ("unknownLocalReports", unknownLocalReports), ("spawnsUndone", spawnsUndone),
         ("abandonedForgotten", abandonedForgotten), ("badKnowledge", badKnowledge), ("staleKnowledge", staleKnowledge),
         ("staleAfterStop", staleAfterStop)]
    }

    /// Messages dropped because they did not fit (not late answers, undone spawns or
    /// stale knowledge, which a correct system produces after timeouts).
    public var dropped: Int {
        undecodable + badSender + strayAnswers + notHome + wrongCore + unknownRecords + badSpawnPieces + unknownLocalReports
            + badKnowledge
    }
}

struct PendingRequest: Sendable {
    enum Kind: Sendable {
        case register(Name)
        case unregister
        case spawn
        case kill
        case span(LocalDomainNumber)
    }
    var ticket: Ticket
    var request: RequestID
    /// The monitor that must answer.
    var peer: CoreID
    var deadline: MonitorTime
    var kind: Kind
}

struct AbandonedSpawn: Sendable {
    var ticket: Ticket
    var target: CoreID
}

/// A spawn handed to the guest side, and whom to tell how it went.
struct LocalSpawn: Sendable {
    enum Origin: Sendable {
        case local(RequestID)
        case remote(CoreID, Ticket)
    }
    var id: SpawnID
    var program: Name
    var origin: Origin
}

struct SpawnAssembly: Sendable {
    var asker: CoreID
    var ticket: Ticket
    var program: Name
    var expected: Int
    var arguments: [UInt8]
}

/// Protocol mistakes made on purpose, so tests can check that the simulator catches them.
enum Breakage: Sendable {
    /// The asking monitor decides a registration itself (last writer wins).
    case grantWithoutHome
    /// The home records a name but does not broadcast it.
    case skipNameBroadcast
    /// A timed-out registration is not cancelled at the home.
    case forgetCancel
}

// MARK: Sorted tables

extension Monitor {
    /// Where `id` is or would be inserted in `domains`.
    func domainInsertionIndex(_ id: DomainID) -> Int { lowerBound(domains.count) { domains[$0].id < id } }
    func domainIndex(_ id: DomainID) -> Int? {
        let i = domainInsertionIndex(id)
        return i < domains.count && domains[i].id == id ? i : nil
    }
    /// Where `name` is or would be inserted in `names`.
    func nameInsertionIndex(_ name: Name) -> Int { lowerBound(names.count) { names[$0].name < name } }
    func nameIndex(_ name: Name) -> Int? {
        let i = nameInsertionIndex(name)
        return i < names.count && names[i].name == name ? i : nil
    }
}

/// The first index in 0..<count for which `isBelow` is false (binary search).
func lowerBound(_ count: Int, _ isBelow: (Int) -> Bool) -> Int {
    var low = 0, high = count
    while low < high {
        let middle = (low + high) / 2
        if isBelow(middle) { low = middle + 1 } else { high = middle }
    }
    return low
}
