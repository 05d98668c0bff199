import Basics
import Memory

/// A small deterministic generator (SplitMix64), so a failing seed replays exactly.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (slightly biased for huge ranges, which tests do not use).
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func chance(_ numerator: Int, in denominator: Int) -> Bool {
        int(in: 0...(denominator - 1)) < numerator
    }
}

/// A host buffer standing in for physical memory `[base, base + size)`.
final class SimulatedMemory {
    let base: UInt64
    let size: Int
    let buffer: UnsafeMutableRawPointer

    init(base: UInt64, size: Int) {
        self.base = base
        self.size = size
        buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Pointer = physical + virtualOffset.
    var virtualOffset: Int { Int(bitPattern: UInt(bitPattern: buffer)) &- Int(base) }

    var range: PhysicalRange { PhysicalRange(start: PhysicalAddress(base), end: PhysicalAddress(base + UInt64(size))) }

    func allocator(_ ranges: [PhysicalRange]) throws -> FrameAllocator {
        try ranges.withUnsafeBufferPointer { buffer throws(MemoryError) in
            try FrameAllocator(usable: buffer, virtualOffset: virtualOffset)
        }
    }
}

func range(_ start: UInt64, _ end: UInt64) -> PhysicalRange {
    PhysicalRange(start: PhysicalAddress(start), end: PhysicalAddress(end))
}

let mib: UInt64 = 1 << 20
let gib: UInt64 = 1 << 30
let frame: UInt64 = 4096
