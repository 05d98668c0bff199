import Basics
import CoreTestSupport
import Memory


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
