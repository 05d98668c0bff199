// A machine of N cores, each with its capability monitor and its own capability
// database, joined by a FIFO ring per ordered pair of cores. The machine does what its
// caller chooses (deliver the oldest slot of one ring, hand a core a request, end a
// domain, put garbage on a ring) and checks, after every step, what must hold at every
// moment; `finalChecks` adds what must hold once nothing is left to do. The seeded runs
// (`CapabilitySimulation`) and the exhaustive search (`ExhaustiveSearch`) both drive it.
//
// Checked at every step: every request is answered at most once; when a revoke answers
// `done`, no record of the object but the kept one, and no record of a descendant,
// exists on any core, unless made in that very step (after the revoke ended). Checked
// when quiet: every request answered exactly once; no slot in flight; every monitor
// idle (nothing waiting, locked, queued or revoking: no core waits forever); every
// object with a record somewhere has exactly one owner, which holds a copy, whose copy
// set covers every other holder, and whom every holder knows at the same epoch; no
// monitor keeps an object it holds no record of; no two live objects overlap unless one
// is the other's ancestor (no overlapping retypes); every garbage slot was dropped, and
// nothing else was.
import Basics
import CapabilityProtocols
import Channel

public typealias SimulatedMonitor = CapabilityMonitor<ModelCapabilityDatabase>

/// A local request as the simulator issues it.
public enum SimulatedOperation: Hashable, Sendable, CustomStringConvertible {
    case copy(RecordID, to: Int, domain: UInt32)
    case delete(RecordID)
    case revoke(RecordID)
    case retype(RecordID, count: Int)
    case map(RecordID)

    public var record: RecordID {
        switch self {
        case .copy(let r, _, _), .delete(let r), .revoke(let r), .retype(let r, _), .map(let r): return r
        }
    }

    public var description: String {
        switch self {
        case .copy(let r, let to, let domain): return "copy r\(r.rawValue) to \(to).\(domain)"
        case .delete(let r): return "delete r\(r.rawValue)"
        case .revoke(let r): return "revoke r\(r.rawValue)"
        case .retype(let r, let count): return "retype r\(r.rawValue) into \(count)"
        case .map(let r): return "map r\(r.rawValue)"
        }
    }
}

public struct SimulatedRequest: Hashable, Sendable {
    public var core: Int
    public var operation: SimulatedOperation
    /// The object the record named when the request was issued, if it existed.
    public var object: CapabilityObject?
    public var answers: [CapabilityStatus] = []
    /// Critical-path hops: how many messages, one causing the next, lie between the
    /// request and its answer.
    public var hops = 0
}

public struct SimulatedMachine: Hashable {
    /// A slot on a ring, with the length of the causal chain of messages it ends.
    struct InFlight: Hashable {
        var slot: ChannelMessage
        var depth: Int

        static func == (a: Self, b: Self) -> Bool { a.slot == b.slot && a.depth == b.depth }
        func hash(into hasher: inout Hasher) {
            hasher.combine(slot.tag)
            for i in 0..<ChannelMessage.wordCount { hasher.combine(slot.words[i]) }
        }
    }

    public let coreCount: Int
    public let memoryLimit: UInt64
    /// Where the machine's RAM is, as its monitors know: all of it below the limit.
    public var ram: [Range<UInt64>] { [0..<memoryLimit] }
    public internal(set) var monitors: [SimulatedMonitor]
    /// Ring `from * coreCount + to`, oldest first.
    var queues: [[InFlight]]
    public internal(set) var requests: [SimulatedRequest] = []
    /// Steps taken (each delivery, request or domain end is one).
    public internal(set) var now: UInt64 = 0
    public internal(set) var delivered = 0
    public internal(set) var garbageInjected = 0
    public internal(set) var violations: [String] = []
    /// Next domain number per core, for domains started after others ended.
    var nextDomain: [UInt32]
    /// Causal depth of the step being run.
    var depth = 0
    /// When tracing, one line per step.
    public var tracing = false
    public internal(set) var trace: [String] = []

    /// `coreCount` cores, each with domains 1 and 2, and `objects` RAM objects of
    /// `objectSize` bytes: object i owned by core i mod N, in domain 1 there. With
    /// `devices`, core 0's domain 1 also holds the device objects (`deviceObjects`), as
    /// the device manager does on the bootstrap core.
    public init(coreCount: Int, objects: Int = 2, objectSize: UInt64 = 64 * 1024, route: RevokeRoute = .direct,
                breakage: CapabilityBreakage? = nil, capacity: Int = 64, devices: Bool = false) {
        self.coreCount = coreCount
        memoryLimit = UInt64(max(objects, 1)) * objectSize
        // The monitors know where RAM is: a device frame in it does not decode.
        let configuration = SimulatedMonitor.Configuration(maximumPending: 16, memoryLimit: memoryLimit, route: route,
                                                           ram: [0..<memoryLimit])
        monitors = (0..<coreCount).map { c in
            var m = SimulatedMonitor(core: CoreID(c), coreCount: coreCount, database: ModelCapabilityDatabase(domains: [1, 2], capacity: capacity),
                                     configuration: configuration)
            m.breakage = breakage
            return m
        }
        queues = Array(repeating: [], count: coreCount * coreCount)
        nextDomain = Array(repeating: 3, count: coreCount)
        for i in 0..<objects {
            let object = CapabilityObject(.ram, base: UInt64(i) * objectSize, size: objectSize)
            if let record = monitors[i % coreCount].database.install(object, for: 1) { monitors[i % coreCount].adopt(record) }
        }
        if devices {
            for object in Self.deviceObjects(memoryLimit: memoryLimit) {
                if let record = monitors[0].database.install(object, for: 1) { monitors[0].adopt(record) }
            }
        }
    }

    /// A device frame above RAM, and ports and interrupts whose numbers are those of the
    /// first RAM object: the same numbers in other spaces, which must never count as
    /// overlapping it or each other.
    public static func deviceObjects(memoryLimit: UInt64) -> [CapabilityObject] {
        [CapabilityObject(.deviceFrame, base: memoryLimit, size: 2 * CapabilityObject.pageSize),
         CapabilityObject(.ioPorts, base: 0, size: 0x20),
         CapabilityObject(.interrupts, base: 0, size: 1)]
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.monitors == b.monitors && a.queues == b.queues && a.requests == b.requests
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(monitors)
        hasher.combine(queues)
        hasher.combine(requests)
    }

    // MARK: Steps

    public var inFlight: Int { queues.reduce(0) { $0 + $1.count } }
    public func queueIndex(from: Int, to: Int) -> Int { from * coreCount + to }

    /// Rings with a slot waiting, as (from, to), in ring order.
    public var nonEmptyQueues: [(from: Int, to: Int)] {
        var result: [(from: Int, to: Int)] = []
        for q in queues.indices where !queues[q].isEmpty { result.append((q / coreCount, q % coreCount)) }
        return result
    }

    public var isQuiet: Bool { inFlight == 0 && monitors.allSatisfy { $0.isIdle } }

    mutating func log(_ line: @autoclosure () -> String) {
        if tracing { trace.append("\(now) \(line())") }
    }

    mutating func violation(_ text: String) {
        violations.append(text)
        log("VIOLATION \(text)")
    }

    /// Runs `body` on core `core`'s monitor as one step and carries out the effects.
    mutating func step(_ core: Int, depth: Int, _ body: (inout SimulatedMonitor) -> [CapabilityEffect]) {
        now += 1
        self.depth = depth
        monitors[core].database.now = now
        let effects = body(&monitors[core])
        for effect in effects {
            switch effect {
            case .send(let message, let to):
                log("  \(core)→\(to.rawValue) \(message)")
                queues[queueIndex(from: core, to: to.rawValue)].append(InFlight(slot: message.encode(), depth: depth + 1))
            case .answer(let id, let status):
                record(answer: status, to: id, on: core)
            }
        }
    }

    /// Delivers the oldest slot from `from` to `to`.
    public mutating func deliver(from: Int, to: Int) {
        let q = queueIndex(from: from, to: to)
        guard !queues[q].isEmpty else { return }
        let item = queues[q].removeFirst()
        delivered += 1
        if tracing {
            let text = CapabilityMessage(decoding: item.slot, coreCount: coreCount, memoryLimit: memoryLimit, ram: ram).map { "\($0)" } ?? "garbage tag \(item.slot.tag)"
            log("deliver \(from)→\(to): \(text)")
        }
        step(to, depth: item.depth) { $0.receive(item.slot, from: CoreID(from)) }
    }

    /// Delivers every slot, oldest ring first, until none is left.
    public mutating func deliverAll() {
        while let (from, to) = nonEmptyQueues.first { deliver(from: from, to: to) }
    }

    /// Hands core `core` a request from one of its domains; returns its id.
    @discardableResult
    public mutating func issue(_ operation: SimulatedOperation, on core: Int) -> CapabilityRequestID {
        let id = CapabilityRequestID(UInt64(requests.count + 1))
        let object = monitors[core].database.record(operation.record)?.object
        requests.append(SimulatedRequest(core: core, operation: operation, object: object))
        log("request \(id.rawValue) on core \(core): \(operation) (\(object.map(describe) ?? "no record"))")
        step(core, depth: 0) { m in
            switch operation {
            case .copy(let r, let to, let domain): return m.copy(r, to: CoreID(to), domain: domain, request: id)
            case .delete(let r): return m.delete(r, request: id)
            case .revoke(let r): return m.revoke(r, request: id)
            case .retype(let r, let count): return m.retype(r, into: count, request: id)
            case .map(let r): return m.map(r, request: id)
            }
        }
        return id
    }

    /// Domain `domain` of core `core` ends (its capabilities are deleted); a new domain
    /// takes its place so the core still has two.
    public mutating func endDomain(_ domain: UInt32, on core: Int) {
        log("domain \(core).\(domain) ends")
        monitors[core].database.removeDomain(domain)
        monitors[core].database.addDomain(nextDomain[core])
        nextDomain[core] += 1
        step(core, depth: 0) { $0.domainEnded(domain) }
    }

    /// Puts a slot on a ring that a correct monitor must count as dropped.
    public mutating func inject(_ slot: ChannelMessage, from: Int, to: Int) {
        garbageInjected += 1
        log("garbage \(from)→\(to): tag \(slot.tag)")
        queues[queueIndex(from: from, to: to)].append(InFlight(slot: slot, depth: 0))
    }

    // MARK: Checks at every step

    mutating func record(answer status: CapabilityStatus, to id: CapabilityRequestID, on core: Int) {
        let index = Int(id.rawValue) - 1
        guard index >= 0, index < requests.count else { return violation("answer to unknown request \(id.rawValue)") }
        requests[index].answers.append(status)
        requests[index].hops = depth
        log("answer \(id.rawValue): \(status)")
        if requests[index].answers.count > 1 { violation("request \(id.rawValue) answered \(requests[index].answers)") }
        if requests[index].core != core { violation("request \(id.rawValue) of core \(requests[index].core) answered on core \(core)") }
        if case .revoke(let keep) = requests[index].operation, status == .done, let object = requests[index].object {
            checkRevoked(object, keeping: keep, on: core, request: id)
        }
    }

    /// Nothing `object` covers is left anywhere but the kept record (and what this very
    /// step made after the revoke ended).
    mutating func checkRevoked(_ object: CapabilityObject, keeping keep: RecordID, on keepCore: Int, request: CapabilityRequestID) {
        for m in monitors {
            for r in m.database.records(coveredBy: object) where !(m.core.rawValue == keepCore && r.id == keep) {
                if (m.database.installed(r.id) ?? 0) < now {
                    violation("revoke \(request.rawValue) of \(describe(object)) answered done, but core \(m.core.rawValue) still holds \(describe(r.object)) (r\(r.id.rawValue)\(r.mapped ? ", mapped" : ""))")
                    return
                }
            }
        }
    }

    // MARK: Checks when quiet

    /// Everything that must hold once nothing is in flight; nil-free: returns violations.
    public mutating func finalChecks() {
        if inFlight > 0 { violation("\(inFlight) slots still in flight") }
        for m in monitors where !m.isIdle {
            violation("core \(m.core.rawValue) still waits: \(m.requestsInFlight) requests out, busy objects \(m.busyObjects.map(describe)), \(m.revokesInProgress) revokes")
        }
        for (i, r) in requests.enumerated() where r.answers.count != 1 {
            violation("request \(i + 1) on core \(r.core) (\(r.operation)) answered \(r.answers.count) times")
        }
        // Every live object: holders, its one owner, and what each core knows.
        var live: [CapabilityObject] = []
        for m in monitors { for r in m.database.records where !live.contains(r.object) { live.append(r.object) } }
        live.sort()
        for object in live {
            let holders = monitors.filter { $0.database.holds(object) }.map { $0.core }
            let owners = monitors.filter { $0.ownership(of: object)?.owner == $0.core }.map { $0.core }
            guard owners.count == 1, let owner = owners.first else {
                violation("\(describe(object)) has owners \(owners.map(\.rawValue)), holders \(holders.map(\.rawValue))")
                continue
            }
            guard let truth = monitors[owner.rawValue].ownership(of: object) else { continue }
            if !holders.contains(owner) { violation("\(describe(object))'s owner \(owner.rawValue) holds no copy") }
            for h in holders where h != owner {
                if !truth.copies.contains(h) {
                    violation("\(describe(object)): core \(h.rawValue) holds a copy its owner \(owner.rawValue) does not know of (copies \(truth.copies.cores.map(\.rawValue)))")
                }
                let view = monitors[h.rawValue].ownership(of: object)
                if view?.owner != owner || view?.epoch != truth.epoch {
                    violation("\(describe(object)): core \(h.rawValue) believes owner \(view.map { "\($0.owner.rawValue)@\($0.epoch.rawValue)" } ?? "none"), the owner is \(owner.rawValue)@\(truth.epoch.rawValue)")
                }
            }
        }
        for m in monitors {
            for object in m.knownObjects where !m.database.holds(object) {
                violation("core \(m.core.rawValue) keeps \(describe(object)) with no record of it")
            }
        }
        for (i, a) in live.enumerated() {
            for b in live[(i + 1)...] where a.overlaps(b) && !a.isAncestor(of: b) && !b.isAncestor(of: a) {
                violation("overlapping objects \(describe(a)) and \(describe(b)) (two retypes of one RAM?)")
            }
        }
        let dropped = monitors.reduce(0) { $0 + $1.counters.dropped }
        if dropped != garbageInjected {
            violation("\(dropped) slots dropped, \(garbageInjected) garbage injected: \(monitors.map { $0.counters })")
        }
    }
}

public func describe(_ object: CapabilityObject) -> String {
    switch object.kind {
    case .ram: return "ram[\(object.base / 1024)K+\(object.size / 1024)K]"
    case .frame: return "frame[\(object.base / 1024)K+\(object.size / 1024)K]"
    case .deviceFrame: return "device[\(object.base / 1024)K+\(object.size / 1024)K]"
    case .ioPorts: return "ports[0x\(String(object.base, radix: 16))+\(object.size)]"
    case .interrupts: return "irq[\(object.base)+\(object.size)]"
    }
}
