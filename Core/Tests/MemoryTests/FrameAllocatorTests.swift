import XCTest
import CoreTestSupport
import Basics
@testable import Memory

final class FrameAllocatorTests: XCTestCase {
    /// 1 MiB + 64 KiB, a hole, 2 MiB…4 MiB, a hole, 5 MiB…6 MiB.
    let ranges = [range(mib, mib + 64 * 1024), range(2 * mib, 4 * mib), range(5 * mib, 6 * mib)]
    let memory = SimulatedMemory(base: mib, size: Int(5 * mib))

    func usable(_ address: PhysicalAddress, in ranges: [PhysicalRange]) -> Bool {
        ranges.contains { $0.contains(address) }
    }

    func testCountsSpanAndBitmapPlacement() throws {
        let frames = try memory.allocator(ranges)
        XCTAssertEqual(frames.span, range(mib, 6 * mib))
        XCTAssertEqual(frames.totalFrames, 16 + 512 + 256)
        // 1280 frames of span: 20 bitmap words + 3 ranges × 2 words = 208 bytes, one frame,
        // at the start of the first range.
        XCTAssertEqual(frames.bitmapRange, range(mib, mib + frame))
        XCTAssertEqual(frames.freeFrames, 16 + 512 + 256 - 1)
        XCTAssertEqual(frames.usedFrames, 1)
        XCTAssertTrue(frames.checkConsistency())
        XCTAssertTrue(frames.owns(PhysicalAddress(mib)))
        XCTAssertTrue(frames.owns(PhysicalAddress(6 * mib - 1)))
        XCTAssertFalse(frames.owns(PhysicalAddress(mib + 64 * 1024)))
        XCTAssertFalse(frames.owns(PhysicalAddress(6 * mib)))
        XCTAssertFalse(frames.owns(PhysicalAddress(0)))
        XCTAssertEqual(frames.pointer(to: PhysicalAddress(2 * mib)), memory.buffer + Int(mib))
        XCTAssertEqual(frames.physicalAddress(of: memory.buffer + Int(mib) + 5), PhysicalAddress(2 * mib + 5))
    }

    func testBitmapGoesInTheFirstRangeLargeEnough() throws {
        // 64 MiB of span needs 2048 bitmap bytes + 32 of ranges: one frame, which the
        // one-frame first range can hold. 160 MiB needs 5120 + 32 bytes: two frames.
        let small = try memory.allocator([range(mib, mib + frame), range(2 * mib, 3 * mib)])
        XCTAssertEqual(small.bitmapRange, range(mib, mib + frame))
        XCTAssertEqual(small.freeFrames, 256)

        let big = SimulatedMemory(base: mib, size: Int(160 * mib))
        let frames = try big.allocator([range(mib, mib + frame), range(2 * mib, 161 * mib)])
        XCTAssertEqual(frames.bitmapRange, range(2 * mib, 2 * mib + 2 * frame))
        XCTAssertEqual(frames.freeFrames, 1 + 159 * 256 - 2)
        XCTAssertTrue(frames.checkConsistency())
    }

    func testAdjacentRangesAreMerged() throws {
        var frames = try memory.allocator([range(mib, 2 * mib), range(2 * mib, 3 * mib)])
        XCTAssertEqual(frames.totalFrames, 512)
        // A run across the seam between the two given ranges.
        let run = try XCTUnwrap(frames.allocate(count: 511))
        XCTAssertEqual(run, PhysicalAddress(mib + frame))
        try frames.free(run, count: 511)
        XCTAssertTrue(frames.checkConsistency())
    }

    func testHandsOutEveryUsableFrameOnceAndNeverHolesOrTheBitmap() throws {
        var frames = try memory.allocator(ranges)
        let initiallyFree = frames.freeFrames
        var seen = Set<PhysicalAddress>()
        // Bounded: an allocator that never runs out must fail the test, not hang it.
        for _ in 0...initiallyFree {
            guard let address = frames.allocate() else { break }
            XCTAssertTrue(address.isAligned(to: frame))
            XCTAssertTrue(usable(address, in: ranges), "\(address) is in a hole")
            XCTAssertFalse(frames.bitmapRange.contains(address), "\(address) is the bitmap")
            XCTAssertTrue(seen.insert(address).inserted, "\(address) handed out twice")
        }
        XCTAssertEqual(seen.count, initiallyFree)
        XCTAssertEqual(frames.freeFrames, 0)
        XCTAssertEqual(frames.usedFrames, frames.totalFrames)
        XCTAssertNil(frames.allocate(count: 1))
        XCTAssertNil(frames.allocate(count: 2, alignment: 2))
        XCTAssertTrue(frames.checkConsistency())
        for address in seen { try frames.free(address) }
        XCTAssertEqual(frames.freeFrames, initiallyFree)
        XCTAssertTrue(frames.checkConsistency())
    }

    func testAlignmentAndContiguity() throws {
        var frames = try memory.allocator(ranges)
        // 20 frames do not fit in the 15 free frames of the first range: they must come
        // from one range, never across a hole.
        let run = try XCTUnwrap(frames.allocate(count: 20))
        XCTAssertEqual(run, PhysicalAddress(2 * mib))
        for i in 0..<20 { XCTAssertFalse(frames.isFree(run + UInt64(i) * frame)) }

        // Next fit: the search continues after the last run.
        let aligned = try XCTUnwrap(frames.allocate(count: 5, alignment: 8))
        XCTAssertTrue(aligned.isAligned(to: 8 * frame))
        XCTAssertEqual(aligned, PhysicalAddress(2 * mib + 24 * frame))
        for i in 0..<5 { XCTAssertFalse(frames.isFree(aligned + UInt64(i) * frame)) }

        // A 2 MiB-aligned 2 MiB run: the only candidate is impossible (2 MiB…4 MiB is
        // partly used), 4 MiB…6 MiB crosses a hole; so none.
        XCTAssertNil(frames.allocate(count: 512, alignment: 512))
        // 1 MiB aligned to 1 MiB: 3 MiB is the first such run after the hint.
        let large = try XCTUnwrap(frames.allocate(count: 256, alignment: 256))
        XCTAssertEqual(large, PhysicalAddress(3 * mib))
        let next = try XCTUnwrap(frames.allocate(count: 256, alignment: 256))
        XCTAssertEqual(next, PhysicalAddress(5 * mib))
        XCTAssertNil(frames.allocate(count: 256, alignment: 256))
        XCTAssertTrue(frames.checkConsistency())

        // Invalid arguments.
        XCTAssertNil(frames.allocate(count: 0))
        XCTAssertNil(frames.allocate(count: -1))
        XCTAssertNil(frames.allocate(count: 1, alignment: 3))
        XCTAssertNil(frames.allocate(count: 1, alignment: 0))
        XCTAssertNil(frames.allocate(count: 1, alignment: Int.max))
        XCTAssertNil(frames.allocate(count: Int.max))
        XCTAssertTrue(frames.checkConsistency())
    }

    func testNextFitHintWrapsAround() throws {
        var frames = try memory.allocator([range(mib, 2 * mib)])
        var all: [PhysicalAddress] = []
        while all.count <= 255, let address = frames.allocate() { all.append(address) }  // bounded: no hang
        XCTAssertEqual(all.count, 255)
        // Free a low frame after the hint moved to the top: it is still found.
        try frames.free(all[3])
        XCTAssertEqual(frames.allocate(), all[3])
        try frames.free(all[0], count: 4)
        XCTAssertEqual(frames.allocate(count: 4), all[0])
    }

    func testTakenFramesAreNeverHandedOutUntilFreed() throws {
        // The user heap's way of growing: everything past the first frames is taken at
        // once, then given back a few frames at a time.
        var frames = try memory.allocator([range(mib, mib + 16 * frame)])
        try frames.take(PhysicalAddress(mib + 4 * frame), count: 12)
        XCTAssertEqual(frames.freeFrames, 3)
        XCTAssertTrue(frames.checkConsistency())
        var handed: [PhysicalAddress] = []
        while handed.count <= 16, let address = frames.allocate() { handed.append(address) }   // bounded: no hang
        XCTAssertEqual(handed, (1..<4).map { PhysicalAddress(mib + UInt64($0) * frame) })
        XCTAssertNil(frames.allocate(count: 2))
        try frames.free(PhysicalAddress(mib + 4 * frame), count: 4)
        XCTAssertEqual(frames.allocate(count: 4), PhysicalAddress(mib + 4 * frame))
        XCTAssertTrue(frames.checkConsistency())

        // Refusals change nothing.
        let before = snapshot(frames)
        func expect(_ error: MemoryError, _ address: UInt64, count: Int = 1, line: UInt = #line) {
            XCTAssertThrowsError(try frames.take(PhysicalAddress(address), count: count), line: line) {
                XCTAssertEqual($0 as? MemoryError, error, line: line)
            }
            XCTAssertEqual(snapshot(frames), before, "state changed", line: line)
        }
        expect(.invalidArgument, mib + 8 * frame, count: 0)
        expect(.misaligned, mib + 8 * frame + 8)
        expect(.outsideSpan, mib + 16 * frame)
        expect(.outsideSpan, mib + 15 * frame, count: 2)
        expect(.allocatorMetadata, mib)
        expect(.notFree, mib + 4 * frame)                     // allocated
        expect(.notFree, mib + 7 * frame, count: 2)           // the second one is taken
        let holes = try memory.allocator([range(mib, mib + 2 * frame), range(mib + 4 * frame, mib + 8 * frame)])
        var withHoles = holes
        XCTAssertThrowsError(try withHoles.take(PhysicalAddress(mib + 2 * frame), count: 1)) {
            XCTAssertEqual($0 as? MemoryError, .notUsable)
        }
    }

    func testBadFreesAreReportedAndChangeNothing() throws {
        var frames = try memory.allocator(ranges)
        let single = try XCTUnwrap(frames.allocate())
        let run = try XCTUnwrap(frames.allocate(count: 4))
        XCTAssertEqual(run, single + frame)
        try frames.free(single)
        let before = snapshot(frames)

        func expect(_ error: MemoryError, _ address: UInt64, count: Int = 1, line: UInt = #line) {
            XCTAssertThrowsError(try frames.free(PhysicalAddress(address), count: count), line: line) {
                XCTAssertEqual($0 as? MemoryError, error, line: line)
            }
            XCTAssertEqual(snapshot(frames), before, "state changed", line: line)
            XCTAssertTrue(frames.checkConsistency(), line: line)
        }
        expect(.misaligned, run.rawValue + 8)
        expect(.invalidArgument, run.rawValue, count: 0)
        expect(.invalidArgument, run.rawValue, count: -3)
        expect(.outsideSpan, 0)
        expect(.outsideSpan, 6 * mib)
        expect(.outsideSpan, 6 * mib - frame, count: 2)
        expect(.outsideSpan, run.rawValue, count: Int.max)
        expect(.notUsable, mib + 64 * 1024)                   // in the first hole
        expect(.notUsable, 2 * mib - frame, count: 2)         // from a hole into a range
        expect(.notUsable, 4 * mib - frame, count: 2)         // from a range into a hole
        expect(.allocatorMetadata, mib)
        expect(.doubleFree, 3 * mib)                          // never allocated
        expect(.doubleFree, run.rawValue, count: 5)           // last frame is free
        expect(.doubleFree, run.rawValue - frame, count: 2)   // first frame is free

        try frames.free(run + frame)
        XCTAssertThrowsError(try frames.free(run + frame)) { XCTAssertEqual($0 as? MemoryError, .doubleFree) }
        XCTAssertThrowsError(try frames.free(run, count: 4)) { XCTAssertEqual($0 as? MemoryError, .doubleFree) }
        try frames.free(run)
        try frames.free(run + 2 * frame, count: 2)
        XCTAssertEqual(frames.freeFrames, before.free + 4)
        XCTAssertTrue(frames.checkConsistency())
    }

    func testInvalidRangesAreRejected() {
        func expect(_ error: MemoryError, _ ranges: [PhysicalRange], line: UInt = #line) {
            XCTAssertThrowsError(try memory.allocator(ranges), line: line) {
                XCTAssertEqual($0 as? MemoryError, error, line: line)
            }
        }
        expect(.invalidRanges, [])
        expect(.invalidRanges, [range(mib, mib)])
        expect(.invalidRanges, [range(mib + 1, 2 * mib)])
        expect(.invalidRanges, [range(mib, 2 * mib - 1)])
        expect(.invalidRanges, [range(3 * mib, 4 * mib), range(mib, 2 * mib)])
        expect(.invalidRanges, [range(mib, 3 * mib), range(2 * mib, 4 * mib)])
        expect(.invalidRanges, [range(mib, 2 * mib), range(3 * mib, 3 * mib)])
        // One frame each, a GiB apart: a 32 KiB bitmap fits nowhere.
        expect(.noRoomForBitmap, [range(mib, mib + frame), range(gib, gib + frame)])
        // The null-pointer frame in the middle of a range cannot be dropped.
        XCTAssertThrowsError(try [range(mib, 2 * mib)].withUnsafeBufferPointer { buffer throws(MemoryError) in
            try FrameAllocator(usable: buffer, virtualOffset: -Int(mib + 16 * frame))
        }) { XCTAssertEqual($0 as? MemoryError, .invalidRanges) }
    }

    /// Thousands of random allocations and frees, checked after every step against a
    /// model: the set of allocated frames.
    func testRandomisedAgainstModel() throws {
        for seed: UInt64 in [1, 2, 0xDEAD_BEEF] {
            try runModel(seed: seed, steps: 4000)
        }
    }

    private func runModel(seed: UInt64, steps: Int) throws {
        var random = SeededGenerator(seed: seed)
        // Ranges with holes, including a range that starts unaligned to 2 MiB.
        let ranges = [range(mib, mib + 40 * frame), range(mib + 64 * frame, mib + 300 * frame),
                      range(mib + 301 * frame, mib + 1000 * frame), range(mib + 1024 * frame, mib + 1100 * frame)]
        var frames = try memory.allocator(ranges)
        let span = frames.span
        var allocated = Set<UInt64>()  // the model
        var live: [UInt64] = []        // the same frames, for picking at random

        func isUsable(_ address: UInt64) -> Bool { usable(PhysicalAddress(address), in: ranges) }
        func isBitmap(_ address: UInt64) -> Bool { frames.bitmapRange.contains(PhysicalAddress(address)) }
        func modelFree(_ address: UInt64) -> Bool {
            isUsable(address) && !isBitmap(address) && !allocated.contains(address)
        }
        func modelHasRun(count: Int, alignment: Int) -> Bool {
            var start = span.start.rawValue
            while start + UInt64(count) * frame <= span.end.rawValue {
                if (start / frame) % UInt64(alignment) == 0,
                   (0..<count).allSatisfy({ modelFree(start + UInt64($0) * frame) }) { return true }
                start += frame
            }
            return false
        }

        for step in 0..<steps {
            let context = "seed \(seed) step \(step)"
            switch random.int(in: 0...9) {
            case 0...4:
                let count = random.chance(3, in: 4) ? 1 : random.int(in: 2...12)
                let alignment = random.chance(3, in: 4) ? 1 : 1 << random.int(in: 1...5)
                if let address = frames.allocate(count: count, alignment: alignment) {
                    XCTAssertEqual((address.rawValue / frame) % UInt64(alignment), 0, context)
                    for i in 0..<count {
                        let f = address.rawValue + UInt64(i) * frame
                        XCTAssertTrue(modelFree(f), "\(context): \(f) was not free")
                        allocated.insert(f)
                        live.append(f)
                    }
                } else {
                    XCTAssertFalse(modelHasRun(count: count, alignment: alignment),
                                   "\(context): allocate(\(count), \(alignment)) failed but a run exists")
                }
            case 5...7:
                // Free an allocated frame (succeeds).
                guard !live.isEmpty else { continue }
                let index = random.int(in: 0...(live.count - 1))
                let f = live.remove(at: index)
                try frames.free(PhysicalAddress(f))
                allocated.remove(f)
            default:
                // Free an arbitrary run; the expected outcome follows from the model.
                let address = UInt64(Int(span.start.rawValue) + random.int(in: -2...1102) * Int(frame))
                let count = random.int(in: 1...3)
                let expected = expectedFreeResult(address: address, count: count, span: span,
                                                  ranges: ranges, bitmap: frames.bitmapRange, allocated: allocated)
                do {
                    try frames.free(PhysicalAddress(address), count: count)
                    XCTAssertNil(expected, "\(context): free(\(address), \(count)) succeeded")
                    for i in 0..<count {
                        let f = address + UInt64(i) * frame
                        allocated.remove(f)
                        live.removeAll { $0 == f }
                    }
                } catch {
                    XCTAssertEqual(error, expected, "\(context): free(\(address), \(count))")
                }
            }
            let modelFreeCount = frames.totalFrames - Int(frames.bitmapRange.size / frame) - allocated.count
            XCTAssertEqual(frames.freeFrames, modelFreeCount, context)
            XCTAssertTrue(frames.checkConsistency(), context)
            if step % 500 == 0 {
                var a = span.start.rawValue
                while a < span.end.rawValue {
                    XCTAssertEqual(frames.isFree(PhysicalAddress(a)), modelFree(a), "\(context): frame \(a)")
                    a += frame
                }
            }
        }
    }

    private func expectedFreeResult(address: UInt64, count: Int, span: PhysicalRange, ranges: [PhysicalRange],
                                    bitmap: PhysicalRange, allocated: Set<UInt64>) -> MemoryError? {
        let end = address &+ UInt64(count) * frame
        guard span.contains(PhysicalAddress(address)), end <= span.end.rawValue else { return .outsideSpan }
        guard ranges.contains(where: { $0.start.rawValue <= address && end <= $0.end.rawValue }) else {
            return .notUsable
        }
        if bitmap.overlaps(range(address, end)) { return .allocatorMetadata }
        for i in 0..<count where !allocated.contains(address + UInt64(i) * frame) { return .doubleFree }
        return nil
    }

    private struct Snapshot: Equatable {
        var free: Int
        var freeMap: [Bool]
    }

    private func snapshot(_ frames: FrameAllocator) -> Snapshot {
        var map: [Bool] = []
        var a = frames.span.start
        while a < frames.span.end {
            map.append(frames.isFree(a))
            a = a + frame
        }
        return Snapshot(free: frames.freeFrames, freeMap: map)
    }
}
