// The read-only pages (code and constants) of the programs this core has started, kept
// filled, so that every domain running a program maps the same frames instead of its
// own copy. A spawn then neither allocates, clears nor copies those pages; the caches
// hold one copy of them; and under QEMU the code is translated once, where a fresh copy
// per domain would be translated again each time (and writing over frames that held
// another domain's code makes QEMU throw away what it translated there).
//
// Authority. Each page is a frame object the kernel makes (`createRoot`) in the entry's
// own CSpace. A domain maps a copy minted with only the page's rights (read, and
// execute for code), and that copy sits in the domain's shared-pages CSpace, which the
// kernel holds and no capability of the domain names. So the domain cannot write the
// page, and cannot unmap, delete or revoke it: a revoke would remove every other copy,
// and with it the page from every other domain. The copies go when the domain ends
// (`release`), and with them its mappings.
//
// Lifetime. An entry is in use while a copy of its pages other than its own exists.
// Unused entries are given back when a spawn finds memory short, and by the self-tests
// before they count what came back.
import Basics
import BootInfo
import Capabilities
import ELF
import Memory

struct ProgramCache {
    struct Entry {
        let program: [UInt8]
        /// Slot 0 the CNode itself, slot 1 + i the frame of `pages[i]`.
        let cspace: CSpace
        /// The read-only pages, as the program's load plan orders them.
        let pages: [(address: UInt64, rights: CapabilityRights)]
        /// The first page's object: while it has copies besides the entry's, a domain
        /// maps the program.
        let firstPage: ObjectID?
        /// Every frame the entry holds (its CNode's and its pages').
        let frames: [PhysicalAddress]
    }

    var entries: [Entry] = []

    /// Slots a CSpace needs for `pages` pages and itself.
    static func slots(for pages: Int) -> UInt64 { powerOfTwo(atLeast: max(16, UInt64(pages) + 1)) }
    /// The frames such a CSpace's CNode takes.
    static func cnodeFrames(for pages: Int) -> Int { Int(max(1, slots(for: pages) * CapabilityType.cnodeSlotBytes / 4096)) }
}

extension CoreState {
    /// The cache entry of `program`, made now if it has none (nil if memory ran out or
    /// the program has no read-only page).
    func sharedPages(of program: BootImage.Program, plan: LoadPlan) -> ProgramCache.Entry? {
        if let entry = programCache.entries.first(where: { $0.program == program.name }) { return entry }
        let readOnly = plan.filter { !$0.permissions.contains(.writable) }
        guard !readOnly.isEmpty else { return nil }
        let memory = CoreBlock.current!
        let cnodeFrames = ProgramCache.cnodeFrames(for: readOnly.count)
        guard let cnode = memory.pointee.frames.allocate(count: cnodeFrames, alignment: cnodeFrames) else { return nil }
        var frames = (0..<cnodeFrames).map { cnode + UInt64($0) * 4096 }
        guard let cspace = try? capabilities.createCSpace(at: cnode, slotCount: ProgramCache.slots(for: readOnly.count)) else {
            for frame in frames { try? memory.pointee.frames.free(frame) }
            return nil
        }
        var pages: [(address: UInt64, rights: CapabilityRights)] = []
        var firstPage: ObjectID? = nil
        for (index, page) in readOnly.enumerated() {
            guard let frame = memory.pointee.frames.allocate(),
                  page.fill(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(frame.rawValue)), count: 4096),
                            from: program.bytes),
                  let object = try? capabilities.createRoot(.frame, base: frame.rawValue, size: 4096,
                                                            at: .root(UInt32(index + 1)), in: cspace) else {
                discard(ProgramCache.Entry(program: program.name, cspace: cspace, pages: [], firstPage: nil, frames: frames))
                return nil
            }
            frames.append(frame)
            if firstPage == nil { firstPage = object }
            pages.append((page.virtualAddress, page.permissions.contains(.executable) ? [.read, .execute] : .read))
        }
        let entry = ProgramCache.Entry(program: program.name, cspace: cspace, pages: pages, firstPage: firstPage, frames: frames)
        programCache.entries.append(entry)
        return entry
    }

    /// What `attempt` gives, or if nothing, what it gives once ended domains' memory,
    /// the spare block and the entries no domain maps (but `program`'s, which a spawn
    /// is about to map) are given back.
    func evictingIfShort<T>(keeping program: [UInt8], _ attempt: () -> T?) -> T? {
        if let result = attempt() { return result }
        let released = releaseEnded()
        let freed = freeSpareBlock()
        return evictUnusedPrograms(keeping: program) || freed || released ? attempt() : nil
    }

    /// Gives back every entry no domain maps (but `kept`'s, which a spawn is about to
    /// map), once the domains that ended have let go of theirs; true if any was.
    @discardableResult
    func evictUnusedPrograms(keeping kept: [UInt8]? = nil) -> Bool {
        releaseEnded()
        let unused = programCache.entries.filter { entry in
            entry.program != kept && (entry.firstPage.map { capabilities.copyCount(of: $0) <= 1 } ?? true)
        }
        programCache.entries.removeAll { entry in unused.contains { $0.program == entry.program } }
        for entry in unused { discard(entry) }
        return !unused.isEmpty
    }

    /// Deletes an entry's capabilities (the CNode's own last: its death deletes the
    /// pages'), then frees its frames.
    private func discard(_ entry: ProgramCache.Entry) {
        _ = try? capabilities.delete(.root(0), in: entry.cspace)
        applyMemoryEffects()
        for frame in entry.frames { try? CoreBlock.current!.pointee.frames.free(frame) }
    }
}
