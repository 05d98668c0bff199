// Where a core sits in the machine, from the CPUID values it read on itself.
//
// Each core runs CPUID at boot and hands the raw registers to the knowledge base; this
// file turns them into a package / core / thread triple and, for each cache, a number
// that is the same on exactly the cores sharing that cache. Decoding is pure, so it is
// tested on recorded values from real and emulated CPUs.
//
// The APIC ID is the key. Intel's topology enumeration (SDM Vol. 2A, CPUID leaf 0BH and
// leaf 1FH; Vol. 3A §10.9 "Topology enumeration") splits it into bit fields:
//
//     APIC ID = [ package | core (and module, die…) | thread ]
//                          ^ packageShift            ^ threadShift
//
// The widths come from the best source available, in this order:
//   1. Leaf 1FH or 0BH, "extended topology": each subleaf gives a level type and the
//      shift to the next level's ID; the SMT level gives `threadShift`, the last valid
//      level `packageShift`. The x2APIC ID is in EDX.
//   2. Legacy (no usable leaf 0BH, e.g. older CPUs and some QEMU TCG models): leaf 1
//      EBX[23:16] is the number of logical processor IDs a package reserves (valid only
//      when leaf 1 EDX.HTT is set), so `packageShift` = bits for it; leaf 4 EAX[31:26]
//      + 1 is the number of core IDs, and the thread field is what is left. Without
//      leaf 4 every logical processor is taken to be a core (AMD CPUs report no leaf 4,
//      and on Intel parts without it there is nothing better to go on).
//   3. Nothing (no HTT, no leaf 1): every core is its own core in package 0, numbered by
//      its APIC ID, so queries still work and simply see one package.
//
// Caches come from leaf 4 (SDM Vol. 2A, "Deterministic Cache Parameters Leaf"; AMD's
// leaf 8000001DH has the same layout and may be stored in its place): EAX[25:14] + 1 is
// the number of logical processor IDs that share the cache, so the cores sharing it are
// those with equal `apicID >> bitsNeeded(EAX[25:14] + 1)`.
//
// CPUID values are untrusted in the sense of invariant 5: a hypervisor can report
// anything. Every field is masked to its width, shifts are clamped to 32 bits and zero
// counts are read as one, so no input traps.

import Basics

/// The four registers one CPUID instruction returns.
public struct CPUIDRegisters: Equatable, Sendable {
    public var eax: UInt32
    public var ebx: UInt32
    public var ecx: UInt32
    public var edx: UInt32

    public init(eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.eax = eax
        self.ebx = ebx
        self.ecx = ecx
        self.edx = edx
    }

    public static let zero = CPUIDRegisters(eax: 0, ebx: 0, ecx: 0, edx: 0)
}

/// The raw CPUID values one core collected on itself, as needed for topology. Nothing
/// here is interpreted; `CPUIDTopology` does that.
public struct CPUIDRecord: Equatable, Sendable {
    /// Leaf 0 EAX: the highest basic leaf the CPU implements.
    public var maxBasicLeaf: UInt32
    /// Leaf 1 EBX: [31:24] initial APIC ID, [23:16] logical processor IDs per package.
    public var leaf1EBX: UInt32
    /// Leaf 1 EDX: bit 28 (HTT) says whether leaf 1 EBX[23:16] is valid.
    public var leaf1EDX: UInt32
    /// Which leaf `extendedTopology` came from: 0x1F, 0x0B, or 0 if none was read.
    public var extendedTopologyLeaf: UInt32
    /// Leaf 1FH or 0BH subleaves 0, 1, … (the terminating subleaf, level type 0, may be
    /// included or left out).
    public var extendedTopology: [CPUIDRegisters]
    /// Leaf 4 subleaves 0, 1, … (or AMD leaf 8000001DH, same layout); the terminating
    /// subleaf (cache type 0) may be included or left out.
    public var caches: [CPUIDRegisters]

    public init(
        maxBasicLeaf: UInt32, leaf1EBX: UInt32, leaf1EDX: UInt32,
        extendedTopologyLeaf: UInt32 = 0, extendedTopology: [CPUIDRegisters] = [],
        caches: [CPUIDRegisters] = []
    ) {
        self.maxBasicLeaf = maxBasicLeaf
        self.leaf1EBX = leaf1EBX
        self.leaf1EDX = leaf1EDX
        self.extendedTopologyLeaf = extendedTopologyLeaf
        self.extendedTopology = extendedTopology
        self.caches = caches
    }

    /// At most this many subleaves are read or decoded; real CPUs use fewer than 8.
    public static let maximumSubleaves = 16

    /// Runs `cpuid(leaf, subleaf)` for every value the record holds. The kernel passes
    /// its one-line CPUID wrapper; tests pass a table. Leaf 1FH is preferred when it
    /// exists and reports a level, as the SDM advises.
    public static func collect(_ cpuid: (_ leaf: UInt32, _ subleaf: UInt32) -> CPUIDRegisters) -> CPUIDRecord {
        let maxBasic = cpuid(0, 0).eax
        guard maxBasic >= 1 else { return CPUIDRecord(maxBasicLeaf: maxBasic, leaf1EBX: 0, leaf1EDX: 0) }
        let leaf1 = cpuid(1, 0)
        var record = CPUIDRecord(maxBasicLeaf: maxBasic, leaf1EBX: leaf1.ebx, leaf1EDX: leaf1.edx)

        for leaf: UInt32 in [0x1F, 0x0B] where maxBasic >= leaf {
            let first = cpuid(leaf, 0)
            guard ExtendedLevel(first) != nil else { continue }
            record.extendedTopologyLeaf = leaf
            record.extendedTopology = [first]
            var subleaf: UInt32 = 1
            while record.extendedTopology.count < maximumSubleaves {
                let registers = cpuid(leaf, subleaf)
                guard ExtendedLevel(registers) != nil else { break }
                record.extendedTopology.append(registers)
                subleaf += 1
            }
            break
        }

        if maxBasic >= 4 {
            var subleaf: UInt32 = 0
            while record.caches.count < maximumSubleaves {
                let registers = cpuid(4, subleaf)
                guard registers.eax & 0x1F != 0 else { break }
                record.caches.append(registers)
                subleaf += 1
            }
        }
        return record
    }
}

/// A core's position: which package (socket), which core in it, which hardware thread
/// in that core. Numbers come from APIC ID fields, so they need not be dense.
public struct CorePlace: Hashable, Sendable {
    public var package: Int
    public var core: Int
    public var thread: Int

    public init(package: Int, core: Int, thread: Int) {
        self.package = package
        self.core = core
        self.thread = thread
    }
}

/// Leaf 4 EAX[4:0].
public enum CacheKind: Hashable, Sendable {
    case data, instruction, unified
}

/// One cache a core uses: cores whose facts hold the same level, kind and sharing
/// group share that cache.
public struct CacheFact: Hashable, Sendable {
    /// 1 for L1, 2 for L2, …
    public var level: Int
    public var kind: CacheKind
    /// `apicID >> shift`, where `shift` covers the APIC IDs sharing the cache.
    public var sharingGroup: UInt32

    public init(level: Int, kind: CacheKind, sharingGroup: UInt32) {
        self.level = level
        self.kind = kind
        self.sharingGroup = sharingGroup
    }
}

/// The decoded topology of one core.
public struct CPUIDTopology: Equatable, Sendable {
    /// Which CPUID information the place was derived from.
    public enum Source: Equatable, Sendable {
        /// Leaf 1FH or 0BH (the leaf number).
        case extendedTopology(leaf: UInt32)
        /// Leaf 1 EBX[23:16], refined by leaf 4 EAX[31:26] if present.
        case legacy
        /// No topology information: package 0, core = APIC ID.
        case none
    }

    public var source: Source
    /// The x2APIC ID from the extended topology leaf, else leaf 1's initial APIC ID,
    /// unless the caller supplied one.
    public var apicID: APICID
    public var place: CorePlace
    /// Number of low APIC ID bits that number threads within a core.
    public var threadShift: Int
    /// Number of low APIC ID bits below the package number.
    public var packageShift: Int
    /// Caches in leaf 4 order.
    public var caches: [CacheFact]

    /// Decodes `record`. Pass `apicID` to use the APIC ID the kernel read elsewhere
    /// (the local APIC or the MADT) instead of the one in the record.
    public init(_ record: CPUIDRecord, apicID override: APICID? = nil) {
        let hasLeaf1 = record.maxBasicLeaf >= 1
        let extended = Self.decodeExtended(record)
        let recordAPICID: UInt32 = extended?.x2apicID ?? (hasLeaf1 ? record.leaf1EBX >> 24 : 0)
        let apic = override?.rawValue ?? recordAPICID
        let cacheLeaves = record.maxBasicLeaf >= 4 ? Self.validCacheLeaves(record.caches) : []

        if let extended {
            source = .extendedTopology(leaf: record.extendedTopologyLeaf)
            threadShift = extended.threadShift
            packageShift = extended.packageShift
        } else if hasLeaf1 && record.leaf1EDX & (1 << 28) != 0 {
            source = .legacy
            let logicalIDs = (record.leaf1EBX >> 16) & 0xFF
            packageShift = bitsNeeded(logicalIDs)
            if let first = cacheLeaves.first {
                let coreIDs = (first.eax >> 26) + 1
                threadShift = max(0, packageShift - bitsNeeded(coreIDs))
            } else {
                threadShift = 0
            }
        } else {
            source = .none
            threadShift = 0
            packageShift = 0
        }

        apicID = APICID(apic)
        if source == .none {
            place = CorePlace(package: 0, core: Int(apic), thread: 0)
        } else {
            place = CorePlace(
                package: Int(field(apic, from: packageShift, to: 32)),
                core: Int(field(apic, from: threadShift, to: packageShift)),
                thread: Int(field(apic, from: 0, to: threadShift)))
        }

        var caches: [CacheFact] = []
        for leaf in cacheLeaves {
            let kind: CacheKind
            switch leaf.eax & 0x1F {
            case 1: kind = .data
            case 2: kind = .instruction
            case 3: kind = .unified
            default: continue  // reserved types: nothing known about them
            }
            let level = Int((leaf.eax >> 5) & 0x7)
            guard level != 0 else { continue }
            let sharingIDs = ((leaf.eax >> 14) & 0xFFF) + 1
            caches.append(CacheFact(level: level, kind: kind, sharingGroup: field(apic, from: bitsNeeded(sharingIDs), to: 32)))
        }
        self.caches = caches
    }

    /// Leaf 4 subleaves up to the first null (type 0) one, capped.
    private static func validCacheLeaves(_ leaves: [CPUIDRegisters]) -> [CPUIDRegisters] {
        var result: [CPUIDRegisters] = []
        for leaf in leaves.prefix(CPUIDRecord.maximumSubleaves) {
            guard leaf.eax & 0x1F != 0 else { break }
            result.append(leaf)
        }
        return result
    }

    /// The shifts from leaf 1FH/0BH, or nil if the record holds no valid level.
    private static func decodeExtended(_ record: CPUIDRecord) -> (threadShift: Int, packageShift: Int, x2apicID: UInt32)? {
        guard record.extendedTopologyLeaf != 0, record.maxBasicLeaf >= record.extendedTopologyLeaf,
              let first = record.extendedTopology.first, ExtendedLevel(first) != nil
        else { return nil }
        var threadShift: Int? = nil
        var packageShift = 0
        for registers in record.extendedTopology.prefix(CPUIDRecord.maximumSubleaves) {
            guard let level = ExtendedLevel(registers) else { break }
            if level.type == ExtendedLevel.smt && threadShift == nil { threadShift = level.shift }
            // Shifts must grow with the level; a smaller one is ignored rather than
            // allowed to make a field of negative width.
            packageShift = max(packageShift, level.shift)
        }
        return (min(threadShift ?? 0, packageShift), packageShift, first.edx)
    }
}

/// One valid subleaf of leaf 1FH/0BH (SDM Vol. 2A, "Extended Topology Enumeration
/// Leaf"): EAX[4:0] shift to the next level, EBX[15:0] logical processors at this level,
/// ECX[15:8] level type (0 invalid, 1 SMT, 2 core, 3 module, 4 tile, 5 die).
struct ExtendedLevel {
    static let smt: UInt32 = 1
    var type: UInt32
    var shift: Int

    /// nil for the terminating subleaf (type 0) and for a level that reports zero
    /// logical processors, which the SDM says software must treat as invalid.
    init?(_ registers: CPUIDRegisters) {
        type = (registers.ecx >> 8) & 0xFF
        shift = Int(registers.eax & 0x1F)
        guard type != 0, registers.ebx & 0xFFFF != 0 else { return nil }
    }
}

/// The number of bits needed to give `count` things distinct numbers: the smallest `w`
/// with 2^w >= count. 0 for counts 0 and 1; at most 32.
func bitsNeeded(_ count: UInt32) -> Int {
    var width = 0
    while width < 32 && (UInt64(1) << UInt64(width)) < UInt64(count) { width += 1 }
    return width
}

/// Bits `[low, high)` of `value`, shifted down; empty (0) if `high <= low`. Any shift in
/// 0...32 is safe.
func field(_ value: UInt32, from low: Int, to high: Int) -> UInt32 {
    let low = min(max(low, 0), 32), high = min(max(high, 0), 32)
    guard high > low else { return 0 }
    let mask = (UInt64(1) << UInt64(high - low)) - 1
    return UInt32((UInt64(value) >> UInt64(low)) & mask)
}
