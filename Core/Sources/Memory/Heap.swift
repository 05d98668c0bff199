// The kernel heap of one core: what Embedded Swift's posix_memalign and free end up in.
//
// It sits on top of the core's FrameAllocator and, like it, keeps all its metadata in
// the memory it manages: the struct itself is a few words in the per-core block.
//
// Small blocks. Requests whose size and alignment both fit in 1024 bytes are rounded up
// to a power-of-two class: 16, 32, 64, 128, 256, 512 or 1024 bytes. Each class takes
// whole 4 KiB pages. A page starts with a 64-byte header and holds blocks at the
// multiples of the class size that lie past the header, so every block is aligned to
// its own size (hence a request's alignment is met by choosing a class at least that
// large). The header holds:
//
//     0   magic, xor the page's physical address (a stale or foreign page never matches)
//     8   next page of this class with free blocks (pointer bits, 0 = none)
//    16   previous such page
//    24   class index (UInt16), live blocks (UInt16), first free block (UInt16 offset,
//         0 = none; each free block stores the offset of the next in its first bytes),
//         bump offset (UInt16: the blocks from here on were never handed out)
//    32   one bit per block position, set while the block is handed out (exact
//         double-free detection)
//
// A 2048-byte class would fit only one block beside the header, no better than a large
// block, so there is none.
//
// Large blocks. Anything bigger, or aligned to more than 1024 bytes, takes contiguous
// frames. The first frame starts with a header (magic xor address, frame count, data
// offset, capacity) and the data starts at max(64, alignment) bytes in, which for a
// 4096-byte alignment is the second frame. `free` finds the header from the pointer:
// one frame back for a page-aligned pointer (a small block is never page-aligned), the
// start of the pointer's frame otherwise.
//
// Giving pages back. A large block's frames go back on free. A small page goes back
// when its last block is freed, unless it is the only page of its class with room,
// which is kept to avoid thrashing at a page boundary.
//
// Bad frees. A pointer outside the core's memory, into a page without a matching
// header, not on a block boundary, or to a block already free is reported and changes
// nothing. A double free of a large block, or of the last block of a page already given
// back, looks like a foreign pointer and is reported as `notAHeapBlock`.

import Basics

public struct Heap {
    static let classCount = 7
    static let smallestShift = 4
    static let largestSmall = 1024
    static let headerSize = 64
    static let pageSize = Int(FrameAllocator.frameSize)
    static let smallMagic: UInt64 = 0x5346_4850_534D_414C // "SFHPSMAL"
    static let largeMagic: UInt64 = 0x5346_4850_4C41_5247 // "SFHPLARG"

    /// For each class, the first page that has a free block (pointer bits, 0 = none).
    private var partialPages: InlineArray<7, UInt> = .init(repeating: 0)

    /// The capacity of the blocks handed out and not yet freed: the class size for a
    /// small block, the bytes from the data to the end of its frames for a large one.
    public private(set) var bytesInUse: Int = 0
    /// Blocks handed out and not yet freed.
    public private(set) var blocksInUse: Int = 0
    /// Frames taken from the frame allocator and not yet given back.
    public private(set) var pagesHeld: Int = 0

    public init() {}

    // MARK: Allocation

    /// A block of at least `byteCount` bytes aligned to `alignment` (a power of two, at
    /// most 4096), or nil when memory ran out or the request is invalid. Always pass the
    /// same frame allocator.
    public mutating func allocate(byteCount: Int, alignment: Int,
                                  frames: inout FrameAllocator) -> UnsafeMutableRawPointer? {
        guard byteCount >= 0, alignment > 0, alignment & (alignment - 1) == 0,
              alignment <= Self.pageSize
        else { return nil }
        let needed = max(byteCount, alignment, 1 << Self.smallestShift)
        if needed <= Self.largestSmall {
            let shift = Int.bitWidth - (needed - 1).leadingZeroBitCount
            return allocateSmall(classIndex: shift - Self.smallestShift, frames: &frames)
        }
        return allocateLarge(byteCount: byteCount, alignment: alignment, frames: &frames)
    }

    private mutating func allocateSmall(classIndex: Int, frames: inout FrameAllocator) -> UnsafeMutableRawPointer? {
        let size = (1 << Self.smallestShift) << classIndex
        var page: UnsafeMutableRawPointer
        if let existing = UnsafeMutableRawPointer(bitPattern: partialPages[classIndex]) {
            page = existing
        } else {
            guard let frame = frames.allocate() else { return nil }
            page = frames.pointer(to: frame)
            page.initializeMemory(as: UInt8.self, repeating: 0, count: Self.headerSize)
            page.storeBytes(of: Self.smallMagic ^ frame.rawValue, as: UInt64.self)
            let header = SmallHeader(page)
            header.classIndex = classIndex
            header.bump = max(size, Self.headerSize)
            pagesHeld += 1
            pushPartial(page, classIndex: classIndex)
        }

        let header = SmallHeader(page)
        let offset: Int
        if header.freeHead != 0 {
            offset = header.freeHead
            header.freeHead = Int(page.load(fromByteOffset: offset, as: UInt16.self))
        } else {
            offset = header.bump
            header.bump = offset + size
        }
        header.setAllocated(offset / size, true)
        header.live += 1
        if header.freeHead == 0 && header.bump + size > Self.pageSize {
            removePartial(page, classIndex: classIndex)
        }
        bytesInUse += size
        blocksInUse += 1
        return page + offset
    }

    private mutating func allocateLarge(byteCount: Int, alignment: Int,
                                        frames: inout FrameAllocator) -> UnsafeMutableRawPointer? {
        let dataOffset = max(Self.headerSize, alignment)
        let (total, overflow) = byteCount.addingReportingOverflow(dataOffset + Self.pageSize - 1)
        guard !overflow else { return nil }
        let count = total / Self.pageSize
        guard count <= frames.freeFrames, let first = frames.allocate(count: count) else { return nil }
        let header = frames.pointer(to: first)
        let capacity = count * Self.pageSize - dataOffset
        header.storeBytes(of: Self.largeMagic ^ first.rawValue, as: UInt64.self)
        header.storeBytes(of: UInt64(count), toByteOffset: 8, as: UInt64.self)
        header.storeBytes(of: UInt64(dataOffset), toByteOffset: 16, as: UInt64.self)
        header.storeBytes(of: UInt64(capacity), toByteOffset: 24, as: UInt64.self)
        pagesHeld += count
        bytesInUse += capacity
        blocksInUse += 1
        return header + dataOffset
    }

    // MARK: Freeing

    /// Gives back a block from `allocate`. A pointer this heap did not hand out, or a
    /// block already freed, is reported (where it can be told) and changes nothing.
    public mutating func free(_ pointer: UnsafeMutableRawPointer, frames: inout FrameAllocator) throws(MemoryError) {
        let address = frames.physicalAddress(of: pointer)
        let pageSize = FrameAllocator.frameSize
        if address.isAligned(to: pageSize) {
            guard address.rawValue >= pageSize else { throw .notAHeapBlock }
            try freeLarge(header: PhysicalAddress(address.rawValue - pageSize), data: address, frames: &frames)
            return
        }
        let frame = address.alignedDown(to: pageSize)
        guard frames.owns(frame), !frames.isFree(frame) else { throw .notAHeapBlock }
        let magic = frames.pointer(to: frame).load(as: UInt64.self)
        if magic == Self.smallMagic ^ frame.rawValue {
            try freeSmall(page: frames.pointer(to: frame), frame: frame,
                          offset: Int(address - frame), frames: &frames)
        } else {
            try freeLarge(header: frame, data: address, frames: &frames)
        }
    }

    private mutating func freeSmall(page: UnsafeMutableRawPointer, frame: PhysicalAddress, offset: Int,
                                    frames: inout FrameAllocator) throws(MemoryError) {
        let header = SmallHeader(page)
        let classIndex = header.classIndex
        guard classIndex < Self.classCount else { throw .notAHeapBlock }
        let size = (1 << Self.smallestShift) << classIndex
        guard offset >= max(size, Self.headerSize), offset % size == 0, offset < header.bump
        else { throw .notAHeapBlock }
        guard header.isAllocated(offset / size) else { throw .doubleFree }

        let wasFull = header.freeHead == 0 && header.bump + size > Self.pageSize
        header.setAllocated(offset / size, false)
        page.storeBytes(of: UInt16(header.freeHead), toByteOffset: offset, as: UInt16.self)
        header.freeHead = offset
        header.live -= 1
        bytesInUse -= size
        blocksInUse -= 1
        if wasFull { pushPartial(page, classIndex: classIndex) }

        let onlyPartialPage = partialPages[classIndex] == UInt(bitPattern: page) && header.next == 0
        if header.live == 0 && !onlyPartialPage {
            removePartial(page, classIndex: classIndex)
            page.storeBytes(of: 0, as: UInt64.self)
            try frames.free(frame)
            pagesHeld -= 1
        }
    }

    private mutating func freeLarge(header frame: PhysicalAddress, data: PhysicalAddress,
                                    frames: inout FrameAllocator) throws(MemoryError) {
        guard frames.owns(frame), !frames.isFree(frame) else { throw .notAHeapBlock }
        let header = frames.pointer(to: frame)
        guard header.load(as: UInt64.self) == Self.largeMagic ^ frame.rawValue,
              header.load(fromByteOffset: 16, as: UInt64.self) == data - frame
        else { throw .notAHeapBlock }
        let count = header.load(fromByteOffset: 8, as: UInt64.self)
        let capacity = header.load(fromByteOffset: 24, as: UInt64.self)
        guard count >= 1, count <= UInt64(frames.totalFrames) else { throw .notAHeapBlock }
        header.storeBytes(of: 0, as: UInt64.self)
        do {
            try frames.free(frame, count: Int(count))
        } catch {
            header.storeBytes(of: Self.largeMagic ^ frame.rawValue, as: UInt64.self)
            throw .notAHeapBlock
        }
        pagesHeld -= Int(count)
        bytesInUse -= Int(capacity)
        blocksInUse -= 1
    }

    // MARK: Self-check

    /// Walks the lists of pages with free blocks and checks each page's header: magic,
    /// class, live count against its allocation bits, and that the page does have room.
    public func checkConsistency(frames: FrameAllocator) -> Bool {
        var liveInPartialPages = 0
        for classIndex in 0..<Self.classCount {
            let size = (1 << Self.smallestShift) << classIndex
            var previous: UInt = 0
            var current = partialPages[classIndex]
            var steps = 0
            while let page = UnsafeMutableRawPointer(bitPattern: current) {
                steps += 1
                let frame = frames.physicalAddress(of: page)
                guard steps <= pagesHeld, frames.owns(frame),
                      page.load(as: UInt64.self) == Self.smallMagic ^ frame.rawValue
                else { return false }
                let header = SmallHeader(page)
                guard header.classIndex == classIndex, header.previous == previous,
                      header.freeHead != 0 || header.bump + size <= Self.pageSize
                else { return false }
                var bits = 0
                for i in 0..<4 { bits += page.load(fromByteOffset: 32 + 8 * i, as: UInt64.self).nonzeroBitCount }
                guard bits == header.live else { return false }
                liveInPartialPages += header.live
                previous = current
                current = header.next
            }
        }
        return liveInPartialPages <= blocksInUse && bytesInUse >= 0 && pagesHeld >= 0
    }

    // MARK: Page lists

    private mutating func pushPartial(_ page: UnsafeMutableRawPointer, classIndex: Int) {
        let header = SmallHeader(page)
        let head = partialPages[classIndex]
        header.previous = 0
        header.next = head
        if let old = UnsafeMutableRawPointer(bitPattern: head) {
            let oldHeader = SmallHeader(old)
            oldHeader.previous = UInt(bitPattern: page)
        }
        partialPages[classIndex] = UInt(bitPattern: page)
    }

    private mutating func removePartial(_ page: UnsafeMutableRawPointer, classIndex: Int) {
        let header = SmallHeader(page)
        let next = header.next
        let previous = header.previous
        if let previousPage = UnsafeMutableRawPointer(bitPattern: previous) {
            let previousHeader = SmallHeader(previousPage)
            previousHeader.next = next
        } else {
            partialPages[classIndex] = next
        }
        if let nextPage = UnsafeMutableRawPointer(bitPattern: next) {
            let nextHeader = SmallHeader(nextPage)
            nextHeader.previous = previous
        }
        header.next = 0
        header.previous = 0
    }
}

/// Typed access to the header at the start of a small-block page (layout above).
private struct SmallHeader {
    let page: UnsafeMutableRawPointer
    init(_ page: UnsafeMutableRawPointer) { self.page = page }

    var next: UInt {
        get { UInt(page.load(fromByteOffset: 8, as: UInt64.self)) }
        nonmutating set { page.storeBytes(of: UInt64(newValue), toByteOffset: 8, as: UInt64.self) }
    }
    var previous: UInt {
        get { UInt(page.load(fromByteOffset: 16, as: UInt64.self)) }
        nonmutating set { page.storeBytes(of: UInt64(newValue), toByteOffset: 16, as: UInt64.self) }
    }
    var classIndex: Int {
        get { Int(page.load(fromByteOffset: 24, as: UInt16.self)) }
        nonmutating set { page.storeBytes(of: UInt16(newValue), toByteOffset: 24, as: UInt16.self) }
    }
    var live: Int {
        get { Int(page.load(fromByteOffset: 26, as: UInt16.self)) }
        nonmutating set { page.storeBytes(of: UInt16(newValue), toByteOffset: 26, as: UInt16.self) }
    }
    var freeHead: Int {
        get { Int(page.load(fromByteOffset: 28, as: UInt16.self)) }
        nonmutating set { page.storeBytes(of: UInt16(newValue), toByteOffset: 28, as: UInt16.self) }
    }
    var bump: Int {
        get { Int(page.load(fromByteOffset: 30, as: UInt16.self)) }
        nonmutating set { page.storeBytes(of: UInt16(newValue), toByteOffset: 30, as: UInt16.self) }
    }
    func isAllocated(_ block: Int) -> Bool {
        page.load(fromByteOffset: 32 + 8 * (block >> 6), as: UInt64.self) & (1 << UInt64(block & 63)) != 0
    }
    func setAllocated(_ block: Int, _ value: Bool) {
        let offset = 32 + 8 * (block >> 6)
        var word = page.load(fromByteOffset: offset, as: UInt64.self)
        if value { word |= 1 << UInt64(block & 63) } else { word &= ~(1 << UInt64(block & 63)) }
        page.storeBytes(of: word, toByteOffset: offset, as: UInt64.self)
    }
}
