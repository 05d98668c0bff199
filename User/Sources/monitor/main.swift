// The monitor: the first user domain on every core, which the kernel starts at boot with
// the core's initial capabilities (Kernel/Sources/CPUDriver/MonitorDomain.swift): its
// root CNode, RAM, its dispatcher, notify (IPIs to every core's monitor), the kernel
// capability, on the bootstrap core every I/O port and the interrupts, and a frame for
// each of its rings to and from every other monitor (`MonitorRingLayout`).
//
// It checks that it holds exactly these (exit 1 otherwise, which the guest tests
// notice), maps its rings, serves other domains' requests on its service endpoint
// (`MonitorRequest`), and talks to the other monitors over the rings with no kernel on
// the data path: the kernel only delivers the notification that wakes a peer that
// sleeps. Between bursts of work it sleeps in the kernel until a request or a
// notification comes.
//
// Arguments: "<core> <core count>".
import Channel
import SwordfishUser
import UserRuntimeC

guard arguments.count == 2, let core = arguments.integer(at: 0), let coreCount = arguments.integer(at: 1) else {
    print("usage: monitor <core> <core count>")
    exit(2)
}
let service = Capability(slot: InitialSlot.serviceEndpoint)
let notify = Capability(slot: InitialSlot.notify)
/// The cores whose monitors this one has rings to.
let peers = core < MonitorRingLayout.maximumCores
    ? (0..<min(coreCount, MonitorRingLayout.maximumCores)).filter { $0 != core } : []

// What each slot must hold.
var expected: [(slot: UInt32, type: CapabilityType, name: String)] = [
    (InitialSlot.rootCNode, .cnode, "cnode"), (InitialSlot.ram, .physicalRAM, "ram"),
    (InitialSlot.dispatcher, .dispatcher, "dispatcher"), (InitialSlot.notify, .notify, "notify"),
    (InitialSlot.kernel, .kernel, "kernel"),
]
if core == 0 { expected += [(InitialSlot.ioPorts, .ioPortRange, "io ports"), (InitialSlot.interrupts, .irq, "interrupts")] }
for peer in peers {
    expected += [(MonitorRingLayout.sendSlot(to: peer), .frame, "ring to \(peer)"),
                 (MonitorRingLayout.receiveSlot(from: peer), .frame, "ring from \(peer)")]
}
for (slot, type, name) in expected where Capability(slot: slot).type != type {
    print("monitor on core \(core): slot \(slot) should hold \(name), found type \(Capability(slot: slot).type.rawValue)")
    exit(1)
}

// The rings, mapped in the 2 MiB at 1.5 TiB: the page table in slots 8–10, then two
// pages per core (to it, from it).
let window: UInt64 = 3 << 39
let table: Capability
do throws(InvocationStatus) {
    try Capability.ram.retype(to: .endpoint, into: service)
    table = try makePageTable(from: .ram, into: 8, pml4Entry: 3)
    for peer in peers {
        try table.map(Capability(slot: MonitorRingLayout.sendSlot(to: peer)), at: 2 * peer, rights: [.read, .write])
        try table.map(Capability(slot: MonitorRingLayout.receiveSlot(from: peer)), at: 2 * peer + 1, rights: [.read, .write])
    }
} catch {
    print("monitor on core \(core): setting up: \(error)")
    exit(1)
}
func page(_ index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(window) + UInt(index) * 4096)! }
let slots = Ring.slots(inBytes: Int(MonitorRingLayout.ringBytes))
var senders: [RingSender?] = Array(repeating: nil, count: coreCount)
var receivers: [RingReceiver?] = Array(repeating: nil, count: coreCount)
for peer in peers {
    senders[peer] = RingSender(region: page(2 * peer), slots: slots)
    receivers[peer] = RingReceiver(region: page(2 * peer + 1), slots: slots)
}
/// Peers whose ring carried something no correct monitor writes: not used again.
var broken: [Bool] = Array(repeating: false, count: coreCount)
var dropped = 0

// MARK: Monitor to monitor

/// What monitors say to each other (tags of `ChannelMessage`).
enum Wire: UInt16 {
    /// `token`: answer with a pong carrying it.
    case ping = 1
    case pong
}

/// Sends `message` to `peer` and notifies it; false if its ring is full or broken.
func send(_ message: ChannelMessage, to peer: Int) -> Bool {
    guard !broken[peer], senders[peer] != nil else { return false }
    do throws(ChannelError) {
        guard try senders[peer]!.send(message) else { return false }
    } catch {
        broken[peer] = true
        return false
    }
    try? notify.notify(core: peer)
    return true
}

// MARK: Requests from domains

/// A request waiting for another monitor: who asked (their answer endpoint, moved to
/// `slot`), and until when.
struct Waiting {
    var id: UInt32
    var slot: UInt32
    var token: UInt64
    var deadline: UInt64
}
/// Slots for the answer endpoints of requests in flight.
let answerSlots: [UInt32] = Array(48..<60)
var waiting: [Waiting] = []
var nextToken: UInt64 = 1
/// How long another monitor may take to answer, in TSC cycles (a few seconds at the
/// speeds these machines run, for a core busy in long kernel work; a bound, not a
/// measurement).
let patience: UInt64 = 8_000_000_000
/// Where a request's answer endpoint arrives.
let arriving = Capability(slot: 47)

func answer(_ reply: MonitorAnswer, to endpoint: Capability) {
    // An endpoint whose owner ended or never listens: the answer is dropped.
    for _ in 0..<100 {
        do throws(InvocationStatus) {
            try endpoint.send(reply.words)
            break
        } catch .endpointFull {
            yield()
        } catch {
            break
        }
    }
    _ = try? endpoint.delete()
}

func handle(_ words: [UInt64]) {
    guard let (request, id) = MonitorRequest.decode(words) else {
        return answer(MonitorAnswer(status: .unknownRequest, id: UInt32(truncatingIfNeeded: words[0] >> 8)), to: arriving)
    }
    switch request {
    case .ping(let target):
        if target == core { return answer(MonitorAnswer(status: .success, id: id), to: arriving) }
        guard peers.contains(target), !broken[target] else { return answer(MonitorAnswer(status: .noSuchCore, id: id), to: arriving) }
        guard let slot = answerSlots.first(where: { slot in !waiting.contains { $0.slot == slot } }) else {
            return answer(MonitorAnswer(status: .busy, id: id), to: arriving)
        }
        let token = nextToken
        nextToken += 1
        guard send(ChannelMessage(tag: Wire.ping.rawValue, token), to: target) else {
            return answer(MonitorAnswer(status: .busy, id: id), to: arriving)
        }
        _ = try? arriving.copy(to: Capability(slot: slot))
        _ = try? arriving.delete()
        waiting.append(Waiting(id: id, slot: slot, token: token, deadline: user_timestamp() &+ patience))
    }
}

/// Takes every request waiting on the service endpoint; true if there was one.
func serveRequests() -> Bool {
    var any = false
    while true {
        do throws(InvocationStatus) {
            let words = try service.receive(capabilityDestination: arriving)
            any = true
            if arriving.type == .endpoint { handle(words) } else { dropped += 1 }     // nowhere to answer
        } catch .slotOccupied {
            _ = try? arriving.delete()
        } catch {
            return any
        }
    }
}

/// Takes every message from every peer; true if there was one.
func serveRings() -> Bool {
    var any = false
    for peer in peers where !broken[peer] {
        while true {
            let message: ChannelMessage?
            do throws(ChannelError) {
                message = try receivers[peer]!.receive()
            } catch {
                broken[peer] = true
                print("monitor on core \(core): the ring from core \(peer) is corrupt; not used again")
                break
            }
            guard let message else { break }
            any = true
            switch Wire(rawValue: message.tag) {
            case .ping:
                if !send(ChannelMessage(tag: Wire.pong.rawValue, message.words[0]), to: peer) { dropped += 1 }
            case .pong:
                if let index = waiting.firstIndex(where: { $0.token == message.words[0] }) {
                    let done = waiting.remove(at: index)
                    answer(MonitorAnswer(status: .success, id: done.id), to: Capability(slot: done.slot))
                } else {
                    dropped += 1                         // an answer nobody waits for
                }
            case nil:
                dropped += 1
            }
        }
        receivers[peer]!.publish()
    }
    return any
}

/// Answers `timedOut` for every request whose peer stayed silent too long.
func expire() {
    let now = user_timestamp()
    func isLate(_ request: Waiting) -> Bool { Int64(bitPattern: now &- request.deadline) >= 0 }
    for late in waiting where isLate(late) {
        answer(MonitorAnswer(status: .timedOut, id: late.id), to: Capability(slot: late.slot))
    }
    waiting.removeAll(where: isLate)
}

print("monitor on core \(core) of \(coreCount): rings to \(peers.count) other monitors")
while true {
    let busy = serveRequests() || serveRings()
    expire()
    if busy { continue }
    if waiting.isEmpty {
        // Sleeps until a request or a notification comes (either since the last poll
        // wakes it at once).
        try? SystemCall.wait()
    } else {
        yield()                                          // a deadline to watch: no sleep
    }
}
