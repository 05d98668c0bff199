// The monitor: the first user domain on every core, which the kernel starts at boot with
// the core's initial capabilities (Kernel/Sources/CPUDriver/MonitorDomain.swift): its
// root CNode, RAM, its dispatcher, notify (IPIs to every core's monitor), the kernel
// capability, on the bootstrap core every I/O port and the interrupts, and a frame for
// each of its rings to and from every other monitor (`MonitorRingLayout`).
//
// It checks that it holds exactly these (exit 1 otherwise, which the guest tests
// notice), maps its rings, serves other domains' requests on its service endpoint
// (`MonitorRequest`: names, spawn and kill anywhere, ping, the knowledge base), and keeps
// this core's replica of the domain table, the name table and the knowledge base (which
// core 0's monitor fetches from its kernel and sends to the others) by the protocols of
// Core/Sources/MonitorProtocols, whose state machine (`Monitor`) it drives: requests,
// ring messages, the kernel's reports of domains starting and ending, and time go in;
// ring messages, replies and the kernel's spawn and kill come out. The monitors talk
// over the rings with no kernel on the data path: the kernel only delivers the
// notification that wakes a peer that sleeps. Between bursts of work it sleeps in the
// kernel until a request, a notification or a domain's start or end comes.
//
// Arguments: "<core> <core count> <core>…": the cores that came up, which run monitors
// (the same list on every core, from core 0).
import Basics
import CapabilityProtocols
import Channel
import KnowledgeBase
import MonitorProtocols
import PageTables
import SwordfishUser
import UserRuntimeC

guard arguments.count >= 3, let core = arguments.integer(at: 0), let coreCount = arguments.integer(at: 1) else {
    print("usage: monitor <core> <core count> <core>…")
    exit(2)
}
/// The cores whose monitors take part: those that came up and have rings.
let members = (2..<arguments.count).compactMap { arguments.integer(at: $0) }
    .filter { $0 < min(coreCount, MonitorRingLayout.maximumCores) }
let service = Capability(slot: InitialSlot.serviceEndpoint)
let notify = Capability(slot: InitialSlot.notify)
/// The other cores whose monitors this one talks to.
let peers = core < MonitorRingLayout.maximumCores ? members.filter { $0 != core } : []

// What each slot must hold.
var expected: [(slot: UInt32, type: CapabilityType, name: String)] = [
    (InitialSlot.rootCNode, .cnode, "cnode"), (InitialSlot.ram, .physicalRAM, "ram"),
    (InitialSlot.dispatcher, .dispatcher, "dispatcher"), (InitialSlot.notify, .notify, "notify"),
    (InitialSlot.kernel, .kernel, "kernel"),
]
if core == 0 { expected += [(InitialSlot.ioPorts, .ioPortRange, "io ports"), (InitialSlot.interrupts, .irq, "interrupts")] }
if core < MonitorRingLayout.maximumCores { expected.append((InitialSlot.bindingPool, .frame, "binding pool")) }
for peer in 0..<min(coreCount, MonitorRingLayout.maximumCores) where peer != core && core < MonitorRingLayout.maximumCores {
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
/// A CNode of 64 slots in root slot 11 for the capabilities the monitor keeps: replies'
/// endpoints by client, registered endpoints, one arriving with a request.
let keep = Capability(slot: 11)
/// This core's binding pool, one frame per page, from slot 56 of `keep` on
/// (`BindingPool`), mapped in the window after the rings. (Declared before they are
/// used: main.swift's globals start at zero.)
let poolSlots: UInt32 = 56
let poolWindowEntry = 2 * MonitorRingLayout.maximumCores
do throws(InvocationStatus) {
    try Capability.ram.retype(to: .endpoint, into: service)
    try Capability.ram.retype(to: .cnode, size: 64, into: keep)
    if core < MonitorRingLayout.maximumCores {
        try Capability(slot: InitialSlot.bindingPool).retype(to: .frame, size: BindingPool.pageBytes,
                                                            count: BindingPool.pagesPerCore, into: kept(poolSlots))
    }
    try notify.mint(to: kept(2), rights: [.write])
    table = try makePageTable(from: .ram, into: 8, pml4Entry: 3)
    for peer in peers {
        try table.map(Capability(slot: MonitorRingLayout.sendSlot(to: peer)), at: 2 * peer, rights: [.read, .write])
        try table.map(Capability(slot: MonitorRingLayout.receiveSlot(from: peer)), at: 2 * peer + 1, rights: [.read, .write])
    }
    // The binding pool's pages too, after the rings: a page is cleared here before it
    // is leased again.
    if core < MonitorRingLayout.maximumCores {
        for page in 0..<BindingPool.pagesPerCore {
            try table.map(kept(poolSlots + UInt32(page)), at: poolWindowEntry + page, rights: [.read, .write])
        }
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
/// Peers whose ring carried something no correct monitor writes, or that stopped for
/// good: not used again.
var broken: [Bool] = Array(repeating: false, count: coreCount)
var dropped = 0

// MARK: Capabilities the monitor keeps

func kept(_ slot: UInt32) -> Capability { Capability(.leaf(11, slot)) }
/// Where a request's capability arrives.
let arriving = kept(0)
/// Where a page of another core's binding pool is made, on its way to a server.
let offered = kept(1)
var freePages: [Int] = Array((0..<BindingPool.pagesPerCore).reversed())
/// Pages of the binding pool in use by a client here and a server elsewhere. A page is
/// cleared and free again once both have ended (their mappings went with them).
var leases: [(page: Int, client: DomainID, server: DomainID)] = []
/// The right to notify any domain, write only (it cannot make its holder a core's
/// notification receiver): every domain gets a copy with the answer to its `hello`, to
/// wake the peers of its connections.
let wakeRight = kept(2)
/// Slots 3…55 of the kept CNode: free, or holding a reply endpoint or a registered one.
var freeSlots: [UInt32] = Array((3..<poolSlots).reversed())
/// Each client's reply endpoint (from its `hello`), by its badge (its local domain id).
var replies: [(client: UInt64, slot: UInt32)] = []
/// Registered endpoints, by the token the name table records (the slot).
var registered: [UInt32] = []

/// Moves what arrived into a free slot; nil if it holds nothing or none is free.
func keepArriving() -> UInt32? {
    guard arriving.type == .endpoint, let slot = freeSlots.popLast() else { _ = try? arriving.delete(); return nil }
    _ = try? arriving.copy(to: kept(slot))
    _ = try? arriving.delete()
    return slot
}

func release(_ slot: UInt32) {
    _ = try? kept(slot).delete()
    freeSlots.append(slot)
}

// MARK: Monitor to monitor

/// Messages waiting for room in a ring, by peer: order on a ring is what the protocols
/// rely on, so a full ring holds everything after it too.
var outboxes: [[ChannelMessage]] = Array(repeating: [], count: coreCount)

func send(_ message: ChannelMessage, to peer: Int) {
    guard peers.contains(peer), !broken[peer] else { return dropped += 1 }
    outboxes[peer].append(message)
    flush(peer)
}

/// Puts what waits for `peer` into its ring and notifies it.
func flush(_ peer: Int) {
    var sent = false
    while let message = outboxes[peer].first {
        do throws(ChannelError) {
            guard try senders[peer]!.send(message) else { break }
            SystemCall.trace(.messageSent, a: TraceMessageWord.make(peer: peer, tag: message.tag), b: senders[peer]!.sent)
        } catch {
            broken[peer] = true
            outboxes[peer].removeAll()
            return
        }
        outboxes[peer].removeFirst()
        sent = true
    }
    if sent { try? notify.notify(core: peer) }
}

// MARK: The protocols

var state = Monitor(core: CoreID(core), coreCount: coreCount,
                    configuration: Monitor.Configuration(requestTimeout: timeUnitsPerSecond * 4,
                                                         monitorCores: members.map { CoreID($0) },
                                                         knowledgeSource: CoreID.bootstrap))
/// The protocols' clock: TSC cycles / 2^20, about a millisecond on these machines.
func now() -> MonitorTime { MonitorTime(user_timestamp() >> 20) }
var timeUnitsPerSecond: UInt64 { 2_500 }
/// Requests from domains in flight: the protocols' id, the client and its own id.
var inFlight: [(request: UInt64, client: UInt64, id: UInt32)] = []
var nextRequest: UInt64 = 1
/// Argument pieces a client sent before its spawn.
var pieces: [(client: UInt64, bytes: [UInt8])] = []
/// Domains this monitor started for a spawn (their start is the protocol's already).
var spawnedHere: [Int] = []
/// Pings to other monitors in flight: token, client, its id, deadline.
var pings: [(token: UInt64, client: UInt64, id: UInt32, deadline: UInt64)] = []
/// Bindings waiting for the server's monitor: token, client, its id, the pool page, the owner.
var binds: [(token: UInt64, client: UInt64, id: UInt32, page: Int, owner: UInt64, deadline: UInt64)] = []
var nextToken: UInt64 = 1
let kernel = Capability(slot: InitialSlot.kernel)
/// The capability protocols (SharedCapabilities.swift), over this core's capabilities as
/// the kernel holds them.
var capabilities = CapabilityMonitor(
    core: CoreID(core), coreCount: coreCount,
    database: KernelCapabilityDatabase(kernel: kernel, domainExists: { local in
        state.record(for: DomainID(core: CoreID(core), local: LocalDomainNumber(local))) != nil
    }),
    configuration: .init(members: members.reduce(into: CoreMask.none) { $0.insert(CoreID($1)) }))

/// A `ps` (every domain, printed) or a `state` request (one domain) waiting for other
/// monitors to say which of their domains run and which sleep: only a domain's own core
/// knows, so each monitor asks its kernel and the others ask it.
struct StateQuery {
    var token: UInt64
    var client: UInt64
    var id: UInt32
    /// The domain asked about; nil for `ps`.
    var domain: DomainID?
    /// The monitors that have not answered in full yet.
    var waitingOn: [Int]
    var states: [(domain: DomainID, state: DomainRunState)]
    var deadline: UInt64
}
var stateQueries: [StateQuery] = []

/// Whether this core's domain `local` runs or sleeps, from the kernel; nil if it has ended.
func localState(_ local: LocalDomainNumber) -> DomainRunState? {
    let (status, value) = Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.domainState.rawValue, UInt64(local.rawValue))
    return status == InvocationStatus.success.rawValue ? DomainRunState(rawValue: value) : nil
}

/// The states of every domain the replica lists on this core.
func localStates() -> [DomainStateEntry] {
    state.domains.compactMap { record in
        guard record.id.core.rawValue == core, let now = localState(record.id.local) else { return nil }
        return DomainStateEntry(local: record.id.local, state: now)
    }
}

/// Answers a state query with what came (a monitor that stayed silent leaves its
/// domains' states unknown: `?` in `ps`, `timedOut` for one domain).
func finish(_ query: StateQuery) {
    guard let asked = query.domain else {
        print("core  domain  state  program")
        for record in state.domains {
            let known = query.states.first { $0.domain == record.id }?.state
            let shown = known.map { $0.description } ?? "?"
            print("\(pad(record.id.core.rawValue, 4))  \(pad(Int(record.id.local.rawValue), 6))  \(shown)\(String(repeating: " ", count: 7 - shown.utf8.count))\(String(decoding: record.program.bytes, as: UTF8.self))")
        }
        return reply(MonitorReply(status: .success, id: query.id), to: query.client)
    }
    if let found = query.states.first(where: { $0.domain == asked }) {
        reply(MonitorReply(status: .success, id: query.id, values: (found.state.rawValue, 0)), to: query.client)
    } else {
        reply(MonitorReply(status: query.waitingOn.isEmpty ? .noSuchDomain : .timedOut, id: query.id), to: query.client)
    }
}

/// Starts a state query: this core's states at once, the others' from their monitors.
func queryStates(of domain: DomainID?, for client: UInt64, id: UInt32) {
    var query = StateQuery(token: nextToken, client: client, id: id, domain: domain, waitingOn: [], states: [],
                           deadline: user_timestamp() &+ patience)
    nextToken += 1
    if domain == nil || domain?.core.rawValue == core {
        query.states = localStates().map { (DomainID(core: CoreID(core), local: $0.local), $0.state) }
    }
    for peer in peers where !broken[peer] && (domain == nil || domain?.core.rawValue == peer) {
        query.waitingOn.append(peer)
        send(MonitorMessage.statesRequest(token: query.token).encode(), to: peer)
    }
    if query.waitingOn.isEmpty { finish(query) } else { stateQueries.append(query) }
}

func reply(_ reply: MonitorReply, to client: UInt64, with capability: Capability? = nil) {
    guard let slot = replies.first(where: { $0.client == client })?.slot else { return dropped += 1 }
    for _ in 0..<100 {
        do throws(InvocationStatus) {
            try kept(slot).send(reply.words, capability: capability)
            return
        } catch .endpointFull {
            yield()
        } catch {
            return                                       // its owner ended: nobody to tell
        }
    }
}

func status(of error: MonitorError) -> MonitorStatus {
    switch error {
    case .nameTaken: return .nameTaken
    case .noSuchName: return .noSuchName
    case .notOwner: return .notOwner
    case .noSuchCore: return .noSuchCore
    case .noSuchDomain, .notLocal: return .noSuchDomain
    case .noSuchProgram: return .noSuchProgram
    case .outOfResources: return .outOfResources
    case .argumentsTooLong: return .argumentsTooLong
    case .busy: return .busy
    case .timedOut: return .timedOut
    case .alreadySpanned: return .alreadySpanned
    }
}

func perform(_ effects: [MonitorEffect]) {
    for effect in effects {
        switch effect {
        case .send(let message, let to):
            send(message.encode(), to: to.rawValue)
        case .answer(let request, let answer):
            guard let index = inFlight.firstIndex(where: { $0.request == request.rawValue }) else { continue }
            let asked = inFlight.remove(at: index)
            switch answer {
            case .registered, .unregistered, .killed:
                reply(MonitorReply(status: .success, id: asked.id), to: asked.client)
            case .found(let owner, let endpoint):
                // An owner on this core: the asker gets a copy of its endpoint.
                let local = owner.core.rawValue == core && registered.contains(UInt32(truncatingIfNeeded: endpoint.rawValue))
                reply(MonitorReply(status: .success, id: asked.id, values: (owner.word, endpoint.rawValue)), to: asked.client,
                      with: local ? kept(UInt32(truncatingIfNeeded: endpoint.rawValue)) : nil)
            case .spawned(let domain):
                reply(MonitorReply(status: .success, id: asked.id, values: (domain.word, 0)), to: asked.client)
            case .failed(let error):
                reply(MonitorReply(status: status(of: error), id: asked.id), to: asked.client)
            }
        case .spawnLocally(let spawn, let program, let arguments):
            spawnHere(PendingSpawn(spawn: spawn, program: program, arguments: arguments, deadline: user_timestamp() &+ patience))
        case .killLocally(let local):
            _ = Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.kill.rawValue, UInt64(local.rawValue))
        case .spanLocally(let span, let home, let place):
            let words = [home.word, place.root, place.frame, place.frameAddress]
            let (status, local) = words.withUnsafeBufferPointer { buffer in
                Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.span.rawValue, UInt64(UInt(bitPattern: buffer.baseAddress)))
            }
            if status == InvocationStatus.success.rawValue {
                spawnedHere.append(Int(local))
                perform(state.spanSucceeded(span, local: LocalDomainNumber(UInt32(truncatingIfNeeded: local))))
            } else {
                perform(state.spanFailed(span, error: .outOfResources))
            }
        case .releaseSpanned(let local):
            _ = Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.releaseSpanned.rawValue, UInt64(local.rawValue))
            let waiting = spawnsAwaitingMemory
            spawnsAwaitingMemory = []
            for pending in waiting { spawnHere(pending) }
        case .driverMessage(let message, let from):
            handle(message, from: from.rawValue)
        }
    }
}

/// A spawn the protocols handed this core, and when it stops waiting for memory.
struct PendingSpawn {
    var spawn: SpawnID
    var program: Name
    var arguments: [UInt8]
    var deadline: UInt64
}

/// Spawns the kernel refused for memory while ended spanned domains' memory was still
/// held (Spans.swift: it is freed once their other cores answer, which may take a while
/// on a busy machine). Each is tried again after every release, and fails
/// `outOfResources` at its deadline: a spawn right after a spanned domain's end does
/// not fail for memory that is on its way back.
var spawnsAwaitingMemory: [PendingSpawn] = []

/// Starts `pending`'s program here and reports how it went, or waits for held memory.
func spawnHere(_ pending: PendingSpawn) {
    let (status, local) = pending.program.bytes.withUnsafeBufferPointer { name in
        pending.arguments.withUnsafeBufferPointer { words in
            Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.spawn.rawValue,
                                 UInt64(UInt(bitPattern: name.baseAddress)), UInt64(name.count),
                                 UInt64(UInt(bitPattern: words.baseAddress)), UInt64(words.count))
        }
    }
    if status == InvocationStatus.success.rawValue {
        spawnedHere.append(Int(local))
        perform(state.spawnSucceeded(pending.spawn, local: LocalDomainNumber(UInt32(truncatingIfNeeded: local))))
    } else if status == InvocationStatus.outOfMemory.rawValue && state.spansHeld > 0
                && Int64(bitPattern: user_timestamp() &- pending.deadline) < 0 {
        spawnsAwaitingMemory.append(pending)
    } else {
        perform(state.spawnFailed(pending.spawn, error: status == InvocationStatus.noSuchProgram.rawValue ? .noSuchProgram : .outOfResources))
    }
}

// MARK: TLB shootdown

/// The kernels run the shootdown protocol (docs/shootdown.md) down the trees of the
/// knowledge base, so each kernel gets this monitor's replica, again whenever its
/// generation changes (the kernel keeps the one it has while a shootdown is in flight;
/// the next round tries again).
var knowledgeInKernel: UInt64? = nil

func giveKernelKnowledge() {
    guard let replica = state.knowledge, knowledgeInKernel != UInt64(replica.generation.rawValue) else { return }
    let bytes = replica.base.encoded()
    var words = [UInt64](repeating: 0, count: (bytes.count + 7) / 8)
    for (index, byte) in bytes.enumerated() { words[index / 8] |= UInt64(byte) << (8 * UInt64(index % 8)) }
    let (status, _) = words.withUnsafeBufferPointer { buffer in
        Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.adoptKnowledge.rawValue,
                             UInt64(UInt(bitPattern: buffer.baseAddress)), UInt64(bytes.count))
    }
    if status == InvocationStatus.success.rawValue {
        knowledgeInKernel = UInt64(replica.generation.rawValue)
    } else if status != InvocationStatus.tooManyInFlight.rawValue {
        knowledgeInKernel = UInt64(replica.generation.rawValue)
        print("monitor on core \(core): the kernel refused the knowledge base (status \(status)); no shootdowns here")
    }
}

/// `value` right-aligned in `width` columns.
func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: " ", count: max(0, width - text.utf8.count)) + text
}

/// A request from `client` (its badge: its local domain id).
func handle(_ request: MonitorRequest, id: UInt32, from client: UInt64) {
    let owner = DomainID(core: CoreID(core), local: LocalDomainNumber(UInt32(truncatingIfNeeded: client)))
    func ask(_ body: (RequestID) -> [MonitorEffect]) {
        let request = RequestID(nextRequest)
        nextRequest += 1
        inFlight.append((request.rawValue, client, id))
        perform(body(request))
    }
    switch request {
    case .hello:
        guard let slot = keepArriving() else { return dropped += 1 }
        if let old = replies.firstIndex(where: { $0.client == client }) { release(replies.remove(at: old).slot) }
        replies.append((client, slot))
        reply(MonitorReply(status: .success, id: id), to: client, with: wakeRight)
    case .ping(let target):
        if target == core { return reply(MonitorReply(status: .success, id: id), to: client) }
        guard peers.contains(target), !broken[target] else { return reply(MonitorReply(status: .noSuchCore, id: id), to: client) }
        let token = nextToken
        nextToken += 1
        pings.append((token, client, id, user_timestamp() &+ patience))
        send(MonitorMessage.ping(token: token).encode(), to: target)
    case .register(let bytes):
        guard let name = Name(bytes) else { return reply(MonitorReply(status: .noSuchName, id: id), to: client) }
        let slot = keepArriving()
        if let slot { registered.append(slot) }
        ask { state.register(name, endpoint: EndpointToken(UInt64(slot ?? 0)), by: owner, request: $0) }
    case .unregister(let bytes):
        guard let name = Name(bytes) else { return reply(MonitorReply(status: .noSuchName, id: id), to: client) }
        ask { state.unregister(name, by: owner, request: $0) }
    case .lookup(let bytes):
        guard let name = Name(bytes) else { return reply(MonitorReply(status: .noSuchName, id: id), to: client) }
        ask { state.lookup(name, request: $0) }
    case .argumentPiece(let bytes):
        if let index = pieces.firstIndex(where: { $0.client == client }) { pieces[index].bytes += bytes } else { pieces.append((client, bytes)) }
        reply(MonitorReply(status: .success, id: id), to: client)
    case .spawn(let program, let target):
        let arguments = pieces.first(where: { $0.client == client })?.bytes ?? []
        pieces.removeAll { $0.client == client }
        guard let name = Name(program) else { return reply(MonitorReply(status: .noSuchProgram, id: id), to: client) }
        guard target >= 0, target < coreCount else { return reply(MonitorReply(status: .noSuchCore, id: id), to: client) }
        ask { state.spawn(name, arguments: arguments, on: CoreID(target), request: $0) }
    case .span(let target, let frameAddress):
        // The kernel reads the place from the domain's own tables, and holds its memory
        // at its end from now on (Core's Spans.swift).
        var place = [UInt64](repeating: 0, count: 2)
        let found = place.withUnsafeMutableBufferPointer { buffer in
            Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.spanPlace.rawValue, client, frameAddress,
                                 UInt64(UInt(bitPattern: buffer.baseAddress)), UInt64(target)).status
        }
        guard found == InvocationStatus.success.rawValue,
              let at = SpanPlace(root: place[0], frame: place[1], frameAddress: frameAddress) else {
            return reply(MonitorReply(status: .badAddress, id: id), to: client)
        }
        ask { state.span(owner.local, at: at, on: CoreID(target), request: $0) }
    case .bind(let bytes):
        guard let name = Name(bytes), let record = state.record(for: name) else {
            return reply(MonitorReply(status: .noSuchName, id: id), to: client)
        }
        let slot = UInt32(truncatingIfNeeded: record.endpoint.rawValue)
        if record.owner.core.rawValue == core {
            guard registered.contains(slot) else { return reply(MonitorReply(status: .noSuchName, id: id), to: client) }
            return reply(MonitorReply(status: .success, id: id, values: (record.owner.word, BindingKind.endpoint.rawValue)),
                         to: client, with: kept(slot))
        }
        guard peers.contains(record.owner.core.rawValue), let page = freePages.popLast() else {
            return reply(MonitorReply(status: .busy, id: id), to: client)
        }
        let token = nextToken
        nextToken += 1
        binds.append((token, client, id, page, record.owner.word, user_timestamp() &+ patience))
        send(MonitorMessage.bindRequest(token: token, endpoint: record.endpoint, page: page, client: owner).encode(),
             to: record.owner.core.rawValue)
    case .printCounters:
        var line = "monitor on core \(core):"
        for (name, value) in state.counters.all { line += " \(name) \(value)" }
        print(line + "; dropped by this side \(dropped)")
        printCapabilityCounters()
        reply(MonitorReply(status: .success, id: id), to: client)
    case .printDomains:
        queryStates(of: nil, for: client, id: id)
    case .state(let word):
        guard let domain = DomainID(word: word, coreCount: coreCount), state.record(for: domain) != nil else {
            return reply(MonitorReply(status: .noSuchDomain, id: id), to: client)
        }
        guard domain.core.rawValue == core || (peers.contains(domain.core.rawValue) && !broken[domain.core.rawValue]) else {
            return reply(MonitorReply(status: .noSuchCore, id: id), to: client)
        }
        queryStates(of: domain, for: client, id: id)
    case .printNames:
        print("name              core  domain")
        for record in state.names {
            let name = String(decoding: record.name.bytes, as: UTF8.self)
            print("\(name)\(String(repeating: " ", count: max(1, 18 - name.utf8.count)))\(pad(record.owner.core.rawValue, 4))  \(pad(Int(record.owner.local.rawValue), 6))")
        }
        reply(MonitorReply(status: .success, id: id), to: client)
    case .alive(let word):
        guard let record = DomainID(word: word, coreCount: coreCount).flatMap({ state.record(for: $0) }) else {
            return reply(MonitorReply(status: .noSuchDomain, id: id), to: client)
        }
        reply(MonitorReply(status: .success, id: id, values: NameWords.pack(record.program.bytes)), to: client)
    case .awaitEnd(let word):
        guard let domain = DomainID(word: word, coreCount: coreCount) else { return reply(MonitorReply(status: .noSuchDomain, id: id), to: client) }
        awaiting.append((client, id, domain))
        answerAwaiting()
    case .kill(let word):
        guard let domain = DomainID(word: word, coreCount: coreCount) else { return reply(MonitorReply(status: .noSuchDomain, id: id), to: client) }
        ask { state.kill(domain, request: $0) }
    case .ioPorts(let base, let count):
        handOut(count, from: base, of: Capability(slot: InitialSlot.ioPorts), id: id, to: client)
    case .interrupt(let irq):
        handOut(1, from: irq, of: Capability(slot: InitialSlot.interrupts), id: id, to: client)
    case .bootFile(let name, let page):
        // The asker's frame came with the request (`arriving`); the kernel writes the page
        // into it, and it goes when the request is done.
        let (status, size) = name.withUnsafeBufferPointer { bytes in
            Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.bootFile.rawValue, UInt64(UInt(bitPattern: bytes.baseAddress)),
                                 UInt64(bytes.count), UInt64(truncatingIfNeeded: page), arriving.address.encoded)
        }
        let answer: MonitorStatus = switch InvocationStatus(rawValue: status) {
        case .success?: .success
        case .noSuchFile?: .noSuchName
        default: .badAddress
        }
        reply(MonitorReply(status: answer, id: id, values: (answer == .success ? size : 0, 0)), to: client)
    case .deviceMemory(let base, let bytes):
        handOut(bytes, from: base, of: Capability(slot: InitialSlot.deviceMemory), id: id, to: client)
    case .printKnowledge, .knowledgeDigest:
        handleKnowledge(request, id: id, from: client)
    case .serviceCore:
        guard let chosen = state.serviceCore else { return reply(MonitorReply(status: .noKnowledge, id: id), to: client) }
        reply(MonitorReply(status: .success, id: id, values: (UInt64(chosen.rawValue), 0)), to: client)
    case .allocate, .free, .memoryStatus, .sendCapability, .receiveCapability, .receiveCopy, .revokeCapability, .retypeCapability:
        handleCapabilityRequest(request, id: id, from: client)
    }
}

// MARK: The knowledge base

/// `printKnowledge` prints this core's replica (`names skb`); both answer with its digest
/// and generation (the guest check compares the digest with core 0's kernel's).
func handleKnowledge(_ request: MonitorRequest, id: UInt32, from client: UInt64) {
    guard let replica = state.knowledge else { return reply(MonitorReply(status: .noKnowledge, id: id), to: client) }
    if request == .printKnowledge {
        print("knowledge base on core \(core) (replica, generation \(replica.generation.rawValue)):")
        for line in replica.base.reportLines { print(line) }
    }
    reply(MonitorReply(status: .success, id: id, values: (replica.digest, UInt64(replica.generation.rawValue))), to: client)
}

/// Core 0: the knowledge base its kernel built at boot, handed to the protocols, which
/// send it to every other monitor. The first call, with no room, learns the size.
func publishKnowledge() {
    let (status, size) = Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.knowledge.rawValue, 0, 0)
    guard status == InvocationStatus.bufferTooSmall.rawValue, size <= UInt64(MonitorMessage.maximumKnowledgeBytes) else {
        return print("monitor on core \(core): no knowledge base to publish (status \(status), \(size) bytes)")
    }
    // Zeroed, so every page is there when the kernel writes.
    var words = [UInt64](repeating: 0, count: (Int(size) + 7) / 8)
    let (copied, count) = words.withUnsafeMutableBufferPointer { buffer in
        Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.knowledge.rawValue,
                             UInt64(UInt(bitPattern: buffer.baseAddress)), UInt64(buffer.count * 8))
    }
    guard copied == InvocationStatus.success.rawValue, count == size else {
        return print("monitor on core \(core): the kernel's knowledge base did not arrive (status \(copied))")
    }
    let bytes = (0..<Int(count)).map { UInt8(truncatingIfNeeded: words[$0 / 8] >> (8 * UInt64($0 % 8))) }
    do throws(KnowledgeDecodingError) {
        perform(state.publishKnowledge(try KnowledgeBase(decoding: bytes)))
    } catch {
        print("monitor on core \(core): the kernel's knowledge base does not decode: \(error)")
    }
}

/// Domains awaiting another's end: the client, its request id, the domain.
var awaiting: [(client: UInt64, id: UInt32, domain: DomainID)] = []

/// Answers every await whose domain is no longer in the replica: how it ended, or
/// `noSuchDomain` if that is no longer remembered (or it never ran).
func answerAwaiting() {
    awaiting.removeAll { waiter in
        guard state.record(for: waiter.domain) == nil else { return false }
        if let end = state.end(of: waiter.domain) {
            reply(MonitorReply(status: .success, id: waiter.id, values: end.words), to: waiter.client)
        } else {
            reply(MonitorReply(status: .noSuchDomain, id: waiter.id), to: waiter.client)
        }
        return true
    }
}

/// Leases binding page `page` to the client here (its badge) and the server `owner` (a
/// domain word) until both have ended.
func lease(_ page: Int, client: UInt64, owner: UInt64) {
    guard let server = DomainID(word: owner, coreCount: coreCount) else { return }
    leases.append((page, DomainID(core: CoreID(core), local: LocalDomainNumber(UInt32(truncatingIfNeeded: client))), server))
}

/// Clears and frees every leased binding page whose client and server have both ended.
func returnLeases() {
    leases.removeAll { lease in
        guard state.record(for: lease.client) == nil, state.record(for: lease.server) == nil else { return false }
        page(poolWindowEntry + lease.page).initializeMemory(as: UInt8.self, repeating: 0, count: Int(BindingPool.pageBytes))
        freePages.append(lease.page)
        return true
    }
}

/// Answers a request for device capabilities with `count` units from `first` narrowed
/// from `root` (the bootstrap core's I/O ports or interrupts). The monitor keeps no
/// copy: the client's is the only one, so the range is free again when it ends.
func handOut(_ count: UInt64, from first: UInt64, of root: Capability, id: UInt32, to client: UInt64) {
    guard root.type != .null else { return reply(MonitorReply(status: .noSuchCore, id: id), to: client) }
    guard let slot = freeSlots.popLast() else { return reply(MonitorReply(status: .busy, id: id), to: client) }
    do throws(InvocationStatus) {
        try root.narrow(first: first, count: count, into: kept(slot))
        reply(MonitorReply(status: .success, id: id), to: client, with: kept(slot))
    } catch {
        reply(MonitorReply(status: .unavailable, id: id), to: client)
    }
    release(slot)
}

/// Takes every request waiting on the service endpoint; true if there was one.
func serveRequests() -> Bool {
    var any = false
    while true {
        let message: (words: [UInt64], badge: UInt64)
        do throws(InvocationStatus) {
            message = try service.receiveMessage(capabilityDestination: arriving)
        } catch .slotOccupied {
            _ = try? arriving.delete()
            continue
        } catch {
            return any
        }
        any = true
        // A domain's start reaches the protocols before anything it asks: its request
        // may name it, and the start must go out on the rings first.
        _ = serveDomainEvents()
        // A domain's request starts a protocol step here: its kind, and who asked.
        SystemCall.trace(.protocolStep, a: message.words[0] & 0xFF, b: message.badge)
        if let (request, id) = MonitorRequest.decode(message.words) {
            handle(request, id: id, from: message.badge)
        } else {
            dropped += 1
            reply(MonitorReply(status: .unknownRequest, id: UInt32(truncatingIfNeeded: message.words[0] >> 8) & 0xFF_FFFF), to: message.badge)
        }
        if arriving.type != .null { _ = try? arriving.delete() }
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
            SystemCall.trace(.messageReceived, a: TraceMessageWord.make(peer: peer, tag: message.tag), b: receivers[peer]!.received)
            // 'C' tags are the capability protocols' (CapabilityMessage), the rest the
            // monitors' own.
            if message.tag >> 8 == 0x43 {
                perform(capabilities.receive(message, from: CoreID(peer)))
            } else {
                perform(state.receive(message, from: CoreID(peer)))
            }
        }
        receivers[peer]!.publish()
        flush(peer)
    }
    return any
}

/// A ping, binding or states message from `peer`'s monitor (decoded and checked by the
/// protocols' state machine, which passes these on).
func handle(_ message: MonitorMessage, from peer: Int) {
    switch message {
    case .ping(let token):
        send(MonitorMessage.pong(token: token).encode(), to: peer)
    case .pong(let token):
        if let index = pings.firstIndex(where: { $0.token == token }) {
            let done = pings.remove(at: index)
            reply(MonitorReply(status: .success, id: done.id), to: done.client)
        } else {
            dropped += 1                                 // an answer nobody waits for
        }
    case .bindRequest(let token, let endpoint, let page, let client):
        let accepted = offer(page: page, of: peer, to: UInt32(truncatingIfNeeded: endpoint.rawValue), client: client.word)
        send(MonitorMessage.bindAnswer(token: token, accepted: accepted).encode(), to: peer)
    case .bindAnswer(let token, let accepted):
        guard let index = binds.firstIndex(where: { $0.token == token }) else { return dropped += 1 }
        let done = binds.remove(at: index)
        if accepted {
            lease(done.page, client: done.client, owner: done.owner)
            reply(MonitorReply(status: .success, id: done.id, values: (done.owner, BindingKind.channel.rawValue)),
                  to: done.client, with: kept(poolSlots + UInt32(done.page)))
        } else {
            freePages.append(done.page)
            reply(MonitorReply(status: .noSuchName, id: done.id), to: done.client)
        }
    case .statesRequest(let token):
        for answer in MonitorMessage.statesMessages(token: token, states: localStates()) { send(answer.encode(), to: peer) }
    case .statesAnswer(let token, let states, let last):
        guard let index = stateQueries.firstIndex(where: { $0.token == token && $0.waitingOn.contains(peer) }) else {
            return dropped += 1                          // an answer nobody waits for
        }
        stateQueries[index].states += states.map { (DomainID(core: CoreID(peer), local: $0.local), $0.state) }
        if last { stateQueries[index].waitingOn.removeAll { $0 == peer } }
        if stateQueries[index].waitingOn.isEmpty { finish(stateQueries.remove(at: index)) }
    case .lendRequest, .lendAnswer, .lendReturn, .lendReturned:
        handleLending(message, from: peer)
    default:
        dropped += 1
    }
}

/// A server here gets page `page` of core `peer`'s binding pool, offered on its
/// registered endpoint in slot `slot` (`BindOffer`); false if that is not possible.
func offer(page: Int, of peer: Int, to slot: UInt32, client: UInt64) -> Bool {
    guard registered.contains(slot), page >= 0, page < BindingPool.pagesPerCore else { return false }
    let made = Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.poolFrame.rawValue,
                                    UInt64(peer), UInt64(page), offered.address.encoded).status
    guard made == InvocationStatus.success.rawValue else { return false }
    defer { _ = try? offered.delete() }
    do throws(InvocationStatus) {
        try kept(slot).send((BindOffer.marker, client, 0), capability: offered)
        return true
    } catch {
        return false
    }
}

/// The kernel's reports of domains starting and ending on this core; true if any.
func serveDomainEvents() -> Bool {
    var any = false
    var words = [UInt64](repeating: 0, count: DomainEvent.words)
    while true {
        let (status, value) = words.withUnsafeMutableBufferPointer { buffer in
            Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.domainEvent.rawValue, UInt64(UInt(bitPattern: buffer.baseAddress)))
        }
        guard status == InvocationStatus.success.rawValue, value == 1, let event = DomainEvent(words: words) else { return any }
        any = true
        let local = LocalDomainNumber(UInt32(truncatingIfNeeded: event.domain))
        switch event.kind {
        case .started:
            if let index = spawnedHere.firstIndex(of: event.domain) { spawnedHere.remove(at: index); continue }
            if let program = Name(event.program) { perform(state.domainStarted(local, program: program)) }
        case .coreStopped:
            // Its kernel said so as it panicked: nothing there answers or runs any more.
            guard event.domain < coreCount, event.domain != core else { dropped += 1; continue }
            broken[event.domain] = true
            outboxes[event.domain].removeAll()
            print("monitor on core \(core): core \(event.domain) stopped; not waiting on it any more")
            perform(state.coreStopped(CoreID(event.domain)))
        case .exited, .stopped:
            perform(state.domainEnded(local, how: event.kind == .exited ? .exited(status: event.status) : .stopped))
            let client = UInt64(event.domain)
            if let index = replies.firstIndex(where: { $0.client == client }) { release(replies.remove(at: index).slot) }
            pieces.removeAll { $0.client == client }
            pings.removeAll { $0.client == client }
            stateQueries.removeAll { $0.client == client }
            awaiting.removeAll { $0.client == client }
            capabilitiesOfEnded(client)
        }
    }
}

/// How long another monitor may take to answer a ping, in TSC cycles (a few seconds at
/// the speeds these machines run, for a core busy in long kernel work; a bound, not a
/// measurement).
let patience: UInt64 = 8_000_000_000

/// Answers `timedOut` for every ping whose peer stayed silent too long, and lets the
/// protocols time out theirs.
func expire() {
    let clock = user_timestamp()
    func isPast(_ deadline: UInt64) -> Bool { Int64(bitPattern: clock &- deadline) >= 0 }
    for late in pings where isPast(late.deadline) { reply(MonitorReply(status: .timedOut, id: late.id), to: late.client) }
    pings.removeAll { isPast($0.deadline) }
    for late in spawnsAwaitingMemory where isPast(late.deadline) { perform(state.spawnFailed(late.spawn, error: .outOfResources)) }
    spawnsAwaitingMemory.removeAll { isPast($0.deadline) }
    // A bind whose server's monitor stayed silent: its page may yet reach the server,
    // so it stays leased to both until both have ended.
    for late in binds where isPast(late.deadline) {
        reply(MonitorReply(status: .timedOut, id: late.id), to: late.client)
        lease(late.page, client: late.client, owner: late.owner)
    }
    binds.removeAll { isPast($0.deadline) }
    for late in stateQueries where isPast(late.deadline) { finish(late) }
    stateQueries.removeAll { isPast($0.deadline) }
    expireCapabilityWaiters(isPast: isPast)
    perform(state.tick(now: now()))
}

/// How long a monitor that awaits an answer keeps polling once it has nothing to do,
/// in TSC cycles (about 30 µs at the rates these machines run): an answer that comes
/// that soon is taken without a wake-up. Past it the monitor sleeps, and leaves the
/// core, and under emulation the host's processor, to the domains; the answer's
/// notification wakes it.
let pollBudget: UInt64 = 80_000
/// How long such a sleep lasts at most, in TSC cycles (about a millisecond): the
/// monitor then looks at its deadlines (the protocols' timeouts, a silent peer's) again.
let deadlineCheck: UInt64 = 2_600_000
/// When the monitor last found nothing to do after a round with work; nil while busy.
var idleSince: UInt64? = nil

/// Nothing to do now, but an answer (from another monitor or the kernel) or a deadline
/// is awaited: poll within the budget, then sleep until a notification or the next
/// look at the deadlines. Messages waiting for room in a ring keep it polling: the peer
/// that makes the room sends no notification. Other domains on this core still run
/// between polls.
func awaitAnswer() {
    let now = user_timestamp()
    let since = idleSince ?? now
    idleSince = since
    if now &- since < pollBudget || outboxes.contains(where: { !$0.isEmpty }) { return yield() }
    try? SystemCall.wait(until: min(now &+ deadlineCheck, capabilityDeadlines.min() ?? .max))
}

print("monitor on core \(core) of \(coreCount): rings to \(peers.count) other monitors")
startMemoryService()
if core == CoreID.bootstrap.rawValue { publishKnowledge() }
while true {
    // Every source each round (no short-circuit), domain events first.
    let events = serveDomainEvents(), requests = serveRequests(), rings = serveRings()
    let busy = events || requests || rings
    if busy {
        answerAwaiting()
        returnLeases()
    }
    expire()
    giveKernelKnowledge()
    if busy {
        idleSince = nil
        continue
    }
    if pings.isEmpty && binds.isEmpty && stateQueries.isEmpty && state.isIdle && capabilities.isIdle
        && spawnsAwaitingMemory.isEmpty {
        // Sleeps until a request, a notification or a domain event comes (any of them
        // since the last poll wakes it at once), or a domain's wait for a capability
        // ends.
        try? SystemCall.wait(until: capabilityDeadlines.min())
    } else {
        awaitAnswer()
    }
}
