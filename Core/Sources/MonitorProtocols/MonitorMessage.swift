// The messages monitors exchange, declared once: `encode` and `init?(decoding:coreCount:)`
// are the two ends, both tested on the host. A message from another core is untrusted
// input: anything that does not decode to exactly what a correct monitor sends (unknown
// tag, field out of range, bits set that no field uses, a name too long) is nil, and
// the monitor counts and drops it. Decoding is canonical: whatever decodes re-encodes
// to the same slot.
//
// Layouts (w0…w6 are the payload words; a name is its length in a byte of w0 and its
// bytes in w1–w4, zero past the length):
//
//   registerRequest    w0 ticket | name length << 32, w1–w4 name, w5 owner, w6 endpoint
//   registerGranted    w0 ticket
//   registerRefused    w0 ticket, w1 error
//   registerCancel     w0 ticket | name length << 32, w1–w4 name
//   unregisterRequest  w0 ticket | name length << 32, w1–w4 name, w5 owner
//   unregisterAnswer   w0 ticket, w1 error or 0
//   nameAdded          w0 grant ticket | name length << 32, w1–w4 name, w5 owner, w6 endpoint
//   nameRemoved        w0 name length << 32, w1–w4 name
//   domainStarted      w0 program length << 32, w1–w4 program, w5 domain
//   domainEnded        w0 domain, w1–w2 how it ended (`DomainEnd.words`)
//   spawnRequest       w0 ticket | program length << 32 | argument bytes << 40, w1–w4 program
//   spawnArguments     w0 ticket | byte count << 32, w1–w6 up to 48 bytes
//   spawnStarted       w0 ticket, w1 domain
//   spawnRefused       w0 ticket, w1 error
//   killRequest        w0 ticket, w1 domain
//   killAnswer         w0 ticket, w1 error or 0
//   ping, pong         w0 token
//   bindRequest        w0 token, w1 endpoint, w2 page, w3 client
//   bindAnswer         w0 token, w1 1 if accepted, 0 if not
//   knowledgeHeader    w0 generation | byte count << 32, w1 checksum
//   knowledgePiece     w0 generation | index << 32 | byte count << 48, w1–w6 up to 48 bytes
//   knowledgeRequest   (no fields)
//   statesRequest      w0 token
//   statesAnswer       w0 token, w1 entry count (0–5) | last << 8, w2–w6 entries, each a
//                      local domain number | its DomainRunState << 32
//   lendRequest        w0 token, w1 client
//   lendAnswer         w0 token, w1 the lent piece's base (0: none)
//   lendReturn         w0 token, w1 the piece's base
//   lendReturned       w0 token, w1 1 if taken back, 0 if not
//   spanRequest        w0 ticket, w1 domain, w2 PML4, w3 dispatcher frame, w4 its address
//   spanStarted        w0 ticket, w1 the new dispatcher's domain id
//   spanRefused        w0 ticket, w1 error
//   unspanRequest      w0 domain (the spanned domain, at its home)
//   unspanDone         w0 domain
//
// A domain id is one word (see `DomainID.word`); a decoded one names a core of the
// system, which is why decoding takes the core count.
import ABI
import Basics
import Channel
import KnowledgeBase

public enum MonitorMessage: Equatable, Sendable {
    /// To the name's home: `owner` (on the sender's core) asks to hold `name`.
    case registerRequest(Ticket, name: Name, owner: DomainID, endpoint: EndpointToken)
    /// From the home: the name is now the asker's (the record was broadcast first).
    case registerGranted(Ticket)
    /// From the home: the name is not the asker's, and why.
    case registerRefused(Ticket, MonitorError)
    /// To the home: the asker gave up waiting; undo the grant of this ticket if it was made.
    case registerCancel(Ticket, name: Name)
    /// To the name's home: `owner` gives the name up.
    case unregisterRequest(Ticket, name: Name, owner: DomainID)
    /// From the home: nil when the name was removed.
    case unregisterAnswer(Ticket, refusal: MonitorError?)
    /// From the home to every other monitor: a record to apply to the replica.
    case nameAdded(NameRecord)
    case nameRemoved(Name)
    /// From the domain's core to every other monitor.
    case domainStarted(DomainRecord)
    case domainEnded(DomainID, DomainEnd)
    /// To the core that should run it: a program and the length of its argument line,
    /// whose bytes follow in `spawnArguments` pieces (none for an empty line).
    case spawnRequest(Ticket, program: Name, argumentBytes: Int)
    case spawnArguments(Ticket, bytes: [UInt8])
    /// From the core that ran it (after its `domainStarted`), or why it could not.
    case spawnStarted(Ticket, DomainID)
    case spawnRefused(Ticket, MonitorError)
    /// To the domain's core. `Ticket.noAnswer` asks for no answer (a monitor undoing a
    /// spawn whose caller has gone).
    case killRequest(Ticket, DomainID)
    case killAnswer(Ticket, refusal: MonitorError?)
    /// The driver's own (the state machine passes them on as `driverMessage`): is the
    /// receiving monitor there (answer `pong` with the same token)?
    case ping(token: UInt64)
    case pong(token: UInt64)
    /// A client on the sender's core binds to a name whose `endpoint` the receiver
    /// holds: the channel is page `page` of the sender's binding pool.
    case bindRequest(token: UInt64, endpoint: EndpointToken, page: Int, client: DomainID)
    /// Whether the server got the page.
    case bindAnswer(token: UInt64, accepted: Bool)
    /// From the knowledge base's source: generation `generation` of the encoded base,
    /// `byteCount` bytes whose `KnowledgeEncoding.digest` is `checksum`, follows in
    /// pieces.
    case knowledgeHeader(generation: KnowledgeGeneration, byteCount: Int, checksum: UInt64)
    /// Piece `index` (from 0) of that generation: bytes from `index` × 48 on.
    case knowledgePiece(generation: KnowledgeGeneration, index: Int, bytes: [UInt8])
    /// To the source: send the base (again).
    case knowledgeRequest
    /// The driver's own, for `ps`: which of the receiver's domains run and which sleep?
    /// The answer comes in as many `statesAnswer` messages as it takes, the last marked.
    case statesRequest(token: UInt64)
    case statesAnswer(token: UInt64, states: [DomainStateEntry], last: Bool)
    /// The driver's own, for the memory service: the sender's core has no free memory;
    /// may `client` have a piece of the receiver's? The receiver copies a piece to the
    /// client by the capability protocols, then answers with its base (0: none free).
    case lendRequest(token: UInt64, client: DomainID)
    case lendAnswer(token: UInt64, base: UInt64)
    /// The piece at `base` the receiver lent is given back: revoke it everywhere and take
    /// it into the pool again; answered with whether that was done.
    case lendReturn(token: UInt64, base: UInt64)
    case lendReturned(token: UInt64, accepted: Bool)
    /// From a spanned domain's home (Spans.swift): run a dispatcher of `domain` here, in
    /// its address space, at `place`.
    case spanRequest(Ticket, domain: DomainID, place: SpanPlace)
    /// From the core that runs it: the new dispatcher, as a domain of that core; or why not.
    case spanStarted(Ticket, DomainID)
    case spanRefused(Ticket, MonitorError)
    /// From the home, once `domain` ended: stop its dispatcher here, then answer.
    case unspanRequest(DomainID)
    /// Its dispatcher here is stopped and will never run again.
    case unspanDone(DomainID)

    /// The longest argument line a spawn carries: five pieces. A shell line is shorter;
    /// the bound keeps a half-received request's buffer small.
    public static let maximumArgumentBytes = 240
    /// Argument bytes per `spawnArguments` piece (words 1–6).
    public static let argumentBytesPerPiece = 48
    /// Domains per `statesAnswer` (words 2–6).
    public static let statesPerAnswer = 5

    /// The messages that answer `statesRequest(token)` with `states`: pieces of five,
    /// the last one marked (one empty message when there are none).
    public static func statesMessages(token: UInt64, states: [DomainStateEntry]) -> [MonitorMessage] {
        var messages: [MonitorMessage] = []
        var offset = 0
        repeat {
            let end = min(offset + statesPerAnswer, states.count)
            messages.append(.statesAnswer(token: token, states: Array(states[offset..<end]), last: end == states.count))
            offset = end
        } while offset < states.count
        return messages
    }

    /// Tags in a range of their own ('M' in the high byte) so that a monitor message is
    /// never mistaken for a kernel message should the two ever share a ring.
    public enum Tag: UInt16, CaseIterable, Sendable {
        case registerRequest = 0x4D01, registerGranted, registerRefused, registerCancel
        case unregisterRequest, unregisterAnswer, nameAdded, nameRemoved
        case domainStarted, domainEnded, spawnRequest, spawnArguments, spawnStarted, spawnRefused
        case killRequest, killAnswer, ping, pong, bindRequest, bindAnswer
        case knowledgeHeader, knowledgePiece, knowledgeRequest, statesRequest, statesAnswer
        case lendRequest, lendAnswer, lendReturn, lendReturned
        case spanRequest, spanStarted, spanRefused, unspanRequest, unspanDone
    }

    /// The most pages of a binding pool a `bindRequest` may name.
    public static let maximumPoolPages = 256

    /// Knowledge-base bytes per `knowledgePiece` (words 1–6).
    public static let knowledgeBytesPerPiece = 48
    /// The largest encoded knowledge base a header may announce: the largest that
    /// decodes, so any base the kernel builds can be replicated (a piece's 16-bit index
    /// reaches it).
    public static var maximumKnowledgeBytes: Int { KnowledgeEncoding.maximumBytes }

    /// The messages that carry generation `generation` of the encoded knowledge base:
    /// the header, then the bytes in pieces of 48 (the last one shorter).
    public static func knowledgeMessages(generation: KnowledgeGeneration, bytes: [UInt8]) -> [MonitorMessage] {
        var messages: [MonitorMessage] = [
            .knowledgeHeader(generation: generation, byteCount: bytes.count, checksum: KnowledgeEncoding.digest(bytes)),
        ]
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + knowledgeBytesPerPiece, bytes.count)
            messages.append(.knowledgePiece(generation: generation, index: offset / knowledgeBytesPerPiece,
                                            bytes: Array(bytes[offset..<end])))
            offset = end
        }
        return messages
    }

    /// The messages that carry a spawn request: the request, then the argument line in
    /// pieces of up to 48 bytes. The caller checks the length first.
    public static func spawnMessages(_ ticket: Ticket, program: Name, arguments: [UInt8]) -> [MonitorMessage] {
        var messages: [MonitorMessage] = [.spawnRequest(ticket, program: program, argumentBytes: arguments.count)]
        var offset = 0
        while offset < arguments.count {
            let end = min(offset + argumentBytesPerPiece, arguments.count)
            messages.append(.spawnArguments(ticket, bytes: Array(arguments[offset..<end])))
            offset = end
        }
        return messages
    }

    public func encode() -> ChannelMessage {
        var m = ChannelMessage(tag: tag.rawValue)
        switch self {
        case .registerRequest(let ticket, let name, let owner, let endpoint):
            Self.put(name, label: UInt64(ticket.rawValue), into: &m)
            m.words[5] = owner.word
            m.words[6] = endpoint.rawValue
        case .registerGranted(let ticket):
            m.words[0] = UInt64(ticket.rawValue)
        case .registerRefused(let ticket, let error), .spawnRefused(let ticket, let error), .spanRefused(let ticket, let error):
            m.words[0] = UInt64(ticket.rawValue)
            m.words[1] = UInt64(error.rawValue)
        case .registerCancel(let ticket, let name):
            Self.put(name, label: UInt64(ticket.rawValue), into: &m)
        case .unregisterRequest(let ticket, let name, let owner):
            Self.put(name, label: UInt64(ticket.rawValue), into: &m)
            m.words[5] = owner.word
        case .unregisterAnswer(let ticket, let refusal), .killAnswer(let ticket, let refusal):
            m.words[0] = UInt64(ticket.rawValue)
            m.words[1] = UInt64(refusal?.rawValue ?? 0)
        case .nameAdded(let record):
            Self.put(record.name, label: UInt64(record.grant.rawValue), into: &m)
            m.words[5] = record.owner.word
            m.words[6] = record.endpoint.rawValue
        case .nameRemoved(let name):
            Self.put(name, label: 0, into: &m)
        case .domainStarted(let record):
            Self.put(record.program, label: 0, into: &m)
            m.words[5] = record.id.word
        case .domainEnded(let domain, let end):
            m.words[0] = domain.word
            (m.words[1], m.words[2]) = end.words
        case .spawnRequest(let ticket, let program, let argumentBytes):
            Self.put(program, label: UInt64(ticket.rawValue) | UInt64(UInt16(truncatingIfNeeded: argumentBytes)) << 40, into: &m)
        case .spawnArguments(let ticket, let bytes):
            let count = min(bytes.count, Self.argumentBytesPerPiece)
            m.words[0] = UInt64(ticket.rawValue) | UInt64(count) << 32
            Self.put(bytes.prefix(count), at: 1, into: &m)
        case .spawnStarted(let ticket, let domain), .killRequest(let ticket, let domain), .spanStarted(let ticket, let domain):
            m.words[0] = UInt64(ticket.rawValue)
            m.words[1] = domain.word
        case .spanRequest(let ticket, let domain, let place):
            m.words[0] = UInt64(ticket.rawValue)
            m.words[1] = domain.word
            (m.words[2], m.words[3], m.words[4]) = (place.root, place.frame, place.frameAddress)
        case .unspanRequest(let domain), .unspanDone(let domain):
            m.words[0] = domain.word
        case .ping(let token), .pong(let token), .statesRequest(let token):
            m.words[0] = token
        case .statesAnswer(let token, let states, let last):
            let count = min(states.count, Self.statesPerAnswer)
            m.words[0] = token
            m.words[1] = UInt64(count) | (last ? 1 << 8 : 0)
            for (i, entry) in states.prefix(count).enumerated() {
                m.words[2 + i] = UInt64(entry.local.rawValue) | entry.state.rawValue << 32
            }
        case .bindRequest(let token, let endpoint, let page, let client):
            m.words[0] = token
            m.words[1] = endpoint.rawValue
            m.words[2] = UInt64(truncatingIfNeeded: page)
            m.words[3] = client.word
        case .bindAnswer(let token, let accepted), .lendReturned(let token, let accepted):
            m.words[0] = token
            m.words[1] = accepted ? 1 : 0
        case .lendRequest(let token, let client):
            m.words[0] = token
            m.words[1] = client.word
        case .lendAnswer(let token, let base), .lendReturn(let token, let base):
            m.words[0] = token
            m.words[1] = base
        case .knowledgeHeader(let generation, let byteCount, let checksum):
            m.words[0] = UInt64(generation.rawValue) | UInt64(UInt32(truncatingIfNeeded: byteCount)) << 32
            m.words[1] = checksum
        case .knowledgePiece(let generation, let index, let bytes):
            let count = min(bytes.count, Self.knowledgeBytesPerPiece)
            m.words[0] = UInt64(generation.rawValue) | UInt64(UInt16(truncatingIfNeeded: index)) << 32 | UInt64(count) << 48
            Self.put(bytes.prefix(count), at: 1, into: &m)
        case .knowledgeRequest:
            break
        }
        return m
    }

    public var tag: Tag {
        switch self {
        case .registerRequest: return .registerRequest
        case .registerGranted: return .registerGranted
        case .registerRefused: return .registerRefused
        case .registerCancel: return .registerCancel
        case .unregisterRequest: return .unregisterRequest
        case .unregisterAnswer: return .unregisterAnswer
        case .nameAdded: return .nameAdded
        case .nameRemoved: return .nameRemoved
        case .domainStarted: return .domainStarted
        case .domainEnded: return .domainEnded
        case .spawnRequest: return .spawnRequest
        case .spawnArguments: return .spawnArguments
        case .spawnStarted: return .spawnStarted
        case .spawnRefused: return .spawnRefused
        case .killRequest: return .killRequest
        case .killAnswer: return .killAnswer
        case .ping: return .ping
        case .pong: return .pong
        case .bindRequest: return .bindRequest
        case .bindAnswer: return .bindAnswer
        case .knowledgeHeader: return .knowledgeHeader
        case .knowledgePiece: return .knowledgePiece
        case .knowledgeRequest: return .knowledgeRequest
        case .statesRequest: return .statesRequest
        case .statesAnswer: return .statesAnswer
        case .lendRequest: return .lendRequest
        case .lendAnswer: return .lendAnswer
        case .lendReturn: return .lendReturn
        case .lendReturned: return .lendReturned
        case .spanRequest: return .spanRequest
        case .spanStarted: return .spanStarted
        case .spanRefused: return .spanRefused
        case .unspanRequest: return .unspanRequest
        case .unspanDone: return .unspanDone
        }
    }

    /// The message in `message`, or nil if it is not one a correct monitor of a system of
    /// `coreCount` cores sends.
    public init?(decoding message: ChannelMessage, coreCount: Int) {
        guard let tag = Tag(rawValue: message.tag) else { return nil }
        let w = message.words
        /// Words from `first` on must be zero: no field uses them.
        func unused(from first: Int) -> Bool {
            for i in first..<ChannelMessage.wordCount where w[i] != 0 { return false }
            return true
        }
        func ticket() -> Ticket { Ticket(UInt32(truncatingIfNeeded: w[0])) }
        func domain(_ i: Int) -> DomainID? { DomainID(word: w[i], coreCount: coreCount) }
        func error(_ i: Int) -> MonitorError? { w[i] > 0xFF ? nil : MonitorError(rawValue: UInt8(w[i])) }
        /// An answer's optional refusal: 0 for success, else a known error.
        func refusal() -> MonitorError?? {
            if w[1] == 0 { return .some(nil) }
            guard let e = error(1) else { return nil }
            return .some(e)
        }
        /// The name in w0 (length) and w1–w4, and the 32-bit label below it; bits of w0
        /// above the length must be clear unless allowed (spawnRequest keeps the argument
        /// length there).
        func name(allowingHighBits: Bool = false) -> (name: Name, label: UInt32)? {
            let length = Int((w[0] >> 32) & 0xFF)
            guard allowingHighBits || w[0] >> 40 == 0, let bytes = Self.bytes(w, at: 1, count: length, capacity: 32),
                  let name = Name(bytes) else { return nil }
            return (name, UInt32(truncatingIfNeeded: w[0]))
        }
        /// Answers and requests with a ticket use only its 32 bits of w0.
        let ticketOnly = w[0] >> 32 == 0

        switch tag {
        case .registerRequest:
            guard let n = name(), let owner = domain(5) else { return nil }
            self = .registerRequest(Ticket(n.label), name: n.name, owner: owner, endpoint: EndpointToken(w[6]))
        case .registerGranted:
            guard ticketOnly, unused(from: 1) else { return nil }
            self = .registerGranted(ticket())
        case .registerRefused, .spawnRefused, .spanRefused:
            guard ticketOnly, let e = error(1), unused(from: 2) else { return nil }
            switch tag {
            case .registerRefused: self = .registerRefused(ticket(), e)
            case .spawnRefused: self = .spawnRefused(ticket(), e)
            default: self = .spanRefused(ticket(), e)
            }
        case .spanRequest:
            guard ticketOnly, let id = domain(1), let place = SpanPlace(root: w[2], frame: w[3], frameAddress: w[4]),
                  unused(from: 5) else { return nil }
            self = .spanRequest(ticket(), domain: id, place: place)
        case .spanStarted:
            guard ticketOnly, let id = domain(1), unused(from: 2) else { return nil }
            self = .spanStarted(ticket(), id)
        case .unspanRequest, .unspanDone:
            guard let id = domain(0), unused(from: 1) else { return nil }
            self = tag == .unspanRequest ? .unspanRequest(id) : .unspanDone(id)
        case .registerCancel:
            guard let n = name(), unused(from: 5) else { return nil }
            self = .registerCancel(Ticket(n.label), name: n.name)
        case .unregisterRequest:
            guard let n = name(), let owner = domain(5), unused(from: 6) else { return nil }
            self = .unregisterRequest(Ticket(n.label), name: n.name, owner: owner)
        case .unregisterAnswer, .killAnswer:
            guard ticketOnly, let r = refusal(), unused(from: 2) else { return nil }
            self = tag == .unregisterAnswer ? .unregisterAnswer(ticket(), refusal: r) : .killAnswer(ticket(), refusal: r)
        case .nameAdded:
            guard let n = name(), let owner = domain(5) else { return nil }
            self = .nameAdded(NameRecord(name: n.name, owner: owner, endpoint: EndpointToken(w[6]), grant: Ticket(n.label)))
        case .nameRemoved:
            guard let n = name(), n.label == 0, unused(from: 5) else { return nil }
            self = .nameRemoved(n.name)
        case .domainStarted:
            guard let n = name(), n.label == 0, let id = domain(5), unused(from: 6) else { return nil }
            self = .domainStarted(DomainRecord(id: id, program: n.name))
        case .domainEnded:
            guard let id = domain(0), let end = DomainEnd(words: (w[1], w[2])), unused(from: 3) else { return nil }
            self = .domainEnded(id, end)
        case .spawnRequest:
            let argumentBytes = Int(w[0] >> 40)
            guard argumentBytes <= Self.maximumArgumentBytes, let n = name(allowingHighBits: true), unused(from: 5) else { return nil }
            self = .spawnRequest(Ticket(n.label), program: n.name, argumentBytes: argumentBytes)
        case .spawnArguments:
            let count = Int(w[0] >> 32)
            // An empty piece is never sent: an empty line has no pieces.
            guard count >= 1, let bytes = Self.bytes(w, at: 1, count: count, capacity: Self.argumentBytesPerPiece) else { return nil }
            self = .spawnArguments(ticket(), bytes: bytes)
        case .spawnStarted, .killRequest:
            guard ticketOnly, let id = domain(1), unused(from: 2) else { return nil }
            self = tag == .spawnStarted ? .spawnStarted(ticket(), id) : .killRequest(ticket(), id)
        case .ping, .pong:
            guard unused(from: 1) else { return nil }
            self = tag == .ping ? .ping(token: w[0]) : .pong(token: w[0])
        case .bindRequest:
            guard w[2] < UInt64(Self.maximumPoolPages), let client = domain(3), unused(from: 4) else { return nil }
            self = .bindRequest(token: w[0], endpoint: EndpointToken(w[1]), page: Int(w[2]), client: client)
        case .bindAnswer, .lendReturned:
            guard w[1] <= 1, unused(from: 2) else { return nil }
            self = tag == .bindAnswer ? .bindAnswer(token: w[0], accepted: w[1] == 1) : .lendReturned(token: w[0], accepted: w[1] == 1)
        case .lendRequest:
            guard let client = domain(1), unused(from: 2) else { return nil }
            self = .lendRequest(token: w[0], client: client)
        case .lendAnswer, .lendReturn:
            // A piece is page-aligned; only an answer may say "none".
            guard w[1] % 4096 == 0, w[1] != 0 || tag == .lendAnswer, unused(from: 2) else { return nil }
            self = tag == .lendAnswer ? .lendAnswer(token: w[0], base: w[1]) : .lendReturn(token: w[0], base: w[1])
        case .knowledgeHeader:
            // Generations start at 1; an encoded base is never empty.
            let generation = KnowledgeGeneration(UInt32(truncatingIfNeeded: w[0])), byteCount = Int(w[0] >> 32)
            guard generation != .none, byteCount >= 1, byteCount <= Self.maximumKnowledgeBytes, unused(from: 2) else { return nil }
            self = .knowledgeHeader(generation: generation, byteCount: byteCount, checksum: w[1])
        case .knowledgePiece:
            let generation = KnowledgeGeneration(UInt32(truncatingIfNeeded: w[0]))
            let index = Int((w[0] >> 32) & 0xFFFF), count = Int(w[0] >> 48)
            guard generation != .none, count >= 1, index * Self.knowledgeBytesPerPiece < Self.maximumKnowledgeBytes,
                  let bytes = Self.bytes(w, at: 1, count: count, capacity: Self.knowledgeBytesPerPiece) else { return nil }
            self = .knowledgePiece(generation: generation, index: index, bytes: bytes)
        case .knowledgeRequest:
            guard unused(from: 0) else { return nil }
            self = .knowledgeRequest
        case .statesRequest:
            guard unused(from: 1) else { return nil }
            self = .statesRequest(token: w[0])
        case .statesAnswer:
            let count = Int(w[1] & 0xFF)
            guard count <= Self.statesPerAnswer, w[1] >> 8 <= 1, unused(from: 2 + count) else { return nil }
            var states: [DomainStateEntry] = []
            for i in 0..<count {
                guard let state = DomainRunState(rawValue: w[2 + i] >> 32) else { return nil }
                states.append(DomainStateEntry(local: LocalDomainNumber(UInt32(truncatingIfNeeded: w[2 + i])), state: state))
            }
            self = .statesAnswer(token: w[0], states: states, last: w[1] >> 8 == 1)
        }
    }

    // MARK: Bytes in words

    static func put(_ name: Name, label: UInt64, into m: inout ChannelMessage) {
        m.words[0] = label | UInt64(name.bytes.count) << 32
        put(name.bytes[...], at: 1, into: &m)
    }

    /// Bytes little-endian from word `first` on.
    static func put(_ bytes: ArraySlice<UInt8>, at first: Int, into m: inout ChannelMessage) {
        for (i, byte) in bytes.enumerated() {
            m.words[first + i / 8] |= UInt64(byte) << UInt64((i % 8) * 8)
        }
    }

    /// `count` bytes from word `first` on, or nil if `count` exceeds `capacity` or any
    /// byte past `count` within `capacity` is not zero (a canonical message has none).
    static func bytes(_ w: InlineArray<7, UInt64>, at first: Int, count: Int, capacity: Int) -> [UInt8]? {
        guard count <= capacity else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for i in 0..<capacity {
            let byte = UInt8(truncatingIfNeeded: w[first + i / 8] >> UInt64((i % 8) * 8))
            if i < count { bytes.append(byte) } else if byte != 0 { return nil }
        }
        return bytes
    }
}

/// One domain's state in a `statesAnswer`: its number on the answering core.
public struct DomainStateEntry: Equatable, Sendable {
    public var local: LocalDomainNumber
    public var state: DomainRunState
    public init(local: LocalDomainNumber, state: DomainRunState) { (self.local, self.state) = (local, state) }
}
