// How a CPU driver spends its life: handle whatever arrived on its links, then halt
// until the next interrupt (a timer tick or a notify IPI from a core that sent it
// something). Interrupt handlers only count and acknowledge; all real work happens
// here, one thing at a time, with interrupts off: the CPU driver is single-threaded
// and never preempted.
import Arch
import Basics
import Channel
import Memory

extension CoreState {
    /// Sends `message` to `core` and wakes it with a notify IPI.
    func send(_ message: KernelMessage, to core: CoreID) {
        guard core != id, links[core.rawValue] != nil else { return }
        links[core.rawValue]!.send(message.encode())
        apic.sendInterrupt(LocalAPIC.notifyVector, to: apicIDs[core.rawValue])
    }

    /// Handles everything pending on every link (and, on core 0, the console input).
    /// Returns true if anything happened.
    @discardableResult
    func poll() -> Bool {
        var busy = false
        for index in links.indices where links[index] != nil {
            if !links[index]!.outbox.isEmpty, links[index]!.flush() {
                apic.sendInterrupt(LocalAPIC.notifyVector, to: apicIDs[index])
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
                busy = true
                handle(message, from: CoreID(index))
            }
        }
        if let shell, shell.poll() { busy = true }
        return busy
    }

    func handle(_ raw: ChannelMessage, from source: CoreID) {
        guard let message = KernelMessage.decode(raw) else {
            malformedMessages += 1
            print("core \(id.rawValue): dropped a malformed message (tag \(raw.tag)) from core \(source.rawValue)")
            return
        }
        switch message {
        case .console(let bytes, let isEnd):
            if id == .bootstrap { Console.receive(bytes, isEnd: isEnd, from: source, state: self) }
        case .ping(let token): send(.pong(token: token), to: source)
        case .pong(let token): pongs[source.rawValue] = token
        case .statusRequest: send(.statusReply(status), to: source)
        case .statusReply(let status): statusReplies[source.rawValue] = status
        case .runTests(let live): pendingTestRun = live
        case .testReply(let report): testReplies[source.rawValue] = report
        case .panicRequest: Panic.deliberateFault()
        }
    }

    var status: CoreStatus {
        let block = CoreBlock.current!.pointee
        return CoreStatus(apicID: apicID.rawValue, ticks: ticks, totalFrames: UInt64(block.frames.totalFrames),
                          freeFrames: UInt64(block.frames.freeFrames), heapBytes: UInt64(block.heap.bytesInUse))
    }

    /// Polls until `condition` holds or `milliseconds` pass; true if it held.
    func waitUntil(milliseconds: UInt64, _ condition: () -> Bool) -> Bool {
        let start = CPU.timestamp()
        let limit = cycles(milliseconds: milliseconds)
        while !condition() {
            if CPU.timestamp() - start > limit { return false }
            if !poll() { CPU.relax() }
        }
        return true
    }

    /// The event loop; never returns.
    func run() -> Never {
        while true {
            if let live = pendingTestRun {
                pendingTestRun = nil
                let report = SelfTests.runLocal(on: self, live: live)
                send(.testReply(report), to: .bootstrap)
            }
            if !poll() { CPU.waitForInterrupt() }
        }
    }

    /// The interrupt side: count and acknowledge; nothing that could take long.
    static func handleTrap(_ trap: Trap) {
        switch trap {
        case .exception(let exception):
            Panic.report(exception)
        case .timer:
            if let state = current { state.ticks &+= 1; state.apic.acknowledge() }
        case .notify, .other:
            current?.apic.acknowledge()
        case .spurious:
            break
        }
    }
}
