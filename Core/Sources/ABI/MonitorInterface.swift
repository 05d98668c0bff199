// What a domain asks its core's monitor, and what comes back: same-core messages of
// three words on the monitor's service endpoint (`InitialSlot.monitor`, a copy badged
// with the domain's id, so the monitor knows who asks). A domain's first request,
// `hello`, carries the endpoint the monitor replies on; `register` carries the endpoint
// to register. Declared once here for the user library (which sends requests) and the
// monitor (which answers them).
//
//     word 0: the request's kind (bits 0–7) | its id (bits 8–31) | a number (bits 32–63:
//             the core for ping and spawn, the piece's length for an argument piece)
//     words 1, 2: a name of up to 16 bytes, NUL-padded (register, unregister, lookup,
//             spawn's program, an argument piece), or a domain id (kill)
//
// A reply: word 0 the status | the id << 8, words 1 and 2 its values. A lookup of a
// name whose owner runs on the asker's core carries a copy of the owner's endpoint.

/// A request to the monitor.
public enum MonitorRequest: Equatable, Sendable {
    /// The endpoint this request carries is where the monitor sends this domain's
    /// replies from now on (the user library's first request).
    case hello
    /// Is core `core`'s monitor there? Its own monitor asks it over their ring.
    case ping(core: Int)
    /// Give `name` to the asking domain, system-wide, with the endpoint the request
    /// carries (which others on this core then get from a lookup).
    case register(name: [UInt8])
    case unregister(name: [UInt8])
    /// Who holds `name`: reply values (owner's domain id, its endpoint token).
    case lookup(name: [UInt8])
    /// Up to 16 more bytes of the arguments of the asking domain's next spawn.
    case argumentPiece([UInt8])
    /// Start `program` on `core` with the arguments sent before it in pieces: reply
    /// value 0 the new domain's system-wide id.
    case spawn(program: [UInt8], core: Int)
    /// Stop the domain with this system-wide id, on whatever core it runs.
    case kill(domain: UInt64)
    /// A channel to the holder of `name`: reply values (owner's id, `BindingKind`),
    /// with the owner's endpoint (same core) or the channel's page (another core).
    case bind(name: [UInt8])
    /// Is the domain with this system-wide id still running? (From the replica of the
    /// domain table: a domain that ended is gone from it once its core's broadcast came.)
    /// Reply values: its program's name, up to 16 bytes (`NameWords`).
    case alive(domain: UInt64)
    /// Does the domain with this system-wide id run or sleep? Its core's monitor asks
    /// its kernel. Reply value: its `DomainRunState`.
    case state(domain: UInt64)
    /// Print this monitor's replica of the domain table with each domain's state
    /// (`printDomains`: the monitors ask every other monitor for the states on its core;
    /// a state a silent monitor did not give shows as `?`) or the name table
    /// (`printNames`) on the console, one line each: the shell's `ps` and `names`.
    case printDomains
    case printNames
    /// Print what this monitor counted and dropped (bad ring messages by kind, and what
    /// its own side dropped) on the console: `names counters`.
    case printCounters
    /// Answer when the domain with this system-wide id ends: reply values
    /// `DomainEnd.words` (`noSuchDomain` at once if it is neither running nor among
    /// the recent ends the monitor remembers).
    case awaitEnd(domain: UInt64)
    /// Print this monitor's replica of the knowledge base (`names skb`); or return its
    /// digest (`KnowledgeEncoding.digest` of the encoded base) and generation as the
    /// reply's values. `noKnowledge` while the replica has not arrived.
    case printKnowledge
    case knowledgeDigest
    /// Device capabilities, from the bootstrap core's monitor (which holds the roots;
    /// another core's answers `noSuchCore`): I/O ports `base ..< base + count`, or ISA
    /// IRQ `irq`, as the reply's capability (words 1 and 2: base and count, or the IRQ).
    case ioPorts(base: UInt64, count: UInt64)
    case interrupt(irq: UInt64)
    /// Device memory `base ..< base + bytes` (whole pages: a BAR, or part of one) from
    /// the bootstrap core's monitor, as the reply's capability (a device frame).
    case deviceMemory(base: UInt64, bytes: UInt64)
    /// Capabilities across cores (docs/capabilities.md). `allocate`: RAM of at most
    /// `MemoryService.pieceBytes` from this core's memory service, as the reply's
    /// capability (values: base, size); `free` (carrying it) gives it back, revoking
    /// every copy and descendant on every core. `memoryStatus`: the service's free and
    /// total bytes.
    case allocate(bytes: UInt64)
    case free
    case memoryStatus
    /// Copy the capability the request carries (RAM from a memory service, or a frame
    /// made from it by `retypeCapability`) to the domain with this system-wide id, on
    /// any core; answered once it waits in that domain's monitor (values: its object's
    /// base and size).
    case sendCapability(domain: UInt64)
    /// The next capability that came for this domain (`source` 0: sent by a domain; else
    /// the id of this domain's `retypeCapability` request), as the reply's capability
    /// (values: base, size); `timedOut` if none comes within the monitor's patience.
    case receiveCapability(source: UInt32)
    /// The copy of the object `type` at `base` of `size` bytes that came for this domain
    /// (how a `Connection` takes the capability a message carried): from its mailbox, or
    /// the domain's own copy if it already holds one; `noSuchCapability` if neither (it
    /// was revoked on the way). No waiting: the sender's `sendCapability` returned only
    /// once the copy waited here.
    case receiveCopy(type: CapabilityType, base: UInt64, size: UInt64)
    /// Revoke the carried capability: every other copy and every descendant, on every
    /// core, with their mappings. The reply carries the one copy left.
    case revokeCapability
    /// Retype the carried RAM into `count` equal frames (refused while it has
    /// descendants anywhere); they then come by `receiveCapability(source: id)`.
    case retypeCapability(count: Int)
    /// A dispatcher of the asking domain on `core`, in its address space, with the page
    /// mapped writable at `frameAddress` as its dispatcher frame (which the library
    /// filled: upcall entries and stack, disabled): reply value 0 the new dispatcher's
    /// system-wide id (docs/spanning.md).
    case span(core: Int, frameAddress: UInt64)
    /// Page `page` of the boot image's file `name` (`www/index.html`: User/Files), written
    /// into the 4 KiB frame the request carries (the asker's; it keeps its own copy),
    /// the rest of the page zeroed: reply value 0 the file's size in bytes.
    /// `noSuchName` if there is no such file, `badAddress` for a page past its end or a
    /// capability that is no writable 4 KiB frame.
    case bootFile(name: [UInt8], page: Int)
    /// The core a long-lived service goes to when its starter does not say, as this
    /// monitor's replica of the knowledge base picks it (`ServicePlacement`): reply value
    /// 0. `noKnowledge` while the replica has not arrived.
    case serviceCore

    /// The most bytes of a name in a request.
    public static let nameBytes = 16

    enum Kind: UInt64 {
        case ping = 1, register, unregister, lookup, argumentPiece, spawn, kill, hello, bind, alive, printDomains, printNames
        case awaitEnd, printKnowledge, knowledgeDigest
        case ioPorts, interrupt, printCounters, state
        case allocate, free, memoryStatus, sendCapability, receiveCapability, revokeCapability, retypeCapability
        case receiveCopy, deviceMemory, span, bootFile, serviceCore
    }

    /// The three words of request `id` (24 bits of it are sent).
    public func words(id: UInt32) -> (UInt64, UInt64, UInt64) {
        func head(_ kind: Kind, _ number: Int = 0) -> UInt64 {
            kind.rawValue | UInt64(id & 0xFF_FFFF) << 8 | UInt64(UInt32(truncatingIfNeeded: number)) << 32
        }
        switch self {
        case .hello: return (head(.hello), 0, 0)
        case .ping(let core): return (head(.ping, core), 0, 0)
        case .register(let name): return Self.withName(head(.register), name)
        case .unregister(let name): return Self.withName(head(.unregister), name)
        case .lookup(let name): return Self.withName(head(.lookup), name)
        case .argumentPiece(let bytes): return Self.withName(head(.argumentPiece, bytes.count), bytes)
        case .spawn(let program, let core): return Self.withName(head(.spawn, core), program)
        case .kill(let domain): return (head(.kill), domain, 0)
        case .bind(let name): return Self.withName(head(.bind), name)
        case .alive(let domain): return (head(.alive), domain, 0)
        case .state(let domain): return (head(.state), domain, 0)
        case .printDomains: return (head(.printDomains), 0, 0)
        case .printCounters: return (head(.printCounters), 0, 0)
        case .printNames: return (head(.printNames), 0, 0)
        case .awaitEnd(let domain): return (head(.awaitEnd), domain, 0)
        case .printKnowledge: return (head(.printKnowledge), 0, 0)
        case .knowledgeDigest: return (head(.knowledgeDigest), 0, 0)
        case .ioPorts(let base, let count): return (head(.ioPorts), base, count)
        case .interrupt(let irq): return (head(.interrupt), irq, 0)
        case .deviceMemory(let base, let bytes): return (head(.deviceMemory), base, bytes)
        case .allocate(let bytes): return (head(.allocate), bytes, 0)
        case .free: return (head(.free), 0, 0)
        case .memoryStatus: return (head(.memoryStatus), 0, 0)
        case .sendCapability(let domain): return (head(.sendCapability), domain, 0)
        case .receiveCapability(let source): return (head(.receiveCapability, Int(source)), 0, 0)
        case .receiveCopy(let type, let base, let size): return (head(.receiveCopy, Int(type.rawValue)), base, size)
        case .revokeCapability: return (head(.revokeCapability), 0, 0)
        case .retypeCapability(let count): return (head(.retypeCapability, count), 0, 0)
        case .span(let core, let frameAddress): return (head(.span, core), frameAddress, 0)
        case .bootFile(let name, let page): return Self.withName(head(.bootFile, page), name)
        case .serviceCore: return (head(.serviceCore), 0, 0)
        }
    }

    static func withName(_ head: UInt64, _ bytes: [UInt8]) -> (UInt64, UInt64, UInt64) {
        let words = NameWords.pack(bytes)
        return (head, words.0, words.1)
    }

    /// The bytes of words 1 and 2, up to the first NUL (or `length` of them).
    static func bytes(_ words: [UInt64], length: Int? = nil) -> [UInt8] {
        NameWords.unpack((words[1], words[2]), length: length)
    }

    /// The request in `words`, and its id; nil if it is not one (the monitor answers
    /// `unknownRequest`).
    public static func decode(_ words: [UInt64]) -> (request: MonitorRequest, id: UInt32)? {
        guard words.count == MessageLayout.words, let kind = Kind(rawValue: words[0] & 0xFF) else { return nil }
        let id = UInt32(truncatingIfNeeded: words[0] >> 8) & 0xFF_FFFF
        let number = Int(words[0] >> 32)
        switch kind {
        case .hello: return (.hello, id)
        case .ping: return (.ping(core: number), id)
        case .register, .unregister, .lookup, .spawn, .bind, .bootFile:
            let name = bytes(words)
            guard !name.isEmpty else { return nil }
            switch kind {
            case .bootFile: return (.bootFile(name: name, page: number), id)
            case .register: return (.register(name: name), id)
            case .unregister: return (.unregister(name: name), id)
            case .lookup: return (.lookup(name: name), id)
            case .bind: return (.bind(name: name), id)
            default: return (.spawn(program: name, core: number), id)
            }
        case .argumentPiece:
            guard number <= nameBytes else { return nil }
            return (.argumentPiece(bytes(words, length: number)), id)
        case .kill: return (.kill(domain: words[1]), id)
        case .alive: return (.alive(domain: words[1]), id)
        case .state: return (.state(domain: words[1]), id)
        case .printDomains: return (.printDomains, id)
        case .printCounters: return (.printCounters, id)
        case .printNames: return (.printNames, id)
        case .awaitEnd: return (.awaitEnd(domain: words[1]), id)
        case .printKnowledge: return (.printKnowledge, id)
        case .knowledgeDigest: return (.knowledgeDigest, id)
        case .serviceCore: return (.serviceCore, id)
        case .ioPorts: return (.ioPorts(base: words[1], count: words[2]), id)
        case .interrupt: return (.interrupt(irq: words[1]), id)
        case .deviceMemory: return (.deviceMemory(base: words[1], bytes: words[2]), id)
        case .allocate: return (.allocate(bytes: words[1]), id)
        case .free: return (.free, id)
        case .memoryStatus: return (.memoryStatus, id)
        case .sendCapability: return (.sendCapability(domain: words[1]), id)
        case .receiveCapability: return (.receiveCapability(source: UInt32(truncatingIfNeeded: words[0] >> 32)), id)
        case .receiveCopy:
            guard let type = CapabilityType(rawValue: UInt8(truncatingIfNeeded: number)), number >> 8 == 0 else { return nil }
            return (.receiveCopy(type: type, base: words[1], size: words[2]), id)
        case .revokeCapability: return (.revokeCapability, id)
        case .retypeCapability: return (.retypeCapability(count: number), id)
        case .span: return (.span(core: number, frameAddress: words[1]), id)
        }
    }
}

/// Up to `MonitorRequest.nameBytes` bytes of a name in two words, byte 0 lowest,
/// NUL-padded: how names travel in requests and replies.
public enum NameWords {
    public static func pack(_ bytes: [UInt8]) -> (UInt64, UInt64) {
        var words: (UInt64, UInt64) = (0, 0)
        for (index, byte) in bytes.prefix(MonitorRequest.nameBytes).enumerated() {
            if index < 8 { words.0 |= UInt64(byte) << (8 * UInt64(index)) } else { words.1 |= UInt64(byte) << (8 * UInt64(index - 8)) }
        }
        return words
    }

    /// The bytes up to the first NUL, or exactly `length` of them.
    public static func unpack(_ words: (UInt64, UInt64), length: Int? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        for index in 0..<min(length ?? MonitorRequest.nameBytes, MonitorRequest.nameBytes) {
            let byte = UInt8(truncatingIfNeeded: (index < 8 ? words.0 : words.1) >> (8 * UInt64(index % 8)))
            if length == nil && byte == 0 { break }
            bytes.append(byte)
        }
        return bytes
    }
}

/// How the monitor answered.
public enum MonitorStatus: UInt64, CaseIterable, Sendable, Error, CustomStringConvertible {
    case success = 0
    /// The request's words make no request.
    case unknownRequest
    /// It names a core the machine does not have, or whose monitor has no ring.
    case noSuchCore
    /// Another monitor did not answer within the monitor's bound.
    case timedOut
    /// The monitor has too many requests in flight; ask again later.
    case busy
    /// This domain holds no endpoint of a monitor (the monitor itself, or a core
    /// without one): said by the user library, never by a monitor.
    case noMonitor
    /// Another domain holds the name.
    case nameTaken
    /// No domain holds the name.
    case noSuchName
    /// The name is another domain's; or (free, revoke of RAM) the memory is another
    /// core's memory service's, which alone takes it back.
    case notOwner
    /// No such domain is running.
    case noSuchDomain
    /// The boot image has no such program.
    case noSuchProgram
    /// The core could not build the domain.
    case outOfResources
    /// The arguments are longer than a spawn carries.
    case argumentsTooLong
    /// The monitor's replica of the knowledge base has not arrived (yet).
    case noKnowledge
    /// The ports or interrupt asked for lie outside the machine's, or some of them are
    /// given out already.
    case unavailable
    /// The capability named is not one the monitor knows (not RAM from a memory service
    /// or a frame made from it through the monitor, or it went meanwhile).
    case noSuchCapability
    /// Retype: the RAM has descendants somewhere; send: it was retyped on this core
    /// without the monitor, so other cores could not know its descendants.
    case hasDescendants
    /// It was revoked while the request waited.
    case revoked
    /// Retype into a count that does not cut whole pages, or of a frame.
    case notRetypeable
    /// The memory service has no free memory of that size.
    case outOfMemory
    /// The domain has a dispatcher on that core already.
    case alreadySpanned
    /// The address names no page the domain has mapped writable (span's frame).
    case badAddress

    public var description: String {
        switch self {
        case .success: return "success"
        case .unknownRequest: return "unknownRequest"
        case .noSuchCore: return "noSuchCore"
        case .timedOut: return "timedOut"
        case .busy: return "busy"
        case .noMonitor: return "noMonitor"
        case .nameTaken: return "nameTaken"
        case .noSuchName: return "noSuchName"
        case .notOwner: return "notOwner"
        case .noSuchDomain: return "noSuchDomain"
        case .noSuchProgram: return "noSuchProgram"
        case .outOfResources: return "outOfResources"
        case .argumentsTooLong: return "argumentsTooLong"
        case .noKnowledge: return "noKnowledge"
        case .unavailable: return "unavailable"
        case .noSuchCapability: return "noSuchCapability"
        case .hasDescendants: return "hasDescendants"
        case .revoked: return "revoked"
        case .notRetypeable: return "notRetypeable"
        case .outOfMemory: return "outOfMemory"
        case .alreadySpanned: return "alreadySpanned"
        case .badAddress: return "badAddress"
        }
    }
}

/// A reply from the monitor.
public struct MonitorReply: Equatable, Sendable {
    public var status: MonitorStatus
    public var id: UInt32
    public var values: (UInt64, UInt64)

    public init(status: MonitorStatus, id: UInt32, values: (UInt64, UInt64) = (0, 0)) {
        self.status = status
        self.id = id
        self.values = values
    }

    public var words: (UInt64, UInt64, UInt64) { (status.rawValue | UInt64(id & 0xFF_FFFF) << 8, values.0, values.1) }

    /// The reply in `words`; nil if it is not one.
    public init?(words: [UInt64]) {
        guard words.count == MessageLayout.words, let status = MonitorStatus(rawValue: words[0] & 0xFF) else { return nil }
        self.init(status: status, id: UInt32(truncatingIfNeeded: words[0] >> 8) & 0xFF_FFFF, values: (words[1], words[2]))
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.status == b.status && a.id == b.id && a.values.0 == b.values.0 && a.values.1 == b.values.1
    }
}

/// How a domain ended, as the monitors tell each other and a domain that awaits it.
public enum DomainEnd: Equatable, Sendable, CustomStringConvertible {
    /// It called exit with `status`.
    case exited(status: Int64)
    /// The kernel stopped it (a fault, a kill).
    case stopped

    public var description: String {
        switch self {
        case .exited(let status): return "exited with status \(status)"
        case .stopped: return "stopped"
        }
    }

    /// Two words: 1 and the status for an exit, 2 and 0 for a stop.
    public var words: (UInt64, UInt64) {
        switch self {
        case .exited(let status): return (1, UInt64(bitPattern: status))
        case .stopped: return (2, 0)
        }
    }

    /// The end in `words`; nil if they are not one.
    public init?(words: (UInt64, UInt64)) {
        switch words {
        case (1, let status): self = .exited(status: Int64(bitPattern: status))
        case (2, 0): self = .stopped
        default: return nil
        }
    }
}

/// What a bind's reply carries.
public enum BindingKind: UInt64, Sendable {
    /// The owner runs on the asker's core: a copy of its endpoint (same-core messages).
    case endpoint = 0
    /// The owner runs on another core: a page of two rings, the client's end.
    case channel
}

/// The message a server's registered endpoint gets when a domain on another core binds
/// to it: word 0 `marker`, word 1 the client's system-wide id; the capability is the
/// channel's page (the server's end of its rings).
public enum BindOffer {
    public static let marker: UInt64 = 0x4249_4E44_4F46_4652                  // "BINDOFFR"
}

/// The memory service every monitor runs for its core's domains: RAM in pieces of a fixed
/// size from a pool its kernel grants at start (docs/capabilities.md, "Memory service").
public enum MemoryService {
    public static let pieceBytes: UInt64 = 64 * 1024
    /// The pool each core's monitor asks its kernel for (less on a core short of memory).
    public static let poolBytes: UInt64 = 1024 * 1024
}
