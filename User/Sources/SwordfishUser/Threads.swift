// User-level threads on the dispatcher (the scheduler-activation model; see
// Kernel/Sources/CPUDriver/Dispatcher.swift). The kernel knows only the dispatcher: when
// it preempts it while enabled it saves the registers in the dispatcher frame and enters
// `swordfish_upcall`, and this library decides which thread runs next. Threads switch
// among themselves without the kernel: yield, join, a mutex or a condition variable
// switch stacks in user mode (switch.S).
//
// The scheduler's data is touched only while the dispatcher is disabled, so the kernel
// never upcalls in the middle of it: a preemption while disabled simply resumes. The
// heap and console buffer take the same care (Runtime.swift).
//
// Each dispatcher has its own scheduler record (`DispatcherRecord`: current thread, run
// queue), found through its frame; a domain spanning several cores (Spanning.swift) has
// one per core, and what threads of different dispatchers share (a thread's end and
// joiners, mutexes, conditions, another dispatcher's inbox) is also taken under
// `Span.lock`, which costs nothing until the domain spans.
import ABI
import UserRuntimeC
import Basics

/// A thread of this domain.
public final class Thread {
    /// How a thread ended.
    public enum Outcome: Equatable {
        case returned(Int)
        /// It took an exception the library could not fix (the domain goes on).
        case faulted(vector: UInt8, address: UInt64)
    }

    public let id: Int
    let state: UnsafeMutablePointer<user_thread_state>
    /// Its stack (nil for the program's first thread, which runs on the stack the kernel
    /// gave it, and once it ended: its dispatcher frees it, `endedStack`).
    var stack: UnsafeMutableRawPointer?
    var body: (() -> Int)?
    /// Its registers are in `state.area` (the kernel preempted it), not on its stack.
    var preempted = false
    public internal(set) var outcome: Outcome? = nil
    var joiners: [Thread] = []
    /// The dispatcher it runs on.
    let dispatcher: DispatcherRecord

    /// 16 KiB less the heap's header of a large block: a stack then takes four pages.
    static let stackBytes = 16 * 1024 - 64

    init(id: Int, stack: UnsafeMutableRawPointer?, body: (() -> Int)?, on dispatcher: DispatcherRecord) {
        self.id = id
        self.stack = stack
        self.body = body
        self.dispatcher = dispatcher
        state = UnsafeMutablePointer<user_thread_state>.allocate(capacity: 1)
    }

    deinit { state.deallocate() }

    /// Starts `body` in a new thread on this dispatcher; it runs when the scheduler gets
    /// to it.
    public static func spawn(_ body: @escaping () -> Int) -> Thread {
        start(body, on: Scheduler.here)
    }

    /// Starts `body` in a new thread on `dispatcher` (this domain's, on any core).
    static func start(_ body: @escaping () -> Int, on dispatcher: DispatcherRecord) -> Thread {
        var memory: UnsafeMutableRawPointer? = nil
        guard posixMemalign(&memory, 16, stackBytes) == 0, let stack = memory else {
            print("threads: no memory for a thread's stack")
            exit(73)
        }
        let wasDisabled = Dispatcher.disable()
        Span.lock()
        let thread = Thread(id: Scheduler.nextID, stack: stack, body: body, on: dispatcher)
        user_thread_prepare(thread.state, UInt64(UInt(bitPattern: stack + stackBytes)))
        Scheduler.nextID += 1
        Scheduler.makeRunnable(thread)
        Span.unlock()
        Dispatcher.restore(wasDisabled)
        return thread
    }

    /// Waits until the thread ends, and says how.
    public func join() -> Outcome {
        let wasDisabled = Dispatcher.disable()
        Span.lock()
        if outcome == nil {
            joiners.append(Scheduler.current)
            Span.unlock()
            Scheduler.block()
        } else {
            Span.unlock()
        }
        Dispatcher.restore(wasDisabled)
        return outcome!
    }

    /// Lets the other runnable threads of this domain run first.
    public static func yield() {
        let wasDisabled = Dispatcher.disable()
        let here = Scheduler.here
        if !here.runQueue.isEmpty {
            let previous = here.current!.state
            here.runQueue.exchangeFirst(with: &here.current)
            Scheduler.switchToCurrent(from: previous)
        }
        Dispatcher.restore(wasDisabled)
    }

    /// The running thread.
    public static var current: Thread { Scheduler.current }

    /// What to do about a page fault of any of this domain's threads, at the address
    /// given: map something there and return true (the thread retries the access), or
    /// return false (the thread ends by the fault). It runs on the upcall stack with
    /// the dispatcher disabled, so it must not block; invocations are fine.
    public static var pageFaultHandler: ((UInt64) -> Bool)? = nil

    /// Times the kernel preempted this domain while it was enabled, and upcalls it made.
    public static var preemptions: UInt64 { user_preemptions() }
    public static var upcalls: UInt64 { user_upcalls() }
}

/// One dispatcher's scheduler: its current thread and run queue (touched only by that
/// dispatcher, disabled), and its inbox, where threads of other dispatchers put the
/// threads they make runnable here (under `Span.lock`).
final class DispatcherRecord {
    /// Nil only in a new dispatcher before its first thread (Spanning.swift).
    var current: Thread? = nil
    var runQueue = ThreadQueue()
    var inbox: [Thread] = []
    /// It sleeps in the kernel (or is about to): whoever fills its inbox notifies it.
    var sleeping = false
    /// The stack of the thread that ended here last, freed when the next one ends: the
    /// dispatcher runs on it until it switches to another thread, which a joiner on
    /// another core cannot know, so the joiner never frees it.
    var endedStack: UnsafeMutableRawPointer? = nil
    /// The first dispatcher's record, in the domain's first frame; false for those on
    /// other cores (which have no waitsets and no monitor connection).
    let isHome: Bool
    /// Its frame, for its id (which its kernel writes there when it makes it).
    let frame: UnsafeMutablePointer<user_dispatcher_frame>

    init(isHome: Bool, frame: UnsafeMutablePointer<user_dispatcher_frame>) {
        self.isHome = isHome
        self.frame = frame
    }

    var identity: SystemDomainID { SystemDomainID(rawValue: frame.pointee.identity) }
}

/// The run queue and the switching; every function here runs disabled.
enum Scheduler {
    /// Numbers for new threads (under `Span.lock`).
    static var nextID = 1

    /// The running dispatcher's record, from its frame (the home's is made on first use,
    /// with the program's first thread, id 0, as its current one).
    static var here: DispatcherRecord {
        @inline(__always) get {
            let word = user_library()
            if word != 0 { return Unmanaged<DispatcherRecord>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(word))!).takeUnretainedValue() }
            return makeHomeRecord()
        }
    }

    static func makeHomeRecord() -> DispatcherRecord {
        let record = DispatcherRecord(isHome: true, frame: user_dispatcher())
        record.current = Thread(id: 0, stack: nil, body: nil, on: record)
        user_set_library(UInt64(UInt(bitPattern: Unmanaged.passRetained(record).toOpaque())))
        return record
    }

    static var current: Thread { here.current! }

    /// Makes `thread` runnable where it runs: here, on the run queue; on another
    /// dispatcher, in its inbox, notifying it if it sleeps. With `Span.lock` held.
    static func makeRunnable(_ thread: Thread) {
        let target = thread.dispatcher
        guard target !== here else { return target.runQueue.append(thread) }
        target.inbox.append(thread)
        if target.sleeping {
            let id = target.identity
            try? Monitor.wakeRight.notify(core: id.core, domain: Int(id.local))
        }
    }

    /// Takes the next runnable thread as the current one, sleeping in the kernel while
    /// only a waitset or another dispatcher can make one runnable.
    static func takeNext() {
        let here = here
        while here.runQueue.isEmpty {
            guard Span.isSpanned else {
                guard Waitset.wakeWaiters() else {
                    print("threads: every thread is blocked and no waitset waits: deadlock")
                    exit(70)
                }
                continue
            }
            if Span.collectInbox(of: here) { break }
            // Asleep (the inbox said so under the lock): another dispatcher notifies; the
            // nap's end bounds what a lost notification could cost.
            if !(here.isHome && Waitset.wakeWaiters()) { try? SystemCall.wait(until: user_timestamp() &+ Span.nap) }
            Span.wake(here)
        }
        here.current = here.runQueue.removeFirst()
    }

    /// Leaves the current thread, which the caller has queued where it belongs (run
    /// queue, a mutex, a join), for the next runnable one. Returns when something
    /// switches back to it.
    static func block() {
        let previous = here.current!.state
        takeNext()
        switchToCurrent(from: previous)
    }

    /// Continues the current thread, unless it is the one whose state is `previous`;
    /// returns when something switches back to that one. It takes no reference: the
    /// queue or list the previous thread waits in holds it.
    static func switchToCurrent(from previous: UnsafeMutablePointer<user_thread_state>) {
        unowned(unsafe) let next = current
        guard next.state != previous else { return }
        if next.preempted {
            next.preempted = false
            let status = user_thread_switch_to_area(previous, next.state, SystemCallNumber.resume.rawValue)
            guard status == 0 else {
                print("threads: the kernel refused a save area (status \(status))")
                exit(71)
            }
        } else {
            user_thread_switch(previous, next.state)
        }
    }

    /// Picks the next thread for a context that will never continue (an upcall, a
    /// finished thread); returns what `enter` needs, holding no references.
    static func abandon() -> (UnsafeMutablePointer<user_thread_state>, UInt64) {
        takeNext()
        let current = here.current!
        let preempted = current.preempted
        current.preempted = false
        return (current.state, preempted ? 1 : 0)
    }

    static func enter(_ target: (UnsafeMutablePointer<user_thread_state>, UInt64)) -> Never {
        user_thread_enter(target.0, target.1, SystemCallNumber.resume.rawValue, SystemCallNumber.exit.rawValue)
    }

    /// The current thread ended: wake its joiners.
    static func finish(_ outcome: Thread.Outcome) {
        let here = here
        let current = here.current!
        // Running on this thread's stack (or the upcall stack): the one before is free.
        here.endedStack?.deallocate()
        here.endedStack = current.stack
        current.stack = nil
        Span.lock()
        current.outcome = outcome
        current.body = nil
        for joiner in current.joiners { makeRunnable(joiner) }
        current.joiners.removeAll()
        Span.unlock()
    }

    /// The kernel preempted the current thread (its registers are in the enabled save
    /// area): queue it behind the others.
    static func preempted() {
        let here = here
        let current = here.current!
        user_thread_save_preempted(current.state)
        current.preempted = true
        here.runQueue.append(current)
    }

    /// The current thread's page fault was fixed: it retries first, from the trap save
    /// area.
    static func retry() {
        let here = here
        let current = here.current!
        user_thread_save_faulted(current.state)
        current.preempted = true
        here.runQueue.insertFirst(current)
    }

    /// The current thread faulted (its registers are in the trap save area). A new
    /// thread ends with the fault; the program's first thread cannot, and the kernel
    /// stops the domain and reports the fault.
    static func faulted(vector: UInt64, address: UInt64) {
        guard current.id != 0 else {
            SystemCall.raw(SystemCallNumber.unhandledFault.rawValue)
            exit(72)
        }
        let rip = user_dispatcher().pointee.trap_area.rip
        let vector = UInt8(truncatingIfNeeded: vector)
        // The host tool reads this line (`FAULT <program> thread <id>: <exception> at rip
        // … [address …]`, Sources/SwordfishTool/UserFault.swift) and adds the function,
        // file and line from the program's ELF.
        var line = "FAULT \(Program.name) thread \(current.id): \(exceptionName(vector: vector)) at rip \(hexadecimal(rip))"
        if vector == 14 { line += " address \(hexadecimal(address))" }
        print(line)
        finish(.faulted(vector: vector, address: address))
    }
}

/// Where the dispatcher's upcalls arrive (registered by `user_dispatcher_register`),
/// disabled and on the upcall stack: kind 0 run (preempted), 1 page fault, 2 trap.
@_cdecl("swordfish_upcall")
func upcall(kind: UInt64, vector: UInt64, address: UInt64, errorCode: UInt64) -> Never {
    Scheduler.enter(decide(kind: kind, vector: vector, address: address))
}

/// The upcall's decision in a function of its own, so that every reference it took is
/// released before the upcall's stack is abandoned.
func decide(kind: UInt64, vector: UInt64, address: UInt64) -> (UnsafeMutablePointer<user_thread_state>, UInt64) {
    switch kind {
    case 0 where Scheduler.here.current == nil:
        break                                   // a new dispatcher's first upcall (Spanning.swift)
    case 0:
        Scheduler.preempted()
        if Scheduler.here.isHome { Waitset.pollWaiting() }  // a message may have come meanwhile
    case 1 where Thread.pageFaultHandler?(address) == true:
        Scheduler.retry()
    default:
        Scheduler.faulted(vector: vector, address: address)
    }
    return Scheduler.abandon()
}

/// A new thread's first Swift code (from the trampoline in switch.S), entered disabled
/// from the switch that started it.
@_cdecl("swordfish_thread_main")
func threadMain() -> Never {
    Scheduler.enter(runCurrentThread())
}

func runCurrentThread() -> (UnsafeMutablePointer<user_thread_state>, UInt64) {
    Dispatcher.restore(false)
    let result = Scheduler.current.body!()
    _ = Dispatcher.disable()
    Scheduler.finish(.returned(result))
    return Scheduler.abandon()
}
