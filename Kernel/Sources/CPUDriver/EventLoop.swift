// How a CPU driver spends its life: handle whatever arrived on its links, then halt
// until the next interrupt (a timer tick or a notify IPI from a core that sent it
// something). Interrupt handlers only count and acknowledge; all real work happens
// here, one thing at a time, with interrupts off: the CPU driver is single-threaded
// and never preempted.
import ABI
import Arch
import Basics
import KernelMessages
import KnowledgeBase
import Channel
import Memory
import ShootdownProtocol

extension CoreState {
    /// Sends `message` to `core` and, unless the caller knows it is awake, wakes it
    /// with a notify IPI.
    func send(_ message: KernelMessage, to core: CoreID, notify: Bool = true) {
        guard core != id, links[core.rawValue] != nil else { return }
        links[core.rawValue]!.send(message.encode())
        if notify { interrupt(core, vector: LocalAPIC.notifyVector) }
    }

    /// Sends interrupt `vector` to `core` (a notify: there is something for it).
    func interrupt(_ core: CoreID, vector: UInt8) {
        Tracing.record(.interprocessorInterrupt, a: UInt64(core.rawValue), b: UInt64(vector))
        apic.sendInterrupt(vector, to: apicIDs[core.rawValue])
    }

    /// Handles everything pending on every link (and, on core 0, the console input).
    /// Returns true if anything happened.
    @discardableResult
    func poll() -> Bool {
        var busy = false
        for index in links.indices where links[index] != nil {
            if !links[index]!.outbox.isEmpty, links[index]!.flush() {
                interrupt(CoreID(index), vector: LocalAPIC.notifyVector)
                busy = true
            }
            while links[index]?.broken == nil {
                let message: ChannelMessage?
                do {
                    message = try links[index]!.receiver.receive()
                } catch {
                    links[index]!.broken = error
                    print("core \(id.rawValue): link from core \(index) is corrupt; ignoring it from now on")
                    break
                }
                guard let message else { break }
                Tracing.message(.messageReceived, peer: CoreID(index), tag: message.tag, sequence: links[index]!.receiver.received)
                busy = true
                handle(message, from: CoreID(index))
            }
        }
        return busy
    }

    func handle(_ raw: ChannelMessage, from source: CoreID) {
        if ShootdownMessage.Tag(rawValue: raw.tag) != nil { return receiveShootdown(raw, from: source) }
        guard let message = KernelMessage.decode(raw, coreCount: coreCount) else {
            malformedMessages += 1
            print("core \(id.rawValue): dropped a malformed message (tag \(raw.tag)) from core \(source.rawValue)")
            return
        }
        switch message {
        case .console(let bytes, let isEnd):
            if id == .bootstrap { Console.receive(bytes, isEnd: isEnd, from: source, state: self) }
        case .ping(let token, let wake): send(.pong(token: token), to: source, notify: wake)
        case .pong(let token): pongs[source.rawValue] = token
        case .statusRequest:
            releaseEnded()                               // the memory as after every end
            send(.statusReply(status), to: source)
        case .statusReply(let status): statusReplies[source.rawValue] = status
        case .runTests(let live): deferred.append(.runTests(live))
        case .startMonitor(let live): deferred.append(.startMonitor(live))
        case .testReply(let report): testReplies[source.rawValue] = report
        case .panicRequest(let ticket):
            // Not obeyed as it stands: the requester's kernel must confirm that a
            // kernel-capability invocation granted it (PanicAuthority.swift).
            if panicChallenges.requested(ticket: ticket, by: source.rawValue, now: CPU.timestamp(), lifetime: cycles(milliseconds: 1000)) {
                send(.panicCheck(ticket: ticket), to: source)
            }
        case .panicCheck(let ticket):
            let granted = panicGrants.confirm(ticket: ticket, from: source.rawValue, now: CPU.timestamp())
            send(.panicAnswer(ticket: ticket, granted: granted), to: source)
        case .panicAnswer(let ticket, let granted):
            if !granted {
                panicChallenges.denied(ticket: ticket, by: source.rawValue)
                print("core \(id.rawValue): refused a request from core \(source.rawValue) to stop: no kernel-capability invocation granted it")
            } else if panicChallenges.confirmed(ticket: ticket, by: source.rawValue, now: CPU.timestamp()) {
                Panic.deliberateFault()
            }
        case .stayAwake(let milliseconds):
            let deadline = milliseconds == 0 ? nil : CPU.timestamp() + cycles(milliseconds: UInt64(milliseconds))
            stayAwake.request(from: source.rawValue, until: deadline)
        case .measureLatencies(let cores): deferred.append(.measureLatencies(cores))
        case .latency(let to, let cycles): latencyRows[source.rawValue][to.rawValue] = max(cycles, 1)
        case .stream(let sequence):
            if sequence != streamReceived[source.rawValue] { streamErrors += 1 }
            streamReceived[source.rawValue] = sequence &+ 1
        case .benchChannel(let peer, let rounds): deferred.append(.benchChannel(peer: peer, rounds: rounds, requester: source))
        case .floorEcho(let peer, let rounds): deferred.append(.floorEcho(peer: peer, rounds: rounds))
        case .benchResult(let result): benchReplies[source.rawValue] = result
        case .place(let place, let caches):
            places[source.rawValue] = CoreFacts(core: source, apicID: apicIDs[source.rawValue], place: place, caches: caches)
        case .treeChildren(let total, let offset, let children): handleTreeChildren(total: total, offset: offset, children: children)
        case .multicast(let id): handleMulticast(id: id, from: source)
        case .wake(let domain): wake(domain: Int(domain))
        case .traceSwitch(let on): send(switchTrace(on: on), to: source)
        case .traceBuffer(let address, let bytes, let on): traceReplies[source.rawValue] = (address, bytes, on)
        case .multicastAck(let id, let reached, let duplicates): handleMulticastAck(id: id, reached: reached, duplicates: duplicates)
        case .stopping: coreStopped(source)
        }
    }

    var status: CoreStatus {
        let block = CoreBlock.current!.pointee
        return CoreStatus(apicID: apicID.rawValue, ticks: ticks, totalFrames: UInt64(block.frames.totalFrames),
                          freeFrames: UInt64(block.frames.freeFrames), heapBytes: UInt64(block.heap.bytesInUse),
                          domains: UInt64(domains.count), dropped: UInt64(droppedTotal))
    }

    /// Polls until `condition` holds or `milliseconds` pass; true if it held. With
    /// `halting`, the core sleeps between polls (until a tick or a notify IPI) instead
    /// of spinning: for long waits whose answer arrives with a notification.
    func waitUntil(milliseconds: UInt64, halting: Bool = false, _ condition: () -> Bool) -> Bool {
        let start = CPU.timestamp()
        let limit = cycles(milliseconds: milliseconds)
        while !condition() {
            if CPU.timestamp() - start > limit { return false }
            if !poll() {
                if halting && !stayAwake.isAwake(now: CPU.timestamp()) { CPU.waitForInterrupt() } else { CPU.relax() }
            }
        }
        return true
    }

    /// The event loop; never returns.
    func run() -> Never {
        while true {
            if let work = deferred.removeFirst() { perform(work) }
            let busy = poll()
            // User domains run when the kernel has nothing else to do; the timer
            // brings control back here at least every tick.
            if runNextDomain() { continue }
            if !busy && deferred.isEmpty && !stayAwake.isAwake(now: CPU.timestamp()) { CPU.waitForInterrupt() }
        }
    }

    func perform(_ work: DeferredWork) {
        switch work {
        case .runTests(let live):
            send(.testReply(SelfTests.runLocal(on: self, live: live)), to: .bootstrap)
        case .startMonitor(let live):
            startMonitor(live: live)
        case .measureLatencies(let cores):
            for (core, cycles) in measureRoundTrips(to: cores) { send(.latency(to: core, cycles: cycles), to: .bootstrap) }
        case .benchChannel(let peer, let rounds, let requester):
            send(.benchResult(benchChannel(to: peer, rounds: rounds)), to: requester)
        case .floorEcho(let peer, let rounds):
            echoFloor(for: peer, rounds: rounds)
        }
    }

    /// The interrupt side: count and acknowledge; nothing that could take long.
    static func handleTrap(_ trap: Trap) {
        switch trap {
        case .timer: Tracing.record(.interrupt, a: UInt64(LocalAPIC.timerVector))
        case .notify: Tracing.record(.interrupt, a: UInt64(LocalAPIC.notifyVector))
        case .userNotify: Tracing.record(.interrupt, a: UInt64(LocalAPIC.userNotifyVector))
        case .other(let vector): Tracing.record(.interrupt, a: UInt64(vector))
        case .exception, .spurious: break
        }
        switch trap {
        case .exception(let exception):
            Panic.report(exception)
        case .timer:
            if let state = current { state.ticks &+= 1; state.apic.acknowledge() }
        case .notify:
            current?.apic.acknowledge()
        case .other(let vector):
            current?.deviceInterruptArrived(vector: vector)
            current?.apic.acknowledge()
        case .userNotify:
            current?.apic.acknowledge()
            current?.notificationArrived()
        case .spurious:
            break
        }
    }
}
