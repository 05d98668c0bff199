// The physical frame allocator of one core.
//
// Each CPU driver owns a share of physical memory (see MemoryPlan) and hands out 4 KiB
// frames from it with this allocator; no other core touches it, so it takes no lock.
// It runs before the kernel heap exists (the heap is built on top of it), so it must not
// allocate Swift heap memory: everything it needs lives in the memory it manages.
//
// Layout. One bit per frame over the whole span, from the lowest usable address to the
// highest; a set bit means "not available" (allocated, in a hole between usable ranges,
// or holding the allocator's own metadata, or beyond the end of the span in the last
// word). The bitmap is followed by a copy of the usable ranges (adjacent ones merged),
// which lets `free` tell a hole from a double free and lets `owns` answer exactly. Both
// sit at the start of the first usable range large enough, and their frames are marked
// used for good.
//
// Speed. Single-frame allocation scans bitmap words from a next-fit hint (the word of
// the last allocation) and takes the lowest clear bit of the first word that has one, so
// a run of allocations costs O(1) amortised. Contiguous, aligned allocation skips whole
// used words and jumps past each used bit it meets.
//
// Addresses. The kernel identity-maps physical memory, host tests use an ordinary
// buffer: a frame at physical address p is at pointer p + virtualOffset. The frame whose
// pointer would be null (physical 0 in the kernel) cannot be handed out as a pointer, so
// it is dropped from the usable ranges.
//
// Copies. The struct holds a pointer to its bitmap; a copy would share the bitmap but
// keep its own counters. Keep exactly one value (in the per-core block) and pass it
// `inout`.

import Basics

public struct FrameAllocator {
    public static let frameSize: UInt64 = 4096
    static let frameShift: UInt64 = 12

    /// The bitmap (`wordCount` words) followed by the merged usable ranges as pairs
    /// of raw start and end addresses (`rangeCount` pairs).
    private let words: UnsafeMutablePointer<UInt64>
    private let wordCount: Int
    private let rangeCount: Int
    /// Physical frame number of the first frame of the span.
    private let firstFrame: UInt64
    /// Frames in the span, holes included.
    private let spanFrames: Int
    /// The word index where the next search begins (next fit).
    private var hint: Int = 0

    /// Pointer = physical address + `virtualOffset` (0 in the kernel).
    public let virtualOffset: Int
    /// The frames that hold the bitmap and the copy of the usable ranges.
    public let bitmapRange: PhysicalRange
    /// Usable frames, the bitmap's included, holes excluded.
    public let totalFrames: Int
    /// Frames that `allocate` can still hand out.
    public private(set) var freeFrames: Int
    /// Frames allocated, the bitmap's included.
    public var usedFrames: Int { totalFrames - freeFrames }

    /// From the lowest usable address to the highest, holes included.
    public var span: PhysicalRange {
        PhysicalRange(start: PhysicalAddress(firstFrame << Self.frameShift),
                      end: PhysicalAddress((firstFrame + UInt64(spanFrames)) << Self.frameShift))
    }

    /// Builds an allocator over `usable`, which must be non-empty, page-aligned, sorted and
    /// non-overlapping (adjacent ranges are fine). The bitmap is placed at the start of the
    /// first range large enough for it.
    public init(usable: UnsafeBufferPointer<PhysicalRange>, virtualOffset: Int) throws(MemoryError) {
        // The physical address whose pointer would be null.
        let nullAddress = 0 &- UInt64(truncatingIfNeeded: virtualOffset)

        // Pass 1: validate, count the merged ranges, find the span.
        var mergedCount = 0
        var usableFrames: UInt64 = 0
        var lowest: UInt64 = 0
        var highest: UInt64 = 0
        try Self.forEachMergedRange(usable, nullAddress: nullAddress) { start, end in
            if mergedCount == 0 { lowest = start }
            mergedCount += 1
            usableFrames += (end - start) >> Self.frameShift
            highest = end
        }
        guard mergedCount > 0 else { throw .invalidRanges }

        let spanFrames = Int((highest - lowest) >> Self.frameShift)
        let wordCount = (spanFrames + 63) / 64
        let metadataWords = wordCount + 2 * mergedCount
        let metadataFrames = (UInt64(metadataWords) * 8 + Self.frameSize - 1) >> Self.frameShift
        let metadataBytes = metadataFrames << Self.frameShift

        // Pass 2: the first range that can hold the metadata.
        var metadataStart: UInt64? = nil
        try Self.forEachMergedRange(usable, nullAddress: nullAddress) { start, end in
            if metadataStart == nil, end - start >= metadataBytes { metadataStart = start }
        }
        guard let metadataStart else { throw .noRoomForBitmap }

        let base = UnsafeMutableRawPointer(
            bitPattern: UInt(truncatingIfNeeded: metadataStart &+ UInt64(truncatingIfNeeded: virtualOffset)))!
        let words = base.bindMemory(to: UInt64.self, capacity: metadataWords)

        self.words = words
        self.wordCount = wordCount
        self.rangeCount = mergedCount
        self.firstFrame = lowest >> Self.frameShift
        self.spanFrames = spanFrames
        self.virtualOffset = virtualOffset
        self.bitmapRange = PhysicalRange(start: PhysicalAddress(metadataStart),
                                         end: PhysicalAddress(metadataStart + metadataBytes))
        self.totalFrames = Int(usableFrames)
        self.freeFrames = Int(usableFrames) - Int(metadataFrames)

        // Pass 3: everything used, then each usable range free, then the metadata used.
        words.update(repeating: ~0, count: wordCount)
        var index = 0
        let firstFrame = self.firstFrame
        try Self.forEachMergedRange(usable, nullAddress: nullAddress) { start, end in
            words[wordCount + 2 * index] = start
            words[wordCount + 2 * index + 1] = end
            index += 1
        }
        for i in 0..<mergedCount {
            let start = Int((words[wordCount + 2 * i] >> Self.frameShift) - firstFrame)
            let end = Int((words[wordCount + 2 * i + 1] >> Self.frameShift) - firstFrame)
            setBits(start, end, used: false)
        }
        let metadataFirst = Int((metadataStart >> Self.frameShift) - firstFrame)
        setBits(metadataFirst, metadataFirst + Int(metadataFrames), used: true)
    }

    /// Calls `body` with each usable range, validated, with the null-pointer frame
    /// dropped and adjacent ranges merged.
    private static func forEachMergedRange(
        _ usable: UnsafeBufferPointer<PhysicalRange>, nullAddress: UInt64,
        _ body: (UInt64, UInt64) -> Void
    ) throws(MemoryError) {
        var previousEnd: UInt64? = nil
        var pendingStart: UInt64 = 0
        var pendingEnd: UInt64? = nil
        for range in usable {
            var start = range.start.rawValue
            let end = range.end.rawValue
            guard start < end, range.start.isAligned(to: frameSize), range.end.isAligned(to: frameSize)
            else { throw .invalidRanges }
            if let previousEnd, start < previousEnd { throw .invalidRanges }
            previousEnd = end
            if start == nullAddress {
                start += frameSize
                if start == end { continue }
            } else if nullAddress > start && nullAddress < end {
                // A range that wraps through the null pointer cannot be addressed.
                throw .invalidRanges
            }
            if let currentEnd = pendingEnd, currentEnd == start {
                pendingEnd = end
            } else {
                if let currentEnd = pendingEnd { body(pendingStart, currentEnd) }
                pendingStart = start
                pendingEnd = end
            }
        }
        if let currentEnd = pendingEnd { body(pendingStart, currentEnd) }
    }

    // MARK: Allocation

    /// Allocates `count` contiguous frames whose first frame number is a multiple of
    /// `alignment` (in frames, a power of two). Returns nil when no such run is free
    /// or the arguments are invalid.
    public mutating func allocate(count: Int = 1, alignment: Int = 1) -> PhysicalAddress? {
        guard count >= 1, count <= freeFrames,
              alignment >= 1, alignment & (alignment - 1) == 0, alignment <= 1 << 52
        else { return nil }
        if count == 1 && alignment == 1 { return allocateOne() }

        let start = min(hint * 64, spanFrames)
        var found = search(from: start, end: spanFrames, count: count, alignment: alignment)
        if found == nil && start > 0 {
            found = search(from: 0, end: min(spanFrames, start + count - 1), count: count, alignment: alignment)
        }
        guard let first = found else { return nil }
        setBits(first, first + count, used: true)
        freeFrames -= count
        hint = min((first + count) / 64, wordCount - 1)
        return address(ofFrame: first)
    }

    private mutating func allocateOne() -> PhysicalAddress? {
        var w = hint
        for _ in 0..<wordCount {
            let word = words[w]
            if word != ~0 {
                let bit = (~word).trailingZeroBitCount
                words[w] = word | (1 << UInt64(bit))
                freeFrames -= 1
                hint = w
                return address(ofFrame: w * 64 + bit)
            }
            w += 1
            if w == wordCount { w = 0 }
        }
        return nil
    }

    /// The first frame index `i >= from` with `i + count <= end`, `firstFrame + i` a
    /// multiple of `alignment`, and frames `i..<i+count` all free.
    private func search(from: Int, end: Int, count: Int, alignment: Int) -> Int? {
        var i = from
        while true {
            guard let free = firstClear(from: i, before: end) else { return nil }
            let absolute = firstFrame + UInt64(free)
            let aligned = (absolute + UInt64(alignment) - 1) & ~(UInt64(alignment) - 1)
            let candidate = aligned - firstFrame
            guard candidate <= UInt64(end), UInt64(end) - candidate >= UInt64(count) else { return nil }
            let c = Int(candidate)
            if let used = firstSet(from: c, before: c + count) {
                i = used + 1
            } else {
                return c
            }
        }
    }

    /// Gives back `count` frames starting at `address`. Fails, changing nothing, if any of
    /// them is outside the span, in a hole, part of the bitmap, or already free.
    public mutating func free(_ address: PhysicalAddress, count: Int = 1) throws(MemoryError) {
        let first = try usableRun(address, count: count)
        guard countSet(first, first + count) == count else { throw .doubleFree }
        setBits(first, first + count, used: false)
        freeFrames += count
    }

    /// Takes `count` free frames from `address` on out of use, as if `allocate` had
    /// handed them out, so that `free` later makes them available. For memory that is
    /// part of the span but cannot be used yet: the user heap's arena, whose pages are
    /// mapped only as the heap grows. Fails, changing nothing, if any of them is outside
    /// the span, in a hole, part of the bitmap, or not free.
    public mutating func take(_ address: PhysicalAddress, count: Int) throws(MemoryError) {
        let first = try usableRun(address, count: count)
        guard countSet(first, first + count) == 0 else { throw .notFree }
        setBits(first, first + count, used: true)
        freeFrames -= count
    }

    /// The index of the first of `count` frames from `address`, if they are whole,
    /// aligned frames of one usable range of the span, none of them the bitmap's own.
    private func usableRun(_ address: PhysicalAddress, count: Int) throws(MemoryError) -> Int {
        guard count >= 1 else { throw .invalidArgument }
        guard address.isAligned(to: Self.frameSize) else { throw .misaligned }
        guard let first = frameIndex(of: address), count <= spanFrames - first else { throw .outsideSpan }
        let end = address.rawValue + UInt64(count) << Self.frameShift
        guard let range = rangeIndex(containing: address.rawValue),
              end <= words[wordCount + 2 * range + 1]
        else { throw .notUsable }
        if bitmapRange.overlaps(PhysicalRange(start: address, end: PhysicalAddress(end))) {
            throw .allocatorMetadata
        }
        return first
    }

    // MARK: Queries

    /// Where the frame at physical `address` can be read and written.
    public func pointer(to address: PhysicalAddress) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(
            bitPattern: UInt(truncatingIfNeeded: address.rawValue &+ UInt64(truncatingIfNeeded: virtualOffset)))!
    }

    /// The physical address of a pointer into memory this allocator manages.
    public func physicalAddress(of pointer: UnsafeRawPointer) -> PhysicalAddress {
        PhysicalAddress(UInt64(UInt(bitPattern: pointer)) &- UInt64(truncatingIfNeeded: virtualOffset))
    }

    /// True if `address` lies in one of the usable ranges (the bitmap's frames included).
    public func owns(_ address: PhysicalAddress) -> Bool {
        rangeIndex(containing: address.rawValue) != nil
    }

    /// True if the frame containing `address` is usable and free.
    public func isFree(_ address: PhysicalAddress) -> Bool {
        guard let i = frameIndex(of: address.alignedDown(to: Self.frameSize)) else { return false }
        return !isSet(i)
    }

    /// Checks that the counters agree with the bitmap: free bits equal `freeFrames`, every
    /// hole, metadata frame and padding bit is marked used, the ranges are in order.
    public func checkConsistency() -> Bool {
        guard hint >= 0, hint < wordCount, freeFrames >= 0, freeFrames <= totalFrames else { return false }
        if countSet(0, spanFrames) != spanFrames - freeFrames { return false }
        // Padding bits beyond the span.
        if spanFrames % 64 != 0, words[wordCount - 1] >> UInt64(spanFrames % 64) != ~0 >> UInt64(spanFrames % 64) {
            return false
        }
        var usable = 0
        var previousEnd = 0
        for r in 0..<rangeCount {
            guard let start = frameIndex(of: PhysicalAddress(words[wordCount + 2 * r])) else { return false }
            let end = Int((words[wordCount + 2 * r + 1] >> Self.frameShift) - firstFrame)
            guard start >= previousEnd, end > start, end <= spanFrames else { return false }
            if countSet(previousEnd, start) != start - previousEnd { return false }
            usable += end - start
            previousEnd = end
        }
        guard usable == totalFrames, previousEnd == spanFrames,
              let metadata = frameIndex(of: bitmapRange.start)
        else { return false }
        let metadataFrames = Int(bitmapRange.size >> Self.frameShift)
        return countSet(metadata, metadata + metadataFrames) == metadataFrames
    }

    // MARK: Bitmap

    private func address(ofFrame index: Int) -> PhysicalAddress {
        PhysicalAddress((firstFrame + UInt64(index)) << Self.frameShift)
    }

    private func frameIndex(of address: PhysicalAddress) -> Int? {
        let frame = address.rawValue >> Self.frameShift
        guard frame >= firstFrame, frame - firstFrame < UInt64(spanFrames) else { return nil }
        return Int(frame - firstFrame)
    }

    /// The merged range containing `address`, by binary search.
    private func rangeIndex(containing address: UInt64) -> Int? {
        var low = 0
        var high = rangeCount
        while low < high {
            let mid = (low + high) / 2
            if words[wordCount + 2 * mid + 1] <= address { low = mid + 1 } else { high = mid }
        }
        guard low < rangeCount, words[wordCount + 2 * low] <= address else { return nil }
        return low
    }

    private func isSet(_ i: Int) -> Bool { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }

    /// Calls `body(word, mask)` for the words covering frames `[low, high)`.
    private func forEachWord(_ low: Int, _ high: Int, _ body: (Int, UInt64) -> Bool) {
        var i = low
        while i < high {
            let bit = i & 63
            let n = min(64 - bit, high - i)
            let mask: UInt64 = n == 64 ? ~0 : ((1 << UInt64(n)) - 1) << UInt64(bit)
            if !body(i >> 6, mask) { return }
            i += n
        }
    }

    private func setBits(_ low: Int, _ high: Int, used: Bool) {
        let words = self.words
        forEachWord(low, high) { w, mask in
            if used { words[w] |= mask } else { words[w] &= ~mask }
            return true
        }
    }

    private func countSet(_ low: Int, _ high: Int) -> Int {
        var count = 0
        forEachWord(low, high) { w, mask in
            count += (words[w] & mask).nonzeroBitCount
            return true
        }
        return count
    }

    private func firstSet(from low: Int, before high: Int) -> Int? {
        var found: Int? = nil
        forEachWord(low, high) { w, mask in
            let bits = words[w] & mask
            if bits != 0 { found = w * 64 + bits.trailingZeroBitCount; return false }
            return true
        }
        return found
    }

    private func firstClear(from low: Int, before high: Int) -> Int? {
        var found: Int? = nil
        forEachWord(low, high) { w, mask in
            let bits = ~words[w] & mask
            if bits != 0 { found = w * 64 + bits.trailingZeroBitCount; return false }
            return true
        }
        return found
    }
}
