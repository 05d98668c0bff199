// The small typed values the monitors' protocols speak in: domain ids, names, endpoint
// tokens, request ids, tickets, and the statuses a request can end with. Each wraps one
// integer or byte string so that a core number is never passed where a domain number
// belongs.
import ABI
import Basics

/// A domain's number on its own core (given by that core's monitor and CPU driver).
public struct LocalDomainNumber: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// A domain's system-wide id: the core that runs it and its number on that core. The
/// core part is what lets any monitor route a request about the domain to its owner.
public struct DomainID: Hashable, Comparable, Sendable {
    public var core: CoreID
    public var local: LocalDomainNumber

    public init(core: CoreID, local: LocalDomainNumber) {
        self.core = core
        self.local = local
    }

    public static func < (a: Self, b: Self) -> Bool { (a.core, a.local) < (b.core, b.local) }

    /// One message word, the ABI's `SystemDomainID`.
    public var word: UInt64 { SystemDomainID(core: core.rawValue, local: local.rawValue).rawValue }

    /// The id in `word`, or nil if it names a core outside a system of `coreCount` (bits
    /// above the core's included).
    public init?(word: UInt64, coreCount: Int) {
        guard word >> 32 < UInt64(min(coreCount, 1 << 16)) else { return nil }
        let id = SystemDomainID(rawValue: word)
        self.init(core: CoreID(id.core), local: LocalDomainNumber(id.local))
    }
}

/// A service or program name: 1 to 32 bytes, compared byte by byte. Names travel as
/// bytes (no String in messages), so any byte is allowed.
public struct Name: Hashable, Comparable, Sendable {
    public static let maximumLength = 32
    public let bytes: [UInt8]

    /// Nil for an empty name or one longer than `maximumLength`.
    public init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, bytes.count <= Self.maximumLength else { return nil }
        self.bytes = bytes
    }

    public init?(_ text: String) { self.init(Array(text.utf8)) }

    public static func < (a: Self, b: Self) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// The core whose monitor decides who holds this name: FNV-1a of the bytes, modulo
    /// the core count. Every monitor computes the same home from the name alone, so no
    /// table of homes needs agreeing on.
    public func home(coreCount: Int) -> CoreID {
        home(among: (0..<max(coreCount, 1)).map { CoreID($0) })
    }

    /// The same over the cores that run monitors (a core that never started has none,
    /// and cannot decide anything): every monitor is given the same list at its start.
    public func home(among cores: [CoreID]) -> CoreID {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return cores.isEmpty ? CoreID(0) : cores[Int(hash % UInt64(cores.count))]
    }
}

/// What the guest side uses to reach a registered endpoint. The monitors only store and
/// copy it; its meaning belongs to the guest.
public struct EndpointToken: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
}

/// The guest side's name for one local request; the monitor answers with it and
/// interprets it no further. The guest keeps it unique among its requests in flight.
public struct RequestID: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
}

/// A monitor's number for one request it sent to another monitor; the answer carries it
/// back. Each monitor counts its tickets up from 1, so a ticket below the next one was
/// really issued (a late answer), and one at or above it never was (a stray answer).
/// Ticket 0 asks for no answer.
public struct Ticket: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public static let noAnswer = Ticket(0)
}

/// The monitor's number for a spawn it asked its guest side to carry out; the guest
/// reports the outcome with it.
public struct SpawnID: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
}

/// Which publication of the knowledge base a replica holds: the source counts them from
/// 1, so a later one replaces an earlier one and a repeat of the same one is stale.
public struct KnowledgeGeneration: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    /// Before the first publication; never sent.
    public static let none = KnowledgeGeneration(0)
    public var next: KnowledgeGeneration { KnowledgeGeneration(rawValue &+ 1 == 0 ? 1 : rawValue &+ 1) }
}

/// The monitor's clock: any monotonically increasing count (timer ticks, say).
public struct MonitorTime: RawRepresentable, Hashable, Comparable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ value: UInt64) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public func advanced(by ticks: UInt64) -> MonitorTime { MonitorTime(rawValue &+ ticks) }
}

/// Why a request failed. The raw values travel in refusal messages (0 means success
/// there, so no case is 0).
public enum MonitorError: UInt8, CaseIterable, Sendable {
    /// Another domain holds the name.
    case nameTaken = 1
    /// No domain holds the name.
    case noSuchName
    /// The name is held by a different domain.
    case notOwner
    /// The core is not in this system.
    case noSuchCore
    /// The domain is not running (never was, or has ended).
    case noSuchDomain
    /// The domain asking is not on the asking monitor's core.
    case notLocal
    /// The boot image has no such program.
    case noSuchProgram
    /// The core could not build the domain (memory, capability slots).
    case outOfResources
    /// The argument line is longer than `MonitorMessage.maximumArgumentBytes`.
    case argumentsTooLong
    /// Too many requests are in flight on this monitor; try again later.
    case busy
    /// The other monitor did not answer in time. What this leaves behind is documented
    /// per request in docs/monitors.md: a registration is released, a spawn is undone.
    case timedOut
    /// The domain has a dispatcher on that core already (Spans.swift).
    case alreadySpanned
}

/// What a local request ends with.
public enum MonitorAnswer: Equatable, Sendable {
    case registered
    case unregistered
    case found(owner: DomainID, endpoint: EndpointToken)
    case spawned(DomainID)
    case killed
    case failed(MonitorError)
}
