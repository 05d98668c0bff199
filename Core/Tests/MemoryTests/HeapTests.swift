import XCTest
import CoreTestSupport
import Basics
@testable import Memory

final class HeapTests: XCTestCase {
    let memory = SimulatedMemory(base: 16 * mib, size: Int(16 * mib))

    func makeFrames() throws -> FrameAllocator {
        try memory.allocator([range(16 * mib, 32 * mib)])
    }

    func inManagedMemory(_ pointer: UnsafeMutableRawPointer, _ count: Int, _ frames: FrameAllocator) -> Bool {
        let start = frames.physicalAddress(of: pointer)
        let end = start + UInt64(max(count, 1))
        return frames.owns(start) && frames.owns(PhysicalAddress(end.rawValue - 1))
            && !frames.bitmapRange.overlaps(PhysicalRange(start: start, end: end))
    }

    func testSmallAndLargeBlocksAreAlignedAndBacked() throws {
        var frames = try makeFrames()
        var heap = Heap()
        let requests: [(Int, Int)] = [(0, 1), (1, 1), (16, 16), (17, 8), (100, 64), (1000, 16), (1024, 1024),
                                      (1025, 16), (2048, 2048), (3000, 8), (4032, 16), (4033, 16), (5000, 4096),
                                      (1, 4096), (70000, 256)]
        var blocks: [(UnsafeMutableRawPointer, Int)] = []
        for (size, alignment) in requests {
            let p = try XCTUnwrap(heap.allocate(byteCount: size, alignment: alignment, frames: &frames))
            XCTAssertEqual(UInt(bitPattern: p) % UInt(alignment), 0, "\(size), \(alignment)")
            XCTAssertTrue(inManagedMemory(p, size, frames))
            p.initializeMemory(as: UInt8.self, repeating: 0x5A, count: size)
            blocks.append((p, size))
        }
        XCTAssertEqual(heap.blocksInUse, requests.count)
        XCTAssertEqual(frames.usedFrames, Int(frames.bitmapRange.size / frame) + heap.pagesHeld)
        XCTAssertTrue(heap.checkConsistency(frames: frames))
        for (p, _) in blocks { try heap.free(p, frames: &frames) }
        XCTAssertEqual(heap.bytesInUse, 0)
        XCTAssertEqual(heap.blocksInUse, 0)
        XCTAssertTrue(frames.checkConsistency())
        XCTAssertTrue(heap.checkConsistency(frames: frames))
    }

    func testSizeClassesShareAPage() throws {
        var frames = try makeFrames()
        var heap = Heap()
        let a = try XCTUnwrap(heap.allocate(byteCount: 24, alignment: 8, frames: &frames))
        let b = try XCTUnwrap(heap.allocate(byteCount: 32, alignment: 8, frames: &frames))
        XCTAssertEqual(b - a, 32)  // same 32-byte class, same page
        XCTAssertEqual(heap.pagesHeld, 1)
        XCTAssertEqual(heap.bytesInUse, 64)
        // Filling a 16-byte page: 4096 - 64 header bytes = 252 blocks.
        var small: [UnsafeMutableRawPointer] = []
        for _ in 0..<252 { small.append(try XCTUnwrap(heap.allocate(byteCount: 16, alignment: 16, frames: &frames))) }
        XCTAssertEqual(heap.pagesHeld, 2)
        small.append(try XCTUnwrap(heap.allocate(byteCount: 16, alignment: 16, frames: &frames)))
        XCTAssertEqual(heap.pagesHeld, 3)
        // Freeing them all gives back every 16-byte page but the one kept for reuse.
        for p in small { try heap.free(p, frames: &frames) }
        XCTAssertEqual(heap.pagesHeld, 2)
        try heap.free(a, frames: &frames)
        try heap.free(b, frames: &frames)
        XCTAssertEqual(heap.pagesHeld, 2)
        XCTAssertEqual(heap.bytesInUse, 0)
        XCTAssertEqual(frames.usedFrames, Int(frames.bitmapRange.size / frame) + 2)
        XCTAssertTrue(heap.checkConsistency(frames: frames))
    }

    func testLargeBlocksGiveTheirFramesBack() throws {
        var frames = try makeFrames()
        var heap = Heap()
        let initiallyFree = frames.freeFrames
        let p = try XCTUnwrap(heap.allocate(byteCount: 10_000, alignment: 16, frames: &frames))
        XCTAssertEqual(heap.pagesHeld, 3)  // 64 + 10000 bytes
        let q = try XCTUnwrap(heap.allocate(byteCount: 8192, alignment: 4096, frames: &frames))
        XCTAssertEqual(heap.pagesHeld, 6)  // a header frame, then two data frames
        XCTAssertEqual(UInt(bitPattern: q) % 4096, 0)
        try heap.free(p, frames: &frames)
        try heap.free(q, frames: &frames)
        XCTAssertEqual(heap.pagesHeld, 0)
        XCTAssertEqual(frames.freeFrames, initiallyFree)
    }

    func testAbsurdRequestsReturnNil() throws {
        var frames = try makeFrames()
        var heap = Heap()
        let initiallyFree = frames.freeFrames
        XCTAssertNil(heap.allocate(byteCount: -1, alignment: 8, frames: &frames))
        XCTAssertNil(heap.allocate(byteCount: 8, alignment: 0, frames: &frames))
        XCTAssertNil(heap.allocate(byteCount: 8, alignment: -16, frames: &frames))
        XCTAssertNil(heap.allocate(byteCount: 8, alignment: 24, frames: &frames))
        XCTAssertNil(heap.allocate(byteCount: 8, alignment: 8192, frames: &frames))
        XCTAssertNil(heap.allocate(byteCount: Int.max, alignment: 8, frames: &frames))
        XCTAssertNil(heap.allocate(byteCount: Int.max - 10, alignment: 4096, frames: &frames))
        XCTAssertNil(heap.allocate(byteCount: Int(17 * mib), alignment: 8, frames: &frames))
        XCTAssertEqual(frames.freeFrames, initiallyFree)
        XCTAssertEqual(heap.pagesHeld, 0)
        XCTAssertEqual(heap.bytesInUse, 0)
    }

    func testExhaustionReturnsNilAndRecovers() throws {
        let small = SimulatedMemory(base: mib, size: Int(64 * frame))
        var frames = try small.allocator([small.range])
        var heap = Heap()
        var blocks: [UnsafeMutableRawPointer] = []
        // Bounded: a heap that never runs out must fail the test, not hang it.
        while blocks.count <= 63 * 3, let p = heap.allocate(byteCount: 1000, alignment: 8, frames: &frames) { blocks.append(p) }
        XCTAssertEqual(blocks.count, 63 * 3)  // 63 free frames, three 1024-byte blocks each
        XCTAssertEqual(frames.freeFrames, 0)
        XCTAssertNil(heap.allocate(byteCount: 16, alignment: 8, frames: &frames))
        XCTAssertNil(heap.allocate(byteCount: 5000, alignment: 8, frames: &frames))
        for p in blocks { try heap.free(p, frames: &frames) }
        XCTAssertEqual(heap.bytesInUse, 0)
        XCTAssertEqual(heap.pagesHeld, 1)
        XCTAssertEqual(frames.freeFrames, 62)
        XCTAssertNotNil(heap.allocate(byteCount: 16, alignment: 8, frames: &frames))
    }

    func testBadFreesAreReportedAndChangeNothing() throws {
        var frames = try makeFrames()
        var heap = Heap()
        let a = try XCTUnwrap(heap.allocate(byteCount: 64, alignment: 8, frames: &frames))
        let b = try XCTUnwrap(heap.allocate(byteCount: 64, alignment: 8, frames: &frames))
        let large = try XCTUnwrap(heap.allocate(byteCount: 5000, alignment: 8, frames: &frames))
        let pageAligned = try XCTUnwrap(heap.allocate(byteCount: 100, alignment: 4096, frames: &frames))
        let unused = try XCTUnwrap(frames.allocate())  // a frame the heap does not own
        frames.pointer(to: unused).initializeMemory(as: UInt8.self, repeating: 0, count: 4096)

        func expect(_ error: MemoryError, _ pointer: UnsafeMutableRawPointer, line: UInt = #line) {
            let before = (heap.bytesInUse, heap.blocksInUse, heap.pagesHeld, frames.freeFrames)
            XCTAssertThrowsError(try heap.free(pointer, frames: &frames), line: line) {
                XCTAssertEqual($0 as? MemoryError, error, line: line)
            }
            let after = (heap.bytesInUse, heap.blocksInUse, heap.pagesHeld, frames.freeFrames)
            XCTAssertTrue(before == after, "state changed", line: line)
            XCTAssertTrue(heap.checkConsistency(frames: frames), line: line)
            XCTAssertTrue(frames.checkConsistency(), line: line)
        }
        var local = 0
        withUnsafeMutablePointer(to: &local) { expect(.notAHeapBlock, UnsafeMutableRawPointer($0)) }
        expect(.notAHeapBlock, a + 8)                                   // inside a block
        expect(.notAHeapBlock, a - 64)                                  // the page header
        expect(.notAHeapBlock, b + 64)                                  // never handed out
        expect(.notAHeapBlock, large + 16)                              // inside a large block
        expect(.notAHeapBlock, large + 4096 - 64)                       // a large block's second frame
        expect(.notAHeapBlock, pageAligned + 4096)                      // past a page-aligned block
        expect(.notAHeapBlock, frames.pointer(to: unused) + 64)         // a frame the heap never had
        expect(.notAHeapBlock, frames.pointer(to: unused) + 4096)
        expect(.notAHeapBlock, frames.pointer(to: frames.bitmapRange.start) + 64)
        expect(.notAHeapBlock, frames.pointer(to: frames.span.start))   // no frame before the span
        expect(.notAHeapBlock, frames.pointer(to: PhysicalAddress(20 * mib)) + 128)  // a free frame

        try heap.free(a, frames: &frames)
        expect(.doubleFree, a)                   // b keeps the page alive
        try heap.free(large, frames: &frames)
        expect(.notAHeapBlock, large)            // its frames are gone
        try heap.free(pageAligned, frames: &frames)
        expect(.notAHeapBlock, pageAligned)
        try heap.free(b, frames: &frames)
        XCTAssertEqual(heap.bytesInUse, 0)
        XCTAssertEqual(heap.blocksInUse, 0)
    }

    /// Thousands of random allocations and frees, checked against a model of the live
    /// blocks: alignment, bounds, no overlap, contents intact until freed.
    func testRandomisedAgainstModel() throws {
        for seed: UInt64 in [7, 42, 0x5EED] {
            try runModel(seed: seed, steps: 6000)
        }
    }

    private struct Block {
        var pointer: UnsafeMutableRawPointer
        var size: Int
        var pattern: UInt8
        var start: UInt { UInt(bitPattern: pointer) }
        var end: UInt { start + UInt(max(size, 1)) }
    }

    private func runModel(seed: UInt64, steps: Int) throws {
        var random = SeededGenerator(seed: seed)
        var frames = try makeFrames()
        var heap = Heap()
        var live: [Block] = []
        let bitmapFrames = Int(frames.bitmapRange.size / frame)

        func verify(_ block: Block, _ context: String) {
            for i in 0..<block.size where block.pointer.load(fromByteOffset: i, as: UInt8.self) != block.pattern {
                XCTFail("\(context): block at \(block.pointer) corrupted at byte \(i)")
                return
            }
        }

        for step in 0..<steps {
            let context = "seed \(seed) step \(step)"
            if live.isEmpty || (live.count < 400 && random.chance(11, in: 20)) {
                let size: Int
                switch random.int(in: 0...19) {
                case 0: size = 0
                case 1...14: size = random.int(in: 1...256)
                case 15...17: size = random.int(in: 257...1100)
                default: size = random.int(in: 1101...20_000)
                }
                let alignment = random.chance(4, in: 5) ? 1 << random.int(in: 0...4) : 1 << random.int(in: 5...12)
                guard let p = heap.allocate(byteCount: size, alignment: alignment, frames: &frames) else {
                    XCTFail("\(context): allocate(\(size), \(alignment)) failed with \(frames.freeFrames) frames free")
                    return
                }
                let block = Block(pointer: p, size: size, pattern: UInt8(truncatingIfNeeded: random.next()))
                XCTAssertEqual(block.start % UInt(alignment), 0, "\(context): misaligned")
                XCTAssertTrue(inManagedMemory(p, size, frames), "\(context): outside managed memory")
                for other in live where other.start < block.end && block.start < other.end {
                    XCTFail("\(context): \(p) (\(size)) overlaps \(other.pointer) (\(other.size))")
                }
                p.initializeMemory(as: UInt8.self, repeating: block.pattern, count: size)
                live.append(block)
            } else {
                let block = live.remove(at: random.int(in: 0...(live.count - 1)))
                verify(block, context)
                try heap.free(block.pointer, frames: &frames)
                if random.chance(1, in: 10) {
                    // Freeing it again is caught, whether or not its page is still held.
                    XCTAssertThrowsError(try heap.free(block.pointer, frames: &frames), context)
                }
            }
            XCTAssertEqual(heap.blocksInUse, live.count, context)
            XCTAssertEqual(frames.usedFrames, bitmapFrames + heap.pagesHeld, context)
            if step % 50 == 0 {
                XCTAssertTrue(heap.checkConsistency(frames: frames), context)
                XCTAssertTrue(frames.checkConsistency(), context)
            }
        }
        for block in live {
            verify(block, "seed \(seed) final")
            try heap.free(block.pointer, frames: &frames)
        }
        XCTAssertEqual(heap.bytesInUse, 0)
        XCTAssertEqual(heap.blocksInUse, 0)
        XCTAssertLessThanOrEqual(heap.pagesHeld, 7)  // at most one kept page per class
        XCTAssertEqual(frames.usedFrames, bitmapFrames + heap.pagesHeld)
        XCTAssertTrue(heap.checkConsistency(frames: frames))
        XCTAssertTrue(frames.checkConsistency())
    }
}
