// What the Embedded Swift runtime needs from a user program: memory (a heap over pages
// it maps from its own heap RAM as it grows, using the same allocator code as the
// kernel) and character output (a line buffer sent to the console by system call).
// Both are shared by all of the program's threads, so they run disabled, and once the
// domain spans cores, under a lock each (Spanning.swift).
import UserRuntimeC
import Basics
import Memory

/// Where the heap's pages live: a window of virtual memory at 3 TiB (PML4 entry 6), backed
/// by the heap's RAM capability (`InitialSlot.heapRAM`, which the kernel makes at spawn
/// but neither clears nor maps) and mapped only as the heap grows. A spawn thus makes
/// none of the heap's pages, and a program pays (retype, clear, map) for those it uses.
/// The RAM holds, in order: a CNode of 64 slots in root slot 51 for the capabilities,
/// the window's PDPT, page directory and page table (its slots 0–2), then the pages
/// (slots 3 on, page `i` at entry `i` of the table).
enum HeapWindow {
    static let base: UInt64 = 6 << 39
    static let ram = Capability(slot: InitialSlot.heapRAM)
    static let cnodeSlot: UInt32 = 51
    static let cnode = Capability(slot: cnodeSlot)
    static let cnodeSlots: UInt64 = 64
    static let tables = 3
    /// The most pages the window holds: the heap's RAM less the CNode (64 slots of 64
    /// bytes, one page) and the tables.
    static let pages = HeapRAM.pages - 1 - tables
    /// Pages mapped when the heap starts (its allocator's bitmap takes the first), and
    /// the fewest added each time it grows: each growth is one retype and a map per
    /// page, so a few at a time keeps the invocations down without making many pages
    /// that a small program never touches.
    static let growth = 4
    /// Pages the window's one page table maps: its own RAM's first, then pieces of the
    /// memory service's RAM added to it (`UserMemory.extend`).
    static let capacity = 512

    static func slot(_ index: Int) -> Capability { Capability(.leaf(cnodeSlot, UInt32(index))) }
}

/// The pages of the heap's window mapped so far, from its start.
struct HeapPages {
    private(set) var mapped = 0
    /// How many pages the window may hold; lowered for good if a map is refused (the
    /// retyped frame then sits in its slot, and nothing more is made).
    private(set) var limit = HeapWindow.pages
    let table: Capability

    /// Makes the CNode and the window's tables, each mapped at entry 0 of the one above
    /// (the PDPT at the window's entry of the PML4). Allocates nothing: the heap does
    /// not exist yet.
    init() throws(InvocationStatus) {
        try HeapWindow.ram.retype(to: .cnode, size: HeapWindow.cnodeSlots, into: HeapWindow.cnode)
        let pdpt = HeapWindow.slot(0), directory = HeapWindow.slot(1), table = HeapWindow.slot(2)
        try HeapWindow.ram.retype(to: .pdpt, into: pdpt)
        try Capability.ownPML4.map(pdpt, at: Int(HeapWindow.base >> 39) & 511)
        try HeapWindow.ram.retype(to: .pageDirectory, into: directory)
        try pdpt.map(directory, at: 0)
        try HeapWindow.ram.retype(to: .pageTable, into: table)
        try directory.map(table, at: 0)
        self.table = table
    }

    /// Maps up to `count` more pages (retyped in one invocation, then mapped one by
    /// one); returns how many it mapped, which may be none.
    mutating func map(count wanted: Int) -> Int {
        let count = min(wanted, limit - mapped)
        guard count > 0,
              (try? HeapWindow.ram.retype(to: .frame, size: 4096, count: count, into: HeapWindow.slot(HeapWindow.tables + mapped))) != nil
        else { return 0 }
        let before = mapped
        for index in before..<(before + count) {
            guard (try? table.map(HeapWindow.slot(HeapWindow.tables + index), at: index, rights: [.read, .write])) != nil else {
                limit = mapped
                break
            }
            mapped += 1
        }
        return mapped - before
    }
}

struct UserMemory {
    /// Over the whole window; the pages not yet mapped are taken out of use, and `grow`
    /// and `extend` give them to it as they map them.
    var frames: FrameAllocator
    var heap = Heap()
    var pages: HeapPages
    /// Pages mapped past the window's own RAM, from pieces of the memory service.
    var extraPages = 0

    static func address(ofPage index: Int) -> PhysicalAddress { PhysicalAddress(HeapWindow.base + UInt64(index) * 4096) }

    init?() {
        guard var pages = try? HeapPages(), pages.map(count: HeapWindow.growth) > 0 else { return nil }
        var range = PhysicalRange(start: Self.address(ofPage: 0), end: Self.address(ofPage: HeapWindow.capacity))
        guard var frames = try? withUnsafePointer(to: &range, { (pointer) throws(MemoryError) -> FrameAllocator in
            try FrameAllocator(usable: UnsafeBufferPointer(start: pointer, count: 1), virtualOffset: 0)
        }) else { return nil }
        guard (try? frames.take(Self.address(ofPage: pages.mapped), count: HeapWindow.capacity - pages.mapped)) != nil else { return nil }
        self.frames = frames
        self.pages = pages
    }

    /// Maps at least `count` more pages (if the window has them) and hands them to the
    /// frame allocator; false if none could be.
    mutating func grow(atLeast count: Int) -> Bool {
        let first = pages.mapped
        let added = pages.map(count: max(count, HeapWindow.growth))
        guard added > 0 else { return false }
        return (try? frames.free(Self.address(ofPage: first), count: added)) != nil
    }

    /// Adds the RAM at `piece` (a piece of the memory service) to the heap, once the
    /// window's own RAM is all mapped: its first page becomes a CNode at `cnode` for the
    /// others' frames, which are mapped after the window's pages. False if any step was
    /// refused (what was made stays, unused).
    mutating func extend(with piece: Capability, cnode slot: UInt32) -> Bool {
        let cnode = Capability(slot: slot)
        let count = Int(MemoryService.pieceBytes / 4096) - 1
        let first = HeapWindow.pages + extraPages
        guard pages.mapped == HeapWindow.pages, first + count <= HeapWindow.capacity,
              (try? piece.retype(to: .cnode, size: HeapWindow.cnodeSlots, into: cnode)) != nil,
              (try? piece.retype(to: .frame, size: 4096, count: count, into: Capability(.leaf(slot, 0)))) != nil else { return false }
        for index in 0..<count {
            guard (try? pages.table.map(Capability(.leaf(slot, UInt32(index))), at: first + index, rights: [.read, .write])) != nil else {
                return false
            }
        }
        extraPages += count
        return (try? frames.free(Self.address(ofPage: first), count: count)) != nil
    }
}

nonisolated(unsafe) var userMemory: UserMemory? = nil
nonisolated(unsafe) var lineBuffer: [UInt8] = []
nonisolated(unsafe) var lineBufferReady = false

nonisolated(unsafe) var userMemoryStarting = false

func memory() -> UnsafeMutablePointer<UserMemory>? {
    if userMemory == nil {
        // Making the heap must not allocate; if it did, that allocation fails here
        // instead of starting the heap again inside itself.
        guard !userMemoryStarting else { return nil }
        userMemoryStarting = true
        defer { userMemoryStarting = false }
        guard let made = UserMemory() else { return nil }
        userMemory = made
    }
    return withUnsafeMutablePointer(to: &userMemory!) { $0 }
}

@_cdecl("posix_memalign")
func posixMemalign(_ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int) -> CInt {
    let wasDisabled = Dispatcher.disable()
    Span.acquire(&Span.heapWord)
    defer {
        Span.release(&Span.heapWord)
        Dispatcher.restore(wasDisabled)
    }
    result.pointee = nil
    // A request the heap can never meet would otherwise grow the window to its end.
    guard size >= 0, alignment > 0, alignment & (alignment - 1) == 0, alignment <= 4096 else { return 22 }
    guard size <= HeapWindow.pages * 4096, let memory = memory() else { return 12 }
    // The pages a large block of this size takes (a small one takes one): grow by at
    // least that much until the heap has room, or the window is full.
    let pagesNeeded = (size + max(64, alignment) + 4095) / 4096
    while true {
        if let block = memory.pointee.heap.allocate(byteCount: size, alignment: alignment, frames: &memory.pointee.frames) {
            result.pointee = block
            return 0
        }
        guard memory.pointee.grow(atLeast: pagesNeeded) else { return 12 }
    }
}

@_cdecl("user_free")
func userFree(_ pointer: UnsafeMutableRawPointer?) {
    let wasDisabled = Dispatcher.disable()
    Span.acquire(&Span.heapWord)
    defer {
        Span.release(&Span.heapWord)
        Dispatcher.restore(wasDisabled)
    }
    guard let pointer, let memory = memory() else { return }
    try? memory.pointee.heap.free(pointer, frames: &memory.pointee.frames)
}

@_cdecl("putchar")
func putchar(_ character: CInt) -> CInt {
    let wasDisabled = Dispatcher.disable()
    Span.acquire(&Span.consoleWord)
    defer {
        Span.release(&Span.consoleWord)
        Dispatcher.restore(wasDisabled)
    }
    let byte = UInt8(truncatingIfNeeded: character)
    if !lineBufferReady { lineBuffer.reserveCapacity(256); lineBufferReady = true }
    lineBuffer.append(byte)
    if byte == UInt8(ascii: "\n") || lineBuffer.count >= 200 {
        lineBuffer.withUnsafeBufferPointer { buffer in
            _ = try? SystemCall.write(UnsafeRawBufferPointer(buffer))
        }
        lineBuffer.removeAll(keepingCapacity: true)
    }
    return character
}

@_cdecl("arc4random_buf")
func arc4randomBuffer(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
    for i in 0..<count { buffer.storeBytes(of: UInt8(truncatingIfNeeded: i &* 151), toByteOffset: i, as: UInt8.self) }
}
