// The per-core block: the first page of each core's share of memory. GS.base points at
// it, so a core always finds its own allocators and state and never another core's.
// It holds the core's frame allocator and kernel heap (structs that keep their
// metadata in the memory they manage) and a reference to the core's CoreState.
//
// Layout of the page: word 0 points at the page itself (what `%gs:0` loads), the
// CoreBlock struct at offset 64, and at offset 2048 the list of ranges the frame
// allocator was given.
import Arch
import Basics
import KernelMessages
import Memory
import Trace

struct CoreBlock {
    var frames: FrameAllocator
    var heap: Heap
    /// Unmanaged reference to this core's CoreState, nil until it exists.
    var state: UnsafeMutableRawPointer?
    /// This core's stack, for bounds-checked backtraces.
    var stack: Range<UInt64>
    /// The CoreID number, readable by the panic path without touching the heap.
    var coreNumber: Int
    /// This core's trace buffer, made at the first `trace on`, and whether it records.
    var trace: TraceBuffer? = nil
    var tracing = false
    /// Set once the panic path began telling the other cores this one stops.
    var stopping = false

    static let structOffset = 64
    static let rangesOffset = 2048
    static let maxRanges = (4096 - rangesOffset) / MemoryLayout<PhysicalRange>.stride

    /// The running core's block, nil before it installed one (early boot only).
    @inline(__always) static var current: UnsafeMutablePointer<CoreBlock>? {
        guard let page = CoreBlockRegister.current else { return nil }
        return (page + structOffset).assumingMemoryBound(to: CoreBlock.self)
    }

    /// Sets up this core's block from its share of memory and points GS at it. It
    /// must not allocate: this is what makes allocation possible. The block takes the
    /// first page of the share; `stack` (if inside the share) stays out of the allocator.
    static func install(core: CoreID, share: UnsafeBufferPointer<PhysicalRange>, stack: Range<UInt64>) -> UnsafeMutablePointer<CoreBlock>? {
        guard let first = share.first, first.size >= 2 * FrameAllocator.frameSize,
              share.count <= maxRanges else { return nil }
        let page = UnsafeMutableRawPointer(bitPattern: UInt(first.start.rawValue))!
        _ = page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        let ranges = (page + rangesOffset).assumingMemoryBound(to: PhysicalRange.self)
        var count = 0
        for range in share {
            var usable = range
            if usable.start == first.start { usable.start = usable.start + FrameAllocator.frameSize }
            if usable.contains(PhysicalAddress(stack.lowerBound)) || usable.end == PhysicalAddress(stack.upperBound) {
                usable.end = PhysicalAddress(stack.lowerBound)
            }
            if !usable.isEmpty { ranges[count] = usable; count += 1 }
        }
        let frames: FrameAllocator
        do {
            frames = try FrameAllocator(usable: UnsafeBufferPointer(start: ranges, count: count), virtualOffset: 0)
        } catch {
            return nil
        }
        let block = (page + structOffset).assumingMemoryBound(to: CoreBlock.self)
        block.initialize(to: CoreBlock(frames: frames, heap: Heap(), state: nil, stack: stack, coreNumber: core.rawValue))
        CoreBlockRegister.install(page)
        return block
    }
}

// MARK: - The allocation hooks of the Embedded Swift runtime

/// Allocations made by the bootstrap core before its heap exists (parsing boot
/// information, planning memory) come from a bump arena in the kernel image. Only the
/// bootstrap core runs then; application cores install their block before they
/// allocate anything. Arena memory is never freed: what it holds is boot data that is
/// read-only afterwards.
enum BootArena {
    nonisolated(unsafe) static var next: UInt = 0

    static func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer? {
        let arena = KernelImage.bootArena
        let end = arena.upperBound
        if next == 0 { next = arena.lowerBound }
        let align = UInt(max(alignment, 16))
        let base = (next + align - 1) & ~(align - 1)
        guard byteCount >= 0, base <= end, UInt(byteCount) <= end - base else { return nil }
        next = base + UInt(byteCount)
        return UnsafeMutableRawPointer(bitPattern: base)
    }

    static func contains(_ pointer: UnsafeMutableRawPointer) -> Bool {
        KernelImage.bootArena.contains(UInt(bitPattern: pointer))
    }
}

@_cdecl("posix_memalign")
func posixMemalign(_ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int) -> CInt {
    let pointer: UnsafeMutableRawPointer?
    if let block = CoreBlock.current {
        pointer = block.pointee.heap.allocate(byteCount: size, alignment: alignment, frames: &block.pointee.frames)
    } else {
        pointer = BootArena.allocate(byteCount: size, alignment: alignment)
    }
    result.pointee = pointer
    return pointer == nil ? 12 /* ENOMEM */ : 0
}

/// Called by `free` in runtime.c (Swift may not define the runtime's `free` itself).
@_cdecl("kernel_free")
func kernelFree(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer, !BootArena.contains(pointer), let block = CoreBlock.current else { return }
    do {
        try block.pointee.heap.free(pointer, frames: &block.pointee.frames)
    } catch {
        // A bad free is a kernel bug: stop this core with a clear message.
        Panic.stop(reason: "heap: free of a pointer the heap did not hand out", address: UInt64(UInt(bitPattern: pointer)))
    }
}

@_cdecl("putchar")
func putchar(_ character: CInt) -> CInt {
    Console.put(UInt8(truncatingIfNeeded: character))
    return character
}

/// Seeds hashing in Dictionary and Set. Hash-flooding resistance does not matter in
/// the kernel; a fixed TSC-derived mix is enough.
@_cdecl("arc4random_buf")
func arc4randomBuffer(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
    var state = CPU.timestamp() | 1
    for i in 0..<count {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        buffer.storeBytes(of: UInt8(truncatingIfNeeded: state), toByteOffset: i, as: UInt8.self)
    }
}
