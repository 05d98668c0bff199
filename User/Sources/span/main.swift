// One domain on many cores (docs/spanning.md): the guest checks of spanned domains. Exit
// status 0 means every step went as it should; anything else is printed first.
//
//   span threads <core>…   a thread on each core (spanning the domain there): each says
//                          which core it runs on, reads what the first thread wrote
//                          before starting it, and adds to a counter under one Mutex
//                          many times; then all wait on one Condition until the first
//                          thread broadcasts, and end; the first joins each one
//   span fault <core>      a thread on that core reads an unmapped address: its joiner
//                          here learns it faulted, and where; the domain goes on, and a
//                          second thread on that core runs
//   span leave <core>      a thread on that core spins forever while the first thread
//                          ends the domain, with the other dispatcher's local number as
//                          its exit status
//   span watch <core>      runs `leave` and checks that the monitors stopped the
//                          dispatcher it left spinning (it leaves the domain table)
//   span unmap <core>…     a page mapped here, read in a loop by a thread on each other
//                          core; once every one has read it, it is unmapped here
//                          (`Span.unmap`, with the monitors' shootdown): each thread's
//                          next read must fault, and none may read it after the unmap
//                          returned
//   span unmap-untouched <core>…
//                          the same, but this core never touches the page (the first
//                          thread writes it)
//   span keep <core>       a thread on that core reads a page in a loop; here it is
//                          unmapped without a shootdown, and deleting the frame,
//                          revoking it or retyping RAM must be refused (spanningDomain)
//   span survive <core>    a thread on that core reads a page in a loop until the core
//                          stops (the stopped-core suite types `panic <core>`); unmap
//                          then returns for the rest, a thread here goes on, and the
//                          domain ends as usual
//   span unmap-code <core>…
//                          the same, but the threads call code in the page (a `ret`)
//                          instead of reading it: each one's next call must fault, its
//                          thread alone
//   span protect <core>…   the same with writers, and the write right taken away
//                          (`Span.protect`): each writer's next write must fault
//   span lent <core>       a `lender` domain on this core sends a frame it wrote over a
//                          connection; here it is mapped and read in a loop by a thread
//                          on that core; then the lender revokes it, retypes the same
//                          memory into a new frame and writes something else there.
//                          The reader's next read must fault, and it may never see the
//                          lender's new bytes (the kernel's shootdown for memory let go
//                          of, docs/spanning.md)
//   span lender            that lender (connects to `spanlent`)
//   span unmap-bench <rounds> <core>…
//                          the unmap-shared-page row: the page is mapped again each
//                          round, and threads on the other cores read it until it is
//                          unmapped (a thread that faults on it waits for the next
//                          mapping); one sample is `Span.unmap`
//   span protect-bench <rounds> <core>…
//                          the mprotect-shared-page row: the same readers, the page
//                          made writable again each round; one sample is
//                          `Span.protect` to read-only
import SwordfishUser
import Basics
import UserRuntimeC

func fail(_ why: String) -> Never {
    print("span: \(why)")
    exit(1)
}

/// Written by the first thread before it starts the others, read by each of them.
nonisolated(unsafe) var greeting: UInt64 = 0

/// `body` on a new thread on `core`, or the failure.
func start(on core: Int, _ body: @escaping () -> Int) -> Thread {
    do throws(MonitorStatus) { return try Thread.spawn(on: core, body) } catch {
        fail("spawn on core \(core): \(error)")
    }
}

func threads(on cores: [Int]) {
    let rounds = 2_000
    let mutex = Mutex(), condition = Condition()
    var counter = 0, arrived = 0, released = false
    greeting = 0x5350_414E_4E45_44                       // "SPANNED"
    var started: [(core: Int, thread: Thread)] = []
    for core in cores {
        started.append((core, start(on: core) {
            guard greeting == 0x5350_414E_4E45_44 else { return 1000 }
            for _ in 0..<rounds { mutex.withLock { counter += 1 } }
            mutex.lock()
            arrived += 1
            condition.broadcast()
            while !released { condition.wait(mutex) }
            mutex.unlock()
            return Thread.core
        }))
    }
    mutex.lock()
    while arrived < cores.count { condition.wait(mutex) }
    released = true
    condition.broadcast()
    mutex.unlock()
    for (core, thread) in started {
        switch thread.join() {
        case .returned(1000): fail("the thread on core \(core) did not see what the first thread wrote")
        case .returned(let ran) where ran != core: fail("the thread for core \(core) ran on core \(ran)")
        case .returned: break
        case .faulted(let vector, let address): fail("the thread on core \(core) faulted (vector \(vector), address \(address))")
        }
    }
    guard counter == rounds * cores.count else { fail("the counter is \(counter), not \(rounds * cores.count): the mutex let two in") }
    let spanned = Span.cores
    for core in cores where !spanned.contains(core) { fail("the domain does not span core \(core): \(spanned)") }
    print("span: \(cores.count) threads on cores \(cores.map { String($0) }.joined(separator: " ")), counter \(counter)")
    exit(0)
}

func fault(on core: Int) {
    let faulty = start(on: core) { Int(user_read(0x1000)) }
    guard case .faulted(14, 0x1000) = faulty.join() else { fail("the thread on core \(core) did not end by a page fault at 0x1000") }
    let next = start(on: core) { Thread.core }
    guard case .returned(core) = next.join() else { fail("the second thread on core \(core) did not run there") }
    print("span: the fault on core \(core) came back to its joiner")
    exit(0)
}

/// Set by the thread `leave` starts, once it runs.
nonisolated(unsafe) var spinning: UInt64 = 0

func leave(from core: Int) {
    let spinner = start(on: core) {
        user_store_release(&spinning, 1)
        while true { user_pause() }
    }
    while user_load_acquire(&spinning) == 0 { Thread.yield() }
    exit(Int(spinner.dispatcherIdentity.local))
}

func watch(_ core: Int) {
    let second: UInt64 = 2_000_000_000
    let left: SystemDomainID
    do throws(MonitorStatus) {
        let domain = try Monitor.spawn("span", arguments: "leave \(core)", on: Program.identity.core)
        guard case .exited(let status) = try Monitor.awaitEnd(of: domain), status > 0 else { fail("leave did not end as it should") }
        left = SystemDomainID(core: core, local: UInt32(status))
    } catch {
        fail("leave: \(error)")
    }
    let deadline = user_timestamp() &+ 20 &* second
    while (try? Monitor.program(of: left)) != nil {
        guard user_timestamp() < deadline else { fail("the dispatcher \(left) still runs 20 s after its domain ended") }
        try? SystemCall.wait(until: user_timestamp() &+ second / 100)
    }
    print("span: the dispatcher \(left) stopped with its domain")
    exit(0)
}

/// The page the unmap checks share, at 1 TiB (PML4 entry 2), and what it holds.
let sharedPage: UInt64 = 2 << 39
let sharedMagic: UInt64 = 0x5348_4152_4544                 // "SHARED"
/// Set once `Span.unmap` returned: a thread that reads the page after seeing it read a
/// stale translation.
nonisolated(unsafe) var unmapped: UInt64 = 0

/// A page table for the shared page (root slots 3–5) and its frame (slot 6), mapped.
func mapSharedPage() -> (table: Capability, frame: Capability) {
    do throws(InvocationStatus) {
        let table = try makePageTable(from: .ram, into: 3, pml4Entry: 2)
        let frame = Capability(slot: 6)
        _ = try Capability.ram.retype(to: .frame, size: 4096, into: frame)
        try table.map(frame, at: 0, rights: [.read, .write])
        return (table, frame)
    } catch {
        fail("mapping the shared page: \(error)")
    }
}

/// What the shootdown check takes from the page its threads use.
enum Change: Equatable {
    /// The page, from readers (touched here first, or only by the first reader).
    case unmap(touchedHere: Bool)
    /// Its write right, from writers.
    case protect
    /// The page, from threads that run code in it.
    case unmapCode

    func apply(_ table: Capability) throws(Span.Failure) {
        switch self {
        case .unmap, .unmapCode: try Span.unmap(entry: 0, of: table, at: sharedPage)
        case .protect: try Span.protect(entry: 0, of: table, at: sharedPage, rights: .read)
        }
    }
}

func shootdownUnderUse(on cores: [Int], _ change: Change) {
    let (table, _) = mapSharedPage()
    let others = cores.filter { $0 != Program.identity.core }
    guard !others.isEmpty else { fail("the check needs another core") }
    let touchedHere: Bool
    if case .unmap(let here) = change { touchedHere = here } else { touchedHere = true }
    if touchedHere { user_write(sharedPage, sharedMagic) }
    let writes = change == .protect, executes = change == .unmapCode
    if executes { makeSharedPageCode(table) }
    let mutex = Mutex()
    var using = 0
    var threads: [(core: Int, thread: Thread)] = []
    for (index, core) in others.enumerated() {
        threads.append((core, start(on: core) {
            if !touchedHere && index == 0 { user_write(sharedPage, sharedMagic) }
            var counted = false
            while true {
                let done = user_load_acquire(&unmapped)
                if executes { callSharedPage() } else if writes { user_write(sharedPage, sharedMagic) } else if user_read(sharedPage) != sharedMagic { continue }  // not written yet
                if done != 0 { return 1 }
                if !counted {
                    counted = true
                    mutex.withLock { using += 1 }
                }
            }
        }))
    }
    // Every thread's core now holds the translation, and goes on using it.
    while mutex.withLock({ using }) < others.count { Thread.yield() }
    // A change whose page no shootdown can name (the kernel's half, not a page's start)
    // is refused before anything changes: the threads go on using the page.
    for bad in [UInt64(0xFFFF_8000_0000_0000), sharedPage + 8] {
        do throws(Span.Failure) {
            try Span.unmap(entry: 0, of: table, at: bad)
            fail("an unmap naming \(hexadecimal(bad)) was made")
        } catch {
            guard error == .refused(.outsideRange) else { fail("an unmap naming \(hexadecimal(bad)): \(error)") }
        }
    }
    do throws(Span.Failure) { try change.apply(table) } catch { fail("\(writes ? "protect" : "unmap"): \(error)") }
    user_store_release(&unmapped, 1)
    for (core, thread) in threads {
        switch thread.join() {
        case .faulted(14, sharedPage): break
        case .returned(1): fail("the thread on core \(core) used the page the old way after the change returned")
        case .returned(let value): fail("the thread on core \(core) returned \(value)")
        case .faulted(let vector, let address): fail("the thread on core \(core) faulted (vector \(vector)) at \(address)")
        }
    }
    let users = executes ? "threads running code in it" : writes ? "writers" : "readers"
    print("span: \(writes ? "protected" : "unmapped") under \(others.count) \(users)\(touchedHere ? "" : " (never touched here)"); each faulted at its next use")
    exit(0)
}

/// Turns the shared page into code: one `ret`, read and executable, not writable.
func makeSharedPageCode(_ table: Capability) {
    user_write(sharedPage, 0xC3)
    do throws(InvocationStatus) { try table.protect(at: 0, rights: [.read, .execute]) } catch {
        fail("making the shared page code: \(error)")
    }
}

/// Calls the code in the shared page.
func callSharedPage() {
    unsafeBitCast(UInt(sharedPage), to: (@convention(c) () -> Void).self)()
}

/// The connection `lent` and `lender` speak on, and what the lender writes before and
/// after it takes its frame back.
let lentName = "spanlent"
let lentBefore: UInt64 = 0x4C45_4E54                            // "LENT"
let lentAfter: UInt64 = 0x5245_5553_4544                        // "REUSED"
/// The value the reader of `lent` saw that was not `lentBefore` (0: none).
nonisolated(unsafe) var lentStale: UInt64 = 0

func lent(on core: Int) {
    let listener: Listener
    do throws(MonitorStatus) { listener = try Listener(name: lentName) } catch { fail("listen: \(error)") }
    let lender: SystemDomainID
    do throws(MonitorStatus) { lender = try Monitor.spawn("span", arguments: "lender", on: Program.identity.core) } catch {
        fail("starting the lender: \(error)")
    }
    let connection: Connection
    do throws(MonitorStatus) { connection = try listener.accept() } catch { fail("accept: \(error)") }
    let frame = Capability(slot: 6)
    do throws(Connection.Failure) {
        guard try connection.receive(capabilityInto: frame).carriedCapability else { fail("the lender sent no frame") }
    } catch {
        fail("the lender's frame: \(error)")
    }
    do throws(InvocationStatus) {
        let table = try makePageTable(from: .ram, into: 3, pml4Entry: 2)
        try table.map(frame, at: 0, rights: .read)
    } catch {
        fail("mapping the lender's frame: \(error)")
    }
    guard user_read(sharedPage) == lentBefore else { fail("the lender's frame does not hold what it wrote") }
    let reader = start(on: core) {
        while true {
            let value = user_read(sharedPage)
            if value != lentBefore && user_load_acquire(&lentStale) == 0 { user_store_release(&lentStale, value) }
            user_store_release(&readerRan, 1)
        }
    }
    while user_load_acquire(&readerRan) == 0 { Thread.yield() }
    do throws(Connection.Failure) {
        try connection.send([1])                                 // take it back
        _ = try connection.receive(polls: 1 << 20)               // done: revoked, reused, written
    } catch {
        fail("the lender: \(error)")
    }
    let ending = reader.join()
    if user_load_acquire(&lentStale) != 0 {
        fail("the thread on core \(core) read \(user_load_acquire(&lentStale)) through the revoked frame's stale translation")
    }
    guard case .faulted(14, sharedPage) = ending else { fail("the reader on core \(core) did not end by a fault at the page") }
    do throws(MonitorStatus) {
        guard case .exited(0) = try Monitor.awaitEnd(of: lender) else { fail("the lender failed") }
    } catch {
        fail("the lender's end: \(error)")
    }
    print("span: the lender took its frame back and reused it; the reader on core \(core) faulted, never reading the new bytes")
    exit(0)
}

func lender() {
    let connection: Connection
    do throws(MonitorStatus) { connection = try Connection.connect(to: lentName) } catch { fail("lender: connect: \(error)") }
    let frame = Capability(slot: 6)
    let table: Capability
    do throws(InvocationStatus) {
        table = try makePageTable(from: .ram, into: 3, pml4Entry: 2)
        _ = try Capability.ram.retype(to: .frame, size: 4096, into: frame)
        try table.map(frame, at: 0, rights: [.read, .write])
    } catch {
        fail("lender: the frame: \(error)")
    }
    user_write(sharedPage, lentBefore)
    do throws(Connection.Failure) {
        try connection.send([0], carrying: frame)
        _ = try connection.receive(polls: 1 << 20)
    } catch {
        fail("lender: \(error)")
    }
    // Every copy goes (the other domain's mapping with it), then the memory is put to
    // a new use and written.
    do throws(InvocationStatus) {
        let before = try frame.physicalAddress()
        _ = try frame.revoke()
        try frame.delete()
        _ = try Capability.ram.retype(to: .frame, size: 4096, into: frame)
        // Else the check would prove nothing: a stale read would find the old bytes.
        guard try frame.physicalAddress() == before else { fail("lender: the retype did not reuse the frame's memory") }
        try table.map(frame, at: 0, rights: [.read, .write])
    } catch {
        fail("lender: taking the frame back: \(error)")
    }
    user_write(sharedPage, lentAfter)
    do throws(Connection.Failure) { try connection.send([2]) } catch { fail("lender: \(error)") }
    exit(0)
}

/// A thread on `core` reads the shared page in a loop; here the page is unmapped with a
/// bare `unmap` (no shootdown), and the frame may then be neither deleted nor its RAM
/// retyped: the stale translation on `core` must keep reaching this domain's own page,
/// never memory put to another use.
func keep(on core: Int) {
    let (table, frame) = mapSharedPageForReader(on: core)
    while user_load_acquire(&readerRan) == 0 { Thread.yield() }
    do throws(InvocationStatus) { try table.unmap(at: 0) } catch { fail("the bare unmap: \(error)") }
    let spare = Capability(slot: 7)
    let refusals = [("delete", refusal { () throws(InvocationStatus) in try frame.delete() }),
                    ("revoke", refusal { () throws(InvocationStatus) in try frame.revoke() }),
                    ("retype", refusal { () throws(InvocationStatus) in _ = try Capability.ram.retype(to: .frame, size: 4096, into: spare) })]
    for (what, status) in refusals where status != .spanningDomain {
        fail("\(what) of what a spanning domain holds answered \(status.map { $0.name } ?? "ok"), not spanningDomain")
    }
    print("span: with a thread on core \(core), delete, revoke and retype were refused (spanningDomain)")
    exit(0)
}

/// The shared page, mapped and written here, and a thread on `core` reading it in a
/// loop (`readerRan` says it has) until the domain ends or the core stops.
func mapSharedPageForReader(on core: Int) -> (table: Capability, frame: Capability) {
    let mapped = mapSharedPage()
    user_write(sharedPage, sharedMagic)
    _ = start(on: core) {
        while true {
            _ = user_read(sharedPage)
            user_store_release(&readerRan, 1)
        }
    }
    return mapped
}

/// What `body` was refused with, nil if it went through.
func refusal(_ body: () throws(InvocationStatus) -> Void) -> InvocationStatus? {
    do throws(InvocationStatus) {
        try body()
        return nil
    } catch {
        return error
    }
}

/// Set by `survive`'s reader once it has read the page; then by the first thread once
/// the thread on its own core may end.
nonisolated(unsafe) var readerRan: UInt64 = 0
nonisolated(unsafe) var survivorMayEnd: UInt64 = 0

/// A thread on `core` reads the shared page in a loop and one on this core counts,
/// until someone stops `core` (`panic <core>` in the shell, as the stopped-core suite
/// types once this says so). Then an unmap must return for the rest, the thread here
/// must have gone on, and the domain ends as usual: its memory waits for no answer from
/// the stopped core.
func survive(_ core: Int) {
    let (table, _) = mapSharedPageForReader(on: core)
    let counter = start(on: Program.identity.core) {
        var count = 0
        while user_load_acquire(&survivorMayEnd) == 0 { count += 1 }
        return count
    }
    while user_load_acquire(&readerRan) == 0 { Thread.yield() }
    print("span: a thread on core \(core) reads the page; stop core \(core) now")
    // The monitors heard of the stop once a ping to its monitor is refused.
    let second: UInt64 = 2_000_000_000
    let deadline = user_timestamp() &+ 120 &* second
    while true {
        do throws(MonitorStatus) { try Monitor.ping(core: core) } catch .noSuchCore { break } catch {}
        guard user_timestamp() < deadline else { fail("core \(core) did not stop within 120 s") }
        try? SystemCall.wait(until: user_timestamp() &+ second / 100)
    }
    let named: [Int]
    do throws(Span.Failure) { named = try Span.unmap(entry: 0, of: table, at: sharedPage) } catch { fail("unmap after core \(core) stopped: \(error)") }
    user_store_release(&survivorMayEnd, 1)
    guard case .returned(let count) = counter.join(), count > 0 else { fail("the thread on this core did not go on") }
    print("span: core \(core) stopped; unmap returned for the rest\(named.isEmpty ? "" : " (named stopped: \(named))"); the thread here went on")
    exit(0)
}

/// The round the bench is in; odd while the page is mapped (and writable).
nonisolated(unsafe) var benchPhase: UInt64 = 0

/// The unmap-shared-page and mprotect-shared-page rows: readers on the other cores hold
/// the page's translation; one sample is the change, shootdown included.
func shootdownBench(_ change: Change, rounds: Int, on cores: [Int]) {
    let row = change == .protect ? "mprotect-shared-page" : "unmap-shared-page"
    let (table, frame) = mapSharedPage()
    let others = cores.filter { $0 != Program.identity.core }
    guard !others.isEmpty else {
        print("BENCH name=\(row) unsupported reason=one core")
        exit(0)
    }
    Thread.pageFaultHandler = { address in
        guard address & ~0xFFF == sharedPage else { return false }
        let phase = user_load_acquire(&benchPhase)
        while user_load_acquire(&benchPhase) == phase { user_pause() }
        return true
    }
    // The phase each reader last read the page in (written by it, read here).
    let seen = UnsafeMutablePointer<UInt64>.allocate(capacity: others.count)
    seen.initialize(repeating: 0, count: others.count)
    // Each reader touches the page once per round, as Linux's do, then waits for the
    // next round; one that races the change faults and waits in the handler.
    for (index, core) in others.enumerated() {
        _ = start(on: core) {
            while true {
                let phase = user_load_acquire(&benchPhase)
                guard phase & 1 == 1, seen[index] != phase else {
                    user_pause()
                    continue
                }
                _ = user_read(sharedPage)
                user_store_release(seen + index, phase)
            }
        }
    }
    var samples: [UInt64] = []
    for round in 0..<(rounds + rounds / 10 + 1) {
        if round > 0 {
            do throws(InvocationStatus) {
                if change == .protect { try table.protect(at: 0, rights: [.read, .write]) } else { try table.map(frame, at: 0, rights: [.read, .write]) }
            } catch {
                fail("restoring the page: \(error)")
            }
        }
        let phase = UInt64(2 * round + 1)
        user_store_release(&benchPhase, phase)
        // Every reader has the translation of this round's mapping.
        while (0..<others.count).contains(where: { user_load_acquire(seen + $0) != phase }) { Thread.yield() }
        let start = user_timestamp()
        do throws(Span.Failure) { try change.apply(table) } catch { fail("\(row): \(error)") }
        let cycles = user_timestamp() &- start
        user_store_release(&benchPhase, phase + 1)
        if round > rounds / 10 { samples.append(cycles) }
    }
    Benchmark.report(row, cycles: samples)
    exit(0)
}

switch arguments[0] {
case "threads"?: threads(on: (1..<arguments.count).compactMap { arguments.integer(at: $0) })
case "fault"?: fault(on: arguments.integer(at: 1) ?? 1)
case "leave"?: leave(from: arguments.integer(at: 1) ?? 1)
case "watch"?: watch(arguments.integer(at: 1) ?? 1)
case "unmap"?: shootdownUnderUse(on: (1..<arguments.count).compactMap { arguments.integer(at: $0) }, .unmap(touchedHere: true))
case "survive"?: survive(arguments.integer(at: 1) ?? 1)
case "keep"?: keep(on: arguments.integer(at: 1) ?? 1)
case "unmap-code"?: shootdownUnderUse(on: (1..<arguments.count).compactMap { arguments.integer(at: $0) }, .unmapCode)
case "unmap-untouched"?: shootdownUnderUse(on: (1..<arguments.count).compactMap { arguments.integer(at: $0) }, .unmap(touchedHere: false))
case "protect"?: shootdownUnderUse(on: (1..<arguments.count).compactMap { arguments.integer(at: $0) }, .protect)
case "lent"?: lent(on: arguments.integer(at: 1) ?? 1)
case "lender"?: lender()
case "unmap-bench"?: shootdownBench(.unmap(touchedHere: true), rounds: arguments.integer(at: 1) ?? 100, on: (2..<arguments.count).compactMap { arguments.integer(at: $0) })
case "protect-bench"?: shootdownBench(.protect, rounds: arguments.integer(at: 1) ?? 100, on: (2..<arguments.count).compactMap { arguments.integer(at: $0) })
default:
    print("usage: span threads <core>… | fault <core> | leave <core> | watch <core> | unmap <core>… | unmap-code <core>… | unmap-untouched <core>… | protect <core>… | unmap-bench <rounds> <core>… | protect-bench <rounds> <core>…")
    exit(2)
}
