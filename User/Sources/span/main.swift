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
import SwordfishUser
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

switch arguments[0] {
case "threads"?: threads(on: (1..<arguments.count).compactMap { arguments.integer(at: $0) })
case "fault"?: fault(on: arguments.integer(at: 1) ?? 1)
case "leave"?: leave(from: arguments.integer(at: 1) ?? 1)
case "watch"?: watch(arguments.integer(at: 1) ?? 1)
default:
    print("usage: span threads <core>… | fault <core> | leave <core> | watch <core>")
    exit(2)
}
