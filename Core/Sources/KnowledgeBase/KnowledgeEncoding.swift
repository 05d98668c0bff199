// The knowledge base as bytes, so that core 0's kernel can hand it to its monitor and
// the monitors can send it to each other in pieces (docs/monitors.md, "Knowledge
// base"). The bytes that arrive are untrusted: decoding checks every field and every
// count before it builds anything, and answers a typed error, never a trap, for bytes
// that are short, long, lying about their counts, or inconsistent (cores out of order,
// a core outside the latency matrix, an unknown cache kind).
//
// Layout, little-endian, no padding:
//
//   magic "SKB1"          4 bytes
//   core count            UInt16 (at most `maximumCores`)
//   matrix dimension      UInt16 (at most `maximumCores`)
//   per core, by ascending core ID:
//     core ID             UInt16 (below the matrix dimension)
//     APIC ID             UInt32
//     package, core, thread  UInt32 each
//     NUMA node           UInt32 (`noNUMANode`: none)
//     cache count         UInt8 (at most `maximumCaches`)
//     per cache: level UInt8 (1…`maximumCacheLevel`), kind UInt8 (0 data, 1
//                instruction, 2 unified), sharing group UInt32
//   latency matrix        dimension² UInt64, row-major (UInt64.max: not measured)
//
// Decoding is canonical: whatever decodes encodes to the same bytes.

import Basics

/// Why bytes are not an encoded knowledge base.
public enum KnowledgeDecodingError: Error, Equatable, Sendable {
    /// The first four bytes are not "SKB1".
    case badMagic
    /// The bytes end before the counts they announce.
    case truncated
    /// More cores or a larger matrix than `KnowledgeEncoding.maximumCores`.
    case tooManyCores(Int)
    /// More caches on one core than `KnowledgeEncoding.maximumCaches`.
    case tooManyCaches(Int)
    /// Core IDs not strictly ascending (a core listed twice, or out of order).
    case coresOutOfOrder
    /// A core ID at or past the matrix dimension.
    case coreOutsideMatrix(Int)
    /// A cache level of 0 or past `KnowledgeEncoding.maximumCacheLevel`.
    case badCacheLevel(Int)
    case unknownCacheKind(Int)
    /// A place or NUMA number that does not fit (`noNUMANode` is the only large one).
    case valueOutOfRange
    /// Bytes left over after the matrix.
    case trailingBytes(Int)
}

public enum KnowledgeEncoding {
    /// "SKB1" (computed: a stored array would be a lazily initialised global).
    public static var magic: [UInt8] { [0x53, 0x4B, 0x42, 0x31] }
    /// The most cores (and the largest matrix) an encoding may carry: more than the
    /// kernel starts (its core sets hold 448), so every base it builds encodes.
    public static let maximumCores = 512
    public static let maximumCaches = 16
    public static let maximumCacheLevel = 7
    static let noNUMANode = UInt32.max
    /// The largest place or NUMA number encoded (one below `noNUMANode`).
    static let largestValue = Int(UInt32.max - 1)

    /// The encoded size of a base of `cores` cores, `caches` caches in all and a
    /// `dimension`-square matrix.
    public static func size(cores: Int, caches: Int, dimension: Int) -> Int {
        8 + cores * 23 + caches * 6 + dimension * dimension * 8
    }

    /// The largest encoding that decodes (about 2 MiB, nearly all of it the matrix).
    /// Computed: a stored static would be initialised lazily.
    public static var maximumBytes: Int { size(cores: maximumCores, caches: maximumCores * maximumCaches, dimension: maximumCores) }

    /// FNV-1a (64-bit) of `bytes`: the checksum the monitors' replication carries and
    /// the digest the guest checks compare. Not a defence against a malicious sender
    /// (monitors trust each other's code, not each other's memory); it catches pieces
    /// lost, repeated or mixed up on the way.
    public static func digest(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}

extension KnowledgeBase {
    /// The base as bytes (see KnowledgeEncoding.swift for the layout). Numbers that do
    /// not fit their field (a negative place, more than `maximumCores` cores) are
    /// clamped, and such a base does not decode back: the kernel never builds one.
    public func encoded() -> [UInt8] {
        var out = KnowledgeEncoding.magic
        out.reserveCapacity(KnowledgeEncoding.size(cores: cores.count, caches: cores.reduce(0) { $0 + $1.caches.count },
                                                   dimension: latency.count))
        func put<T: FixedWidthInteger>(_ value: T) {
            for i in 0..<MemoryLayout<T>.size { out.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
        }
        func put32(_ value: Int) { put(UInt32(clamping: min(max(value, 0), KnowledgeEncoding.largestValue))) }
        put(UInt16(clamping: cores.count))
        put(UInt16(clamping: latency.count))
        for facts in cores {
            put(UInt16(clamping: facts.core.rawValue))
            put(facts.apicID.rawValue)
            put32(facts.place.package)
            put32(facts.place.core)
            put32(facts.place.thread)
            if let node = facts.numaNode { put32(node) } else { put(KnowledgeEncoding.noNUMANode) }
            put(UInt8(clamping: facts.caches.count))
            for cache in facts.caches {
                put(UInt8(clamping: cache.level))
                put(cache.kind.code)
                put(cache.sharingGroup)
            }
        }
        for from in 0..<latency.count {
            for to in 0..<latency.count {
                put(latency[CoreID(from), CoreID(to)] ?? LatencyMatrix.notMeasured)
            }
        }
        return out
    }

    /// The base encoded in `bytes`, checked field by field (see `KnowledgeDecodingError`).
    public init(decoding bytes: [UInt8]) throws(KnowledgeDecodingError) {
        var reader = KnowledgeReader(bytes: bytes)
        guard bytes.count >= 4, Array(bytes[0..<4]) == KnowledgeEncoding.magic else { throw .badMagic }
        reader.offset = 4
        let coreCount = Int(try reader.read(UInt16.self))
        let dimension = Int(try reader.read(UInt16.self))
        guard coreCount <= KnowledgeEncoding.maximumCores else { throw .tooManyCores(coreCount) }
        guard dimension <= KnowledgeEncoding.maximumCores else { throw .tooManyCores(dimension) }
        // The smallest size these counts allow, checked before anything is built.
        guard KnowledgeEncoding.size(cores: coreCount, caches: 0, dimension: dimension) <= bytes.count else { throw .truncated }

        var cores: [CoreFacts] = []
        cores.reserveCapacity(coreCount)
        for _ in 0..<coreCount {
            let core = Int(try reader.read(UInt16.self))
            guard cores.last.map({ $0.core.rawValue < core }) ?? true else { throw .coresOutOfOrder }
            guard core < dimension else { throw .coreOutsideMatrix(core) }
            let apicID = try reader.read(UInt32.self)
            let package = try reader.readValue(), place = try reader.readValue(), thread = try reader.readValue()
            let node = try reader.read(UInt32.self)
            let numaNode: Int? = node == KnowledgeEncoding.noNUMANode ? nil : try KnowledgeReader.checked(node)
            let cacheCount = Int(try reader.read(UInt8.self))
            guard cacheCount <= KnowledgeEncoding.maximumCaches else { throw .tooManyCaches(cacheCount) }
            var caches: [CacheFact] = []
            for _ in 0..<cacheCount {
                let level = Int(try reader.read(UInt8.self))
                guard level >= 1, level <= KnowledgeEncoding.maximumCacheLevel else { throw .badCacheLevel(level) }
                let code = try reader.read(UInt8.self)
                guard let kind = CacheKind(code: code) else { throw .unknownCacheKind(Int(code)) }
                caches.append(CacheFact(level: level, kind: kind, sharingGroup: try reader.read(UInt32.self)))
            }
            cores.append(CoreFacts(core: CoreID(core), apicID: APICID(apicID),
                                   place: CorePlace(package: package, core: place, thread: thread),
                                   caches: caches, numaNode: numaNode))
        }
        var latency = LatencyMatrix(count: dimension)
        for from in 0..<dimension {
            for to in 0..<dimension {
                let value = try reader.read(UInt64.self)
                if value != LatencyMatrix.notMeasured { latency.set(from: CoreID(from), to: CoreID(to), value) }
            }
        }
        guard reader.offset == bytes.count else { throw .trailingBytes(bytes.count - reader.offset) }
        self.init(cores: cores, latency: latency)
    }
}

/// Checked little-endian reads from untrusted bytes.
private struct KnowledgeReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func read<T: FixedWidthInteger>(_ type: T.Type) throws(KnowledgeDecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard bytes.count - offset >= size else { throw .truncated }
        var value: T = 0
        for i in 0..<size { value |= T(bytes[offset + i]) << (8 * i) }
        offset += size
        return value
    }

    /// A place number: a UInt32 below `noNUMANode`.
    mutating func readValue() throws(KnowledgeDecodingError) -> Int { try Self.checked(try read(UInt32.self)) }

    static func checked(_ value: UInt32) throws(KnowledgeDecodingError) -> Int {
        guard Int(value) <= KnowledgeEncoding.largestValue else { throw .valueOutOfRange }
        return Int(value)
    }
}

extension CacheKind {
    var code: UInt8 {
        switch self {
        case .data: return 0
        case .instruction: return 1
        case .unified: return 2
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0: self = .data
        case 1: self = .instruction
        case 2: self = .unified
        default: return nil
        }
    }
}
