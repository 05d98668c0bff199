// User-level threads, the dispatcher's upcalls and the waitset, checked from user mode
// (the kernel's guest tests run each case and expect exit 0 unless said otherwise).
//   preempt        threads that never yield all make progress (the kernel preempts the
//                  dispatcher, the run upcall switches threads), and their floating-
//                  point registers survive it
//   spin           never yields; ends after its dispatcher was preempted three times
//                  (the kernel's test runs two at once: round-robin between dispatchers)
//   forever        says so, then never yields and never ends: for Ctrl-C in the shell
//   join           threads return values to their joiners
//   mutex          a counter under a mutex, with switches inside the critical section
//   condition      producers and a consumer on a bounded buffer
//   heap-stress    six threads allocate, fill, check and free arrays while the timer
//                  preempts them (30 times or more): no array is ever corrupted (sized
//                  to fit the heap's 236 KiB with their 16 KiB stacks). The windows in
//                  which the allocator could be cut in two are a few instructions wide,
//                  so this cannot prove the allocator's disabled sections; it shows
//                  that threads keep their registers and memory across preemptions
//                  while they allocate.
//   fault          a thread that touches kernel memory ends by exception; the others go on
//   demand-paging  a page-fault handler maps a fresh frame wherever a thread touches
//                  an empty page of a window, and the access goes on; outside the
//                  window it declines, and that thread ends by the fault
//   main-fault     the first thread touches kernel memory: the domain is stopped (the
//                  kernel reports the fault)
//   bad-calls      the dispatcher system calls refuse bad arguments
//   bad-frame      the dispatcher frame names an upcall entry in kernel memory: the
//                  next preemption stops the domain (the kernel says why)
//   lose-dispatcher, lose-dispatcher-frame, lose-pml4
//                  the domain deletes its dispatcher capability, the frame capability
//                  that maps its dispatcher frame, or its PML4: the kernel stops it
//                  before entering it again, and says why
//   waitset        two endpoints, one waitset: every message reaches its handler, one
//                  with a capability
//   waitset-server serves its endpoint in slot 2 (a client domain sends 3 messages, the
//                  last with a capability) and one of its own, sleeping in the kernel
//                  while nothing arrives
//   waitset-client the client
//   orphan-server  serves its endpoint in slot 2 and one of its own in slot 3; the
//                  client revokes and deletes the first while the server sleeps, then
//                  receives on a new endpoint of its own (which drops the dead one's
//                  queue): the server still wakes and learns of it
//   orphan-client  that client
import SwordfishUser
import UserRuntimeC

func fail(_ message: String) -> Never {
    print("threads: \(message)")
    exit(1)
}

/// Words shared between threads, read and written as volatile (the compiler must not
/// keep them in registers across a loop).
struct SharedWords {
    let base = UnsafeMutablePointer<UInt64>.allocate(capacity: 16)
    init() { base.initialize(repeating: 0, count: 16) }
    func address(_ index: Int) -> UInt64 { UInt64(UInt(bitPattern: base + index)) }
    subscript(index: Int) -> UInt64 {
        get { user_read(address(index)) }
        nonmutating set { user_write(address(index), newValue) }
    }
}

/// A value that only the floating-point unit computes, to notice lost FPU state.
func series(_ steps: UInt64) -> Double {
    var x = 1.0
    for step in 0..<steps { x = x * 1.000001 + Double(step % 7) * 0.25 }
    return x
}

/// TSC cycles in about `seconds` under emulation (a generous bound, not a measurement).
let patience: UInt64 = 20_000_000_000

func preempt() {
    let progress = SharedWords()
    let count = 3
    let start = user_timestamp()
    let threads = (0..<count).map { me in
        Thread.spawn {
            var x = 1.0
            var steps: UInt64 = 0
            // Spin, never yielding, until every thread has made progress: only
            // preemption lets the others run.
            while (0..<count).contains(where: { progress[$0] < 1000 }) && user_timestamp() &- start < patience {
                x = x * 1.000001 + Double(steps % 7) * 0.25
                steps += 1
                progress[me] = steps
            }
            return x == series(steps) ? 0 : 1
        }
    }
    var outcomes: [Thread.Outcome] = []
    for thread in threads { outcomes.append(thread.join()) }
    for me in 0..<count where progress[me] < 1000 { fail("thread \(me) made \(progress[me]) steps: not preempted") }
    for (me, outcome) in outcomes.enumerated() where outcome != .returned(0) { fail("thread \(me): floating-point state lost") }
    guard Thread.preemptions > 0, Thread.upcalls > 0 else { fail("no preemption was counted") }
    print("threads: preempt ok (\(Thread.preemptions) preemptions, \(Thread.upcalls) upcalls)")
}

func spin() {
    let start = user_timestamp()
    while Thread.preemptions < 3 && user_timestamp() &- start < patience {}
    guard Thread.preemptions >= 3 else { fail("spin: not preempted") }
}

func forever() {
    print("threads: spinning until stopped")
    while true {}
}

func join() {
    let threads = (1...5).map { value in Thread.spawn { value * value } }
    var sum = 0
    for thread in threads {
        guard case .returned(let value) = thread.join() else { fail("a thread did not return") }
        sum += value
    }
    guard sum == 55 else { fail("joined values sum to \(sum), not 55") }
}

func mutex() {
    let lock = Mutex()
    let counter = SharedWords()
    let threads = (0..<4).map { _ in
        Thread.spawn {
            for round in 0..<500 {
                lock.withLock {
                    let value = counter[0]
                    if round % 50 == 0 { Thread.yield() }          // others must find it locked
                    for _ in 0..<(round % 5) * 100 { _ = user_timestamp() }   // room for a preemption
                    counter[0] = value + 1
                }
            }
            return 0
        }
    }
    for thread in threads { _ = thread.join() }
    guard counter[0] == 2000 else { fail("mutex: counter is \(counter[0]), not 2000") }
}

func heapStress() {
    let start = user_timestamp()
    let threads = (0..<6).map { me in
        Thread.spawn {
            var rounds = 0
            // Until every thread has been preempted a few times (or, at worst, a while).
            while (Thread.preemptions < 30 || rounds < 200) && user_timestamp() &- start < patience {
                var kept: [[UInt64]] = []
                for size in 1...8 {
                    kept.append((0..<(size * 5 + me)).map { UInt64($0 * 31 + me) })
                }
                for (index, array) in kept.enumerated() {
                    for (i, value) in array.enumerated() where value != UInt64(i * 31 + me) {
                        print("threads: thread \(me) found \(value) at \(i) of array \(index)")
                        return 1
                    }
                }
                rounds += 1
            }
            return rounds >= 200 ? 0 : 2
        }
    }
    for (me, thread) in threads.enumerated() where thread.join() != .returned(0) { fail("heap-stress: thread \(me) failed") }
    guard Thread.preemptions >= 30 else { fail("heap-stress: only \(Thread.preemptions) preemptions") }
}

func condition() {
    let lock = Mutex(), notEmpty = Condition(), notFull = Condition()
    var buffer: [Int] = []
    let producers = (0..<2).map { producer in
        Thread.spawn {
            for item in 1...100 {
                lock.lock()
                while buffer.count == 2 { notFull.wait(lock) }
                buffer.append(producer * 1000 + item)
                notEmpty.signal()
                lock.unlock()
            }
            return 0
        }
    }
    let consumer = Thread.spawn {
        var sum = 0
        for _ in 0..<200 {
            lock.lock()
            while buffer.isEmpty { notEmpty.wait(lock) }
            sum += buffer.removeFirst()
            notFull.signal()
            lock.unlock()
        }
        return sum
    }
    for producer in producers { _ = producer.join() }
    let expected = 2 * 5050 + 100 * 1000
    guard consumer.join() == .returned(expected) else { fail("condition: consumer did not get every item") }
}

func fault() {
    let bad = Thread.spawn { Int(truncatingIfNeeded: user_read(0x1000)) }
    let good = Thread.spawn { 7 }
    let outcome = bad.join()
    guard outcome == .faulted(vector: 14, address: 0x1000) else { fail("fault: the faulting thread did not end by exception 14 at 0x1000") }
    guard good.join() == .returned(7) else { fail("fault: the other thread did not finish") }
}

func demandPaging() {
    // A page table for the 2 MiB at 1.5 TiB (PML4 entry 3) in slots 8–10, nothing mapped.
    let window: UInt64 = 3 << 39
    guard let table = try? makePageTable(from: .ram, into: 8, pml4Entry: 3) else { fail("demand-paging: no page table") }
    var nextSlot: UInt32 = 11
    var handled: [UInt64] = []
    Thread.pageFaultHandler = { address in
        guard address >= window, address < window + (2 << 20) else { return false }
        let frame = Capability(slot: nextSlot)
        nextSlot += 1
        handled.append(address & ~0xFFF)
        do throws(InvocationStatus) {
            try Capability.ram.retype(to: .frame, size: 4096, into: frame)
            try table.map(frame, at: Int((address >> 12) & 511), rights: [.read, .write])
            return true
        } catch {
            return false
        }
    }
    func page(_ index: UInt64) -> UInt64 { window + index * 4096 + 8 }
    for index in UInt64(0)..<3 { user_write(page(index), 100 + index) }          // the first thread
    let other = Thread.spawn {
        for index in UInt64(3)..<5 { user_write(page(index), 100 + index) }
        return 0
    }
    guard other.join() == .returned(0) else { fail("demand-paging: the second thread did not finish") }
    for index in UInt64(0)..<5 where user_read(page(index)) != 100 + index { fail("demand-paging: page \(index) lost its value") }
    guard handled.count == 5 else { fail("demand-paging: \(handled.count) faults handled, not 5") }
    let outside = Thread.spawn { Int(truncatingIfNeeded: user_read(4 << 39)) }
    guard outside.join() == .faulted(vector: 14, address: 4 << 39) else { fail("demand-paging: a fault outside the window was not fatal") }
}

func badCalls() {
    /// Resume from a save area that is safe but for what `spoil` writes into it.
    func resume(_ spoil: (UnsafeMutableRawBufferPointer) -> Void) -> UInt64 {
        var area = [UInt8](repeating: 0, count: 688)
        return area.withUnsafeMutableBytes { bytes -> UInt64 in
            bytes.storeBytes(of: 0x0000_0080_0000_1000 as UInt64, toByteOffset: 120, as: UInt64.self)   // RIP
            bytes.storeBytes(of: 0x0000_0080_0001_0000 as UInt64, toByteOffset: 128, as: UInt64.self)   // RSP
            bytes.storeBytes(of: 0x1F80 as UInt32, toByteOffset: 176 + 24, as: UInt32.self)             // MXCSR
            spoil(bytes)
            return SystemCall.raw(SystemCallNumber.resume.rawValue, UInt64(UInt(bitPattern: bytes.baseAddress))).status
        }
    }
    let nonCanonical = resume { $0.storeBytes(of: 0x0000_8000_0000_0000 as UInt64, toByteOffset: 120, as: UInt64.self) }
    let nonCanonicalStack = resume { $0.storeBytes(of: 0x0000_8000_0000_1000 as UInt64, toByteOffset: 128, as: UInt64.self) }
    let reservedMXCSR = resume { $0.storeBytes(of: 0xFFFF_1F80 as UInt32, toByteOffset: 176 + 24, as: UInt32.self) }
    let unmapped = SystemCall.raw(SystemCallNumber.resume.rawValue, 0x7000_0000_0000).status
    let noFault = SystemCall.raw(SystemCallNumber.unhandledFault.rawValue).status
    let nothing = SystemCall.raw(SystemCallNumber.wait.rawValue).status
    let bad = SystemCallStatus.badSaveArea.rawValue
    guard nonCanonical == bad, nonCanonicalStack == bad, reservedMXCSR == bad, unmapped == SystemCallStatus.badAddress.rawValue,
          noFault == SystemCallStatus.noFault.rawValue, nothing == SystemCallStatus.nothingToWaitFor.rawValue else {
        fail("bad-calls: resume \(nonCanonical) \(nonCanonicalStack) \(reservedMXCSR) / \(unmapped), unhandledFault \(noFault), wait \(nothing)")
    }
}

func badFrame() {
    user_dispatcher().pointee.run_entry = 0x1000
    let start = user_timestamp()
    while user_timestamp() &- start < patience {}       // until the next tick preempts it
    fail("bad-frame: never preempted")
}

/// Slot `leaf` of the address-space CNode.
func ownSlot(_ leaf: UInt32) -> Capability { Capability(.leaf(InitialSlot.addressSpace, leaf)) }

/// Deletes the capability in slot `leaf` of the address-space CNode; returning means
/// the kernel let the domain go on.
func deleteOwn(leaf: UInt32) -> Never {
    do throws(InvocationStatus) { try ownSlot(leaf).delete() } catch { fail("could not delete leaf \(leaf): \(error)") }
    fail("still running after deleting leaf \(leaf)")
}

/// The dispatcher frame's capability: the last one spawn made in the address-space CNode.
func dispatcherFrameSlot() -> UInt32 {
    var slot = InitialSlot.firstMade
    while ownSlot(slot + 1).type != .null { slot += 1 }
    return slot
}

/// Endpoints in slots `first ..< first + count`, made from the domain's RAM.
func makeEndpoints(at first: UInt32, count: Int) {
    do throws(InvocationStatus) { try Capability.ram.retype(to: .endpoint, count: count, into: Capability(slot: first)) } catch {
        fail("retype to endpoints: \(error)")
    }
}

func sendUntilTaken(_ endpoint: Capability, _ word: UInt64, capability: Capability? = nil) {
    while true {
        do throws(InvocationStatus) {
            try endpoint.send((word, 0, 0), capability: capability)
            return
        } catch .endpointFull {
            Thread.yield()                               // let the server catch up
            yield()
        } catch {
            fail("send: \(error)")
        }
    }
}

func waitset() {
    makeEndpoints(at: 2, count: 2)
    let waitset = Waitset()
    var seen: [[UInt64]] = [[], []]
    for (index, endpoint) in [Capability(slot: 2), Capability(slot: 3)].enumerated() {
        do throws(InvocationStatus) {
            try waitset.add(endpoint: endpoint, capabilityDestination: Capability(slot: 5)) { message in
                if let refusal = message.refusal { fail("waitset: receive refused: \(refusal)") }
                seen[index].append(message.words[0])
            }
        } catch {
            fail("waitset: add \(index): \(error)")
        }
    }
    let server = Thread.spawn {
        for _ in 0..<10 { waitset.dispatch() }
        return 0
    }
    let senders = [Capability(slot: 2), Capability(slot: 3)].map { endpoint in
        Thread.spawn {
            for word in 1...5 {
                sendUntilTaken(endpoint, UInt64(word), capability: endpoint == Capability(slot: 3) && word == 5 ? .ram : nil)
                Thread.yield()
            }
            return 0
        }
    }
    for sender in senders { _ = sender.join() }
    _ = server.join()
    guard seen[0] == [1, 2, 3, 4, 5], seen[1] == [1, 2, 3, 4, 5] else { fail("waitset: handlers saw \(seen[0].count) and \(seen[1].count) messages, or out of order") }
    guard Capability(slot: 5).type == .physicalRAM else { fail("waitset: the capability did not arrive") }
}

func waitsetServer() {
    makeEndpoints(at: 2, count: 2)
    let waitset = Waitset()
    var fromClient: [UInt64] = [], fromSelf: [UInt64] = [], refused: [InvocationStatus] = []
    do throws(InvocationStatus) {
        try waitset.add(endpoint: Capability(slot: 2), capabilityDestination: Capability(slot: 6)) { fromClient.append($0.words[0]) }
        try waitset.add(endpoint: Capability(slot: 3)) { message in
            if let refusal = message.refusal { refused.append(refusal) } else { fromSelf.append(message.words[0]) }
        }
    } catch {
        fail("waitset-server: add: \(error)")
    }
    // Its own thread's last message carries a capability the endpoint has no slot for:
    // it stays in the kernel's queue, and must not keep the server from sleeping.
    let own = Thread.spawn {
        for word in 1...3 { sendUntilTaken(Capability(slot: 3), UInt64(word)) }
        sendUntilTaken(Capability(slot: 3), 4, capability: .ram)
        return 0
    }
    for _ in 0..<7 { waitset.dispatch() }
    _ = own.join()
    guard fromClient == [1, 2, 3], fromSelf == [1, 2, 3] else { fail("waitset-server: got \(fromClient.count) and \(fromSelf.count) messages, or out of order") }
    guard refused == [.slotEmpty] else { fail("waitset-server: the message it could not take was not reported once as slot empty") }
    guard Capability(slot: 6).type == .physicalRAM else { fail("waitset-server: the client's capability did not arrive") }
    guard Waitset.kernelWaits > 0 else { fail("waitset-server: never slept in the kernel") }
    // The client yields 20 times before each message: sleeping, the server waits a few
    // times; woken by the stuck message over and over, it would wait thousands.
    guard Waitset.kernelWaits < 50 else { fail("waitset-server: \(Waitset.kernelWaits) waits in the kernel: it spins") }
}

func orphanServer() {
    makeEndpoints(at: 2, count: 2)
    let waitset = Waitset()
    var refusals: [InvocationStatus?] = []
    do throws(InvocationStatus) {
        try waitset.add(endpoint: Capability(slot: 2)) { refusals.append($0.refusal) }
        try waitset.add(endpoint: Capability(slot: 3)) { _ in fail("orphan-server: a message on its own endpoint") }
    } catch {
        fail("orphan-server: add: \(error)")
    }
    waitset.dispatch()
    guard refusals == [.slotEmpty] else { fail("orphan-server: expected to learn that its endpoint is gone (35)") }
}

func orphanClient() {
    for _ in 0..<20 { yield() }                  // the server sleeps meanwhile
    do throws(InvocationStatus) {
        try Capability(slot: 2).revoke()
        try Capability(slot: 2).delete()
    } catch {
        fail("orphan-client: revoke and delete: \(error)")
    }
    makeEndpoints(at: 5, count: 1)
    do throws(InvocationStatus) {
        _ = try Capability(slot: 5).receive()
        fail("orphan-client: a message on its own new endpoint")
    } catch .endpointEmpty {
    } catch {
        fail("orphan-client: first receive on its own endpoint: \(error)")
    }
}

func waitsetClient() {
    for word in 1...3 {
        for _ in 0..<20 { yield() }              // the server sleeps meanwhile
        sendUntilTaken(Capability(slot: 2), UInt64(word), capability: word == 3 ? .ram : nil)
    }
    for _ in 0..<100 { yield() }                 // ending would revoke the RAM just sent
}

let cases: [(String, () -> Void)] = [
    ("preempt", preempt), ("spin", spin), ("forever", forever), ("join", join), ("mutex", mutex), ("condition", condition), ("heap-stress", heapStress), ("fault", fault), ("demand-paging", demandPaging),
    ("main-fault", { _ = user_read(0x1000) }), ("bad-calls", badCalls), ("bad-frame", badFrame),
    ("lose-dispatcher", { deleteOwn(leaf: 2) }), ("lose-dispatcher-frame", { deleteOwn(leaf: dispatcherFrameSlot()) }),
    ("lose-pml4", { deleteOwn(leaf: 1) }), ("waitset", waitset),
    ("waitset-server", waitsetServer), ("waitset-client", waitsetClient),
    ("orphan-server", orphanServer), ("orphan-client", orphanClient),
]
guard arguments.count == 1, let entry = cases.first(where: { $0.0 == arguments.first }) else {
    print("usage: threads preempt | spin | forever | join | mutex | condition | heap-stress | fault | demand-paging | main-fault | bad-calls | bad-frame | lose-dispatcher | lose-dispatcher-frame | lose-pml4 | waitset | waitset-server | waitset-client | orphan-server | orphan-client")
    exit(2)
}
entry.1()
exit(0)
