// A domain on several cores (docs/spanning.md): one dispatcher per core, one address
// space. The first thread started on another core spans the domain there: the library
// prepares a frame and an upcall stack for the new dispatcher in its own memory, and the
// monitors have that core's kernel make a dispatcher that runs in this domain's page
// tables (`Monitor.span`, the span protocol of Core's Spans.swift). The new dispatcher
// starts at its run upcall with no thread, and sleeps until a thread is put in its
// inbox.
//
// What every dispatcher shares once the domain spans (the scheduler's cross-dispatcher
// state, the heap, the console line) is taken under a spin lock, always while
// disabled, so a holder is never upcalled away from it. Before the first span there is
// one dispatcher and the locks cost a load and a branch.
//
// Not yet: the heap does not grow on other cores (their CSpaces hold none of its
// capabilities), so the first span maps the whole heap window first; and only the home
// dispatcher talks to the monitor (waitsets, connections and `Monitor` requests).
import ABI
import UserRuntimeC

public enum Span {
    /// True from the first span on (set while the domain still has one dispatcher).
    nonisolated(unsafe) static var isSpanned = false
    /// The lock words: the scheduler's shared state (threads' ends and joiners, mutexes,
    /// conditions, inboxes, the dispatcher list), the heap and the console line.
    nonisolated(unsafe) static var schedulerWord: UInt64 = 0
    nonisolated(unsafe) static var heapWord: UInt64 = 0
    nonisolated(unsafe) static var consoleWord: UInt64 = 0
    /// The dispatchers on other cores, in the order they were made.
    nonisolated(unsafe) static var dispatchers: [(core: Int, record: DispatcherRecord)] = []
    /// How long a dispatcher with nothing to run sleeps before it looks again, in TSC
    /// cycles, should a notification be lost (a few milliseconds here).
    static let nap: UInt64 = 20_000_000
    /// A new dispatcher's memory: one heap block of three pages, whose last page is its
    /// frame and whose first two hold its upcall stack, growing down from the frame
    /// (less the heap's 64-byte header of a large block, so that it takes exactly three).
    static let dispatcherBlockBytes = 3 * 4096 - 64

    @inline(__always) static func acquire(_ word: UnsafeMutablePointer<UInt64>) {
        guard isSpanned else { return }
        while user_try_lock(word) == 0 { user_pause() }
    }

    @inline(__always) static func release(_ word: UnsafeMutablePointer<UInt64>) {
        guard isSpanned else { return }
        user_unlock(word)
    }

    /// The scheduler's lock, disabled.
    @inline(__always) static func lock() { acquire(&schedulerWord) }
    @inline(__always) static func unlock() { release(&schedulerWord) }

    /// Moves what other dispatchers made runnable here into the run queue; if that
    /// leaves nothing to run, marks `record` sleeping (so that they notify it) and
    /// returns false.
    static func collectInbox(of record: DispatcherRecord) -> Bool {
        lock()
        for thread in record.inbox { record.runQueue.append(thread) }
        record.inbox.removeAll(keepingCapacity: true)
        record.sleeping = record.runQueue.isEmpty
        unlock()
        return !record.runQueue.isEmpty
    }

    /// `record` is awake again.
    static func wake(_ record: DispatcherRecord) {
        lock()
        record.sleeping = false
        unlock()
    }

    /// The core of the domain's first dispatcher, once it spans.
    nonisolated(unsafe) static var homeCore = 0

    /// The cores this domain has a dispatcher on, the home first.
    public static var cores: [Int] {
        guard isSpanned else { return [Program.identity.core] }
        return locked { [homeCore] + dispatchers.map { $0.core } }
    }

    /// `body`'s result, run disabled under the scheduler's lock (from enabled code).
    static func locked<Result>(_ body: () -> Result) -> Result {
        let wasDisabled = Dispatcher.disable()
        lock()
        defer {
            unlock()
            Dispatcher.restore(wasDisabled)
        }
        return body()
    }

    /// This domain's dispatcher on `core`, made through the monitors the first time
    /// (only the home dispatcher can ask: the others have no monitor connection).
    static func dispatcher(on core: Int) throws(MonitorStatus) -> DispatcherRecord {
        if let found = locked({ dispatchers.first { $0.core == core }?.record }) { return found }
        let here = Scheduler.here
        guard here.isHome else { throw .noMonitor }
        if core == here.identity.core { return here }
        if !isSpanned { prepareToSpan() }
        var memory: UnsafeMutableRawPointer? = nil
        guard posixMemalign(&memory, 16, dispatcherBlockBytes) == 0, let block = memory else { throw .outOfResources }
        let page = block + dispatcherBlockBytes - 4096
        guard UInt(bitPattern: page) & 0xFFF == 0 else { fatalError("a large heap block does not end on a page") }
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        let frame = page.assumingMemoryBound(to: user_dispatcher_frame.self)
        let record = DispatcherRecord(isHome: false, frame: frame)
        // The frame holds the record for good: it is the new dispatcher's.
        let word = UInt64(UInt(bitPattern: Unmanaged.passRetained(record).toOpaque()))
        user_dispatcher_prepare(frame, UInt64(UInt(bitPattern: page)), word)
        // On failure the frame and stack stay allocated: a span that timed out may still
        // start, and would run on them.
        _ = try Monitor.ask(.span(core: core, frameAddress: UInt64(UInt(bitPattern: page))))
        locked { dispatchers.append((core, record)) }
        return record
    }

    /// Before the first span: maps the whole heap window (no other core can grow it)
    /// and adds a piece of this core's memory service to it (each span and thread takes
    /// a few pages), then turns the locks on, while this is still the only dispatcher.
    static func prepareToSpan() {
        let piece = try? LibrarySlots.take()
        if let piece, (try? Monitor.allocate(MemoryService.pieceBytes, into: piece)) == nil { _ = try? piece.delete() }
        let cnode = try? LibrarySlots.takeSlot()
        let wasDisabled = Dispatcher.disable()
        if let memory = memory() {
            _ = memory.pointee.grow(atLeast: HeapWindow.pages)
            if let piece, let cnode, piece.type == .physicalRAM { _ = memory.pointee.extend(with: piece, cnode: cnode) }
        }
        homeCore = Program.identity.core
        isSpanned = true
        Dispatcher.restore(wasDisabled)
    }
}

extension Span {
    /// Why `unmap` or `protect` failed.
    public enum Failure: Error, Equatable {
        /// The kernel refused the change (nothing changed).
        case refused(InvocationStatus)
        /// The page table changed here, but the shootdown was refused or did not finish
        /// (`timedOut`: a core neither answered nor stopped): other cores may still hold
        /// the old translation.
        case shootdown(InvocationStatus)

        /// What a status of `unmapEverywhere` or `protectEverywhere` means: the
        /// shootdown's own statuses come after the change was made, any other before.
        init(everywhere status: InvocationStatus) {
            switch status {
            case .timedOut, .tooManyInFlight, .noKnowledge: self = .shootdown(status)
            default: self = .refused(status)
            }
        }
    }

    /// Unmaps entry `entry` of page table `table`, which maps the page at `address`, and
    /// returns once no core that runs a dispatcher of this domain can still use the old
    /// translation (the kernels' shootdown down the knowledge base's tree; on one core
    /// the kernel's own `invlpg` suffices). Only the home dispatcher holds the page
    /// tables. Returns the cores that
    /// stopped for good while it waited (nothing runs there any more, so their old
    /// translations cannot be used; a core known stopped before is not asked at all).
    @discardableResult
    public static func unmap(entry: Int, of table: Capability, at address: UInt64) throws(Failure) -> [Int] {
        try change(table, .unmapEverywhere(at: entry, address: address), orHere: .unmap(at: entry))
    }

    /// Gives the page mapped at entry `entry` of page table `table` (at `address`)
    /// `rights` (read implied), and returns once no core that runs a dispatcher of this
    /// domain can still use the old ones: taking write away is `mprotect` to read-only.
    /// Returns the cores that stopped meanwhile, as `unmap` does.
    @discardableResult
    public static func protect(entry: Int, of table: Capability, at address: UInt64,
                               rights: CapabilityRights) throws(Failure) -> [Int] {
        try change(table, .protectEverywhere(at: entry, rights: rights, address: address), orHere: .protect(at: entry, rights: rights))
    }

    /// Makes the change, with its shootdown in the same kernel entry (`everywhere`) when
    /// the domain spans other cores, or only here (`here`) → the cores that stopped.
    static func change(_ table: Capability, _ everywhere: InvocationWords, orHere here: InvocationWords) throws(Failure) -> [Int] {
        guard isSpanned else {
            do { _ = try table.invoke(here) } catch { throw .refused(error) }
            return []
        }
        let stopped: UInt64
        do { stopped = try table.invoke(everywhere) } catch { throw Failure(everywhere: error) }
        return (0..<64).filter { stopped >> UInt64($0) & 1 != 0 }
    }
}

extension Thread {
    /// Starts `body` in a new thread on core `core`, spanning the domain there first if
    /// it has no dispatcher on that core. `noSuchCore`, `timedOut`, `outOfResources` (also
    /// when the heap has no room for the new dispatcher) and the like if the span failed; `noMonitor` if asked on another core than the
    /// home's for a core the domain does not span yet.
    public static func spawn(on core: Int, _ body: @escaping () -> Int) throws(MonitorStatus) -> Thread {
        start(body, on: try Span.dispatcher(on: core))
    }

    /// The core the calling thread runs on.
    public static var core: Int { Program.identity.core }

    /// The dispatcher this thread runs on, by its system-wide id (a domain's dispatchers
    /// on other cores are domains of those cores in the monitors' tables).
    public var dispatcherIdentity: SystemDomainID { dispatcher.identity }
}
