// The system knowledge base (SKB): what Swordfish knows about the machine it runs on,
// and the questions the monitors and protocols ask about it.
//
// Barrelfish kept these facts in a Prolog system and asked it queries over a channel.
// Ours is a plain value: the bootstrap core builds it from each core's CPUID record,
// the MADT and SRAT, and the measured core-to-core round trips, then gives every
// monitor a copy. Since it is a value with no references, a copy is a snapshot, which
// is what a multikernel wants: each core reads its own replica and nobody shares it.
//
// Facts are kept as measured or reported. Queries never trap on a core they do not
// know; they answer nil or an empty list.

import Basics

/// Everything known about one core.
public struct CoreFacts: Equatable, Sendable {
    public var core: CoreID
    public var apicID: APICID
    public var place: CorePlace
    public var caches: [CacheFact]
    /// The SRAT proximity domain, or nil when the machine has no SRAT (or it does not
    /// list this core).
    public var numaNode: Int?

    public init(core: CoreID, apicID: APICID, place: CorePlace, caches: [CacheFact], numaNode: Int? = nil) {
        self.core = core
        self.apicID = apicID
        self.place = place
        self.caches = caches
        self.numaNode = numaNode
    }

    /// The facts CPUID gave this core.
    public init(core: CoreID, topology: CPUIDTopology, numaNode: Int? = nil) {
        self.init(core: core, apicID: topology.apicID, place: topology.place, caches: topology.caches, numaNode: numaNode)
    }
}

/// Core-to-core round-trip times in cycles, `count` × `count`, stored row-major in one
/// flat array. Entry (a, b) is a message from a to b and the reply back; the two
/// directions are kept apart because measurements can differ.
public struct LatencyMatrix: Equatable, Sendable {
    /// Marks an entry that was never measured.
    static let notMeasured = UInt64.max

    public let count: Int
    private var cycles: [UInt64]

    /// A matrix with nothing measured. A negative count is taken as zero.
    public init(count: Int) {
        self.count = max(0, count)
        cycles = [UInt64](repeating: Self.notMeasured, count: self.count * self.count)
    }

    private func index(_ from: CoreID, _ to: CoreID) -> Int? {
        guard from.rawValue >= 0, from.rawValue < count, to.rawValue >= 0, to.rawValue < count else { return nil }
        return from.rawValue * count + to.rawValue
    }

    /// The round trip from `from` to `to` and back, or nil if not measured (or either
    /// core is out of range). Setting nil forgets a measurement; setting a core out of
    /// range does nothing.
    public subscript(from: CoreID, to: CoreID) -> UInt64? {
        get {
            guard let i = index(from, to), cycles[i] != Self.notMeasured else { return nil }
            return cycles[i]
        }
        set { set(from: from, to: to, newValue) }
    }

    /// As the subscript's setter. A measurement of `UInt64.max` is stored as one less,
    /// since that value marks "not measured".
    public mutating func set(from: CoreID, to: CoreID, _ roundTrip: UInt64?) {
        guard let i = index(from, to) else { return }
        cycles[i] = roundTrip.map { min($0, Self.notMeasured - 1) } ?? Self.notMeasured
    }

    /// Sets both directions.
    public mutating func setBothWays(_ a: CoreID, _ b: CoreID, _ roundTrip: UInt64?) {
        set(from: a, to: b, roundTrip)
        set(from: b, to: a, roundTrip)
    }

    /// The largest measured entry, or nil if nothing is measured.
    public var largestMeasured: UInt64? {
        var largest: UInt64? = nil
        for value in cycles where value != Self.notMeasured { largest = max(largest ?? 0, value) }
        return largest
    }

    /// The smallest measured entry between two different cores, or nil.
    public var smallestMeasuredBetweenCores: UInt64? {
        var smallest: UInt64? = nil
        for from in 0..<count {
            for to in 0..<count where to != from {
                let value = cycles[from * count + to]
                if value != Self.notMeasured { smallest = min(smallest ?? value, value) }
            }
        }
        return smallest
    }
}

/// The machine's facts and the queries over them.
public struct KnowledgeBase: Equatable, Sendable {
    /// One entry per core, sorted by core ID. Core IDs are expected to be 0..<count, as
    /// `CoreList` numbers them; queries look cores up by ID, not by position.
    public private(set) var cores: [CoreFacts]
    /// Measured round trips, indexed by core ID.
    public var latency: LatencyMatrix

    /// `latency` defaults to an empty matrix sized for the largest core ID.
    public init(cores: [CoreFacts], latency: LatencyMatrix? = nil) {
        self.cores = cores.sorted { $0.core < $1.core }
        let size = (self.cores.last?.core.rawValue ?? -1) + 1
        self.latency = latency ?? LatencyMatrix(count: size)
    }

    /// The facts about `core`, or nil if the SKB does not know it.
    public func facts(of core: CoreID) -> CoreFacts? {
        position(of: core).map { cores[$0] }
    }

    /// Whether the base has facts of `core` (without copying them out).
    public func knows(_ core: CoreID) -> Bool { position(of: core) != nil }

    func position(of core: CoreID) -> Int? {
        let guess = core.rawValue
        if guess >= 0, guess < cores.count, cores[guess].core == core { return guess }
        return cores.firstIndex { $0.core == core }
    }

    /// Every known core ID, in order.
    public var coreIDs: [CoreID] { cores.map { $0.core } }

    // MARK: Queries

    /// The measured round trip from `from` to `to`, in cycles.
    public func latency(from: CoreID, to: CoreID) -> UInt64? { latency[from, to] }

    /// The package (socket) `core` is in.
    public func package(of core: CoreID) -> Int? { facts(of: core)?.place.package }

    /// The SRAT proximity domain of `core`, if known.
    public func numaNode(of core: CoreID) -> Int? { facts(of: core)?.numaNode }

    /// The distinct package numbers, ascending.
    public var packages: [Int] {
        var result: [Int] = []
        for facts in cores where !result.contains(facts.place.package) { result.append(facts.place.package) }
        return result.sorted()
    }

    /// The cores in `package`, ascending.
    public func cores(inPackage package: Int) -> [CoreID] {
        cores.filter { $0.place.package == package }.map { $0.core }
    }

    /// The cores that share a level-`level` data or unified cache with `core`, `core`
    /// itself included, ascending. Empty if `core` is unknown or has no such cache.
    /// (Instruction caches are left out: sharing one says nothing about where data
    /// written by one core can be read cheaply by another.)
    public func coresSharingCache(with core: CoreID, level: Int) -> [CoreID] {
        guard let mine = facts(of: core)?.caches.filter({ $0.level == level && $0.kind != .instruction }),
              !mine.isEmpty
        else { return [] }
        return cores.filter { other in other.caches.contains { mine.contains($0) } }.map { $0.core }
    }

    /// Every other core, nearest (smallest measured round trip from `core`) first; ties
    /// and unmeasured cores (last) in ID order.
    public func nearestCores(to core: CoreID) -> [CoreID] {
        let others = coreIDs.filter { $0 != core }
        return sortedByLatency(from: core, others, farthestFirst: false)
    }

    /// Records the SRAT's proximity domains: each core whose APIC ID is listed gets that
    /// domain, the others none.
    public mutating func assignNUMANodes(_ affinities: [(apicID: APICID, domain: UInt32)]) {
        for i in cores.indices {
            let match = affinities.first { $0.apicID == cores[i].apicID }
            cores[i].numaNode = match.map { Int($0.domain) }
        }
    }

    /// `candidates` ordered by round trip from `core`: ascending, or descending when
    /// `farthestFirst`. Unmeasured pairs count as farther than any measured one; equal
    /// latencies keep ID order either way.
    func sortedByLatency(from core: CoreID, _ candidates: [CoreID], farthestFirst: Bool) -> [CoreID] {
        candidates.sorted { a, b in
            let la = latency[core, a] ?? UInt64.max, lb = latency[core, b] ?? UInt64.max
            if la != lb { return farthestFirst ? la > lb : la < lb }
            return a < b
        }
    }
}
