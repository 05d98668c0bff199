// A machine of N cores, each with its shootdown monitor, joined by a FIFO ring per
// ordered pair of cores, with a model of what the protocol protects: the page tables of
// a few address spaces and every core's TLB. The machine does what its caller chooses
// (deliver the oldest slot of one ring, let a core touch a page, start a shootdown, stop
// a core, tell a core of a stop, put garbage on a ring) and checks, after every step,
// what must hold at every moment; `finalChecks` adds what must hold once nothing is
// left to do. The seeded runs (`ShootdownSimulation`) and the cost figures (`UnmapCost`)
// both drive it.
//
// The model: each page of an address space has a version, raised by every change a
// shootdown starts with (the initiator edits the shared page tables first). A core that
// touches a page caches its current version in its TLB; an invalidate drops the range.
// A cached version older than a shootdown's is a stale translation of it.
//
// Checked at every step: a request is answered at most once, on its own core; when a
// shootdown answers `completed`, every running participant has invalidated since it
// started and caches no translation older than it; every core it names as stopped has
// stopped, and every participant that stopped without invalidating is named. Checked
// when quiet: every request of a running core answered exactly once; no slot in flight
// and no stop left untold; every running monitor idle (no core waits forever); every
// garbage slot a running core received was dropped, and nothing else was.
import Basics
import CapabilityProtocols
import Channel
import KnowledgeBase
import PageTables
import ShootdownProtocol

/// An address space of the model: the cores that use it and its pages' versions.
public struct SimulatedSpace: Sendable {
    public var id: AddressSpaceID
    public var users: CoreMask
    /// Version of page i (0 never changed).
    public var versions: [UInt64]
}

/// A shootdown as the simulator issued it.
public struct SimulatedShootdown: Sendable {
    public var core: Int
    public var change: AddressSpaceChange
    public var participants: CoreMask
    /// The version the change gave its pages.
    public var version: UInt64
    /// Participants that have invalidated the change since it started.
    public var invalidated = CoreMask.none
    public var answers: [(status: ShootdownStatus, stopped: CoreMask)] = []
    /// Critical-path hops: how many messages, one causing the next, lie between the
    /// request and its answer.
    public var hops = 0
}

public struct ShootdownMachine {
    /// A slot on a ring, with the length of the causal chain of messages it ends.
    struct InFlight {
        var slot: ChannelMessage
        var depth: Int
        var garbage: Bool
    }

    public static let pagesPerSpace = 8
    /// Page numbers of the model's spaces start here (an address well inside user space).
    static let firstPage: UInt64 = 0x4000

    public let coreCount: Int
    public internal(set) var monitors: [ShootdownMonitor]
    public internal(set) var running: [Bool]
    public internal(set) var spaces: [SimulatedSpace]
    /// `tlbs[core][space][page]`: the version the core caches, nil for none.
    var tlbs: [[[UInt64?]]]
    /// Ring `from * coreCount + to`, oldest first.
    var queues: [[InFlight]]
    /// The rings with a slot waiting, ascending (kept so a step need not scan N² rings).
    var occupied: [Int] = []
    /// Stops not yet told: (core to tell, core that stopped), oldest first.
    public internal(set) var notices: [(core: Int, stopped: Int)] = []
    public internal(set) var shootdowns: [SimulatedShootdown] = []
    var version: UInt64 = 0
    public internal(set) var delivered = 0
    public internal(set) var garbageDelivered = 0
    /// Slots that went to, or waited on a ring to, a core that stopped.
    public internal(set) var lost = 0
    public internal(set) var violations: [String] = []
    var depth = 0
    /// When tracing, one line per step.
    public var tracing = false
    public internal(set) var trace: [String] = []

    /// `coreCount` cores running `configuration`'s protocol, and one address space per
    /// entry of `users` (ids 1, 2, …) used by those cores.
    public init(coreCount: Int, configuration: ShootdownMonitor.Configuration, users: [CoreMask],
                breakage: ShootdownBreakage? = nil) {
        self.coreCount = coreCount
        monitors = (0..<coreCount).map { c in
            var m = ShootdownMonitor(core: CoreID(c), coreCount: coreCount, configuration: configuration)
            m.breakage = breakage
            return m
        }
        running = Array(repeating: true, count: coreCount)
        spaces = users.enumerated().map { i, cores in
            SimulatedSpace(id: AddressSpaceID(UInt32(i + 1)), users: cores,
                           versions: Array(repeating: 0, count: Self.pagesPerSpace))
        }
        tlbs = Array(repeating: Array(repeating: Array(repeating: nil, count: Self.pagesPerSpace), count: users.count),
                     count: coreCount)
        queues = Array(repeating: [], count: coreCount * coreCount)
    }

    // MARK: Steps

    public var inFlight: Int { occupied.reduce(0) { $0 + queues[$1].count } }
    func queueIndex(from: Int, to: Int) -> Int { from * coreCount + to }

    /// Rings with a slot waiting, as (from, to), in ring order.
    public var nonEmptyQueues: [(from: Int, to: Int)] {
        occupied.map { ($0 / coreCount, $0 % coreCount) }
    }

    mutating func enqueue(_ item: InFlight, from: Int, to: Int) {
        let q = queueIndex(from: from, to: to)
        if queues[q].isEmpty { occupied.insert(q, at: occupied.firstIndex { $0 > q } ?? occupied.count) }
        queues[q].append(item)
    }

    /// Empties ring `q`, or takes its oldest slot.
    mutating func dequeue(_ q: Int, all: Bool = false) -> [InFlight] {
        let taken = all ? queues[q] : Array(queues[q].prefix(1))
        queues[q].removeFirst(taken.count)
        if queues[q].isEmpty { occupied.removeAll { $0 == q } }
        return taken
    }

    mutating func log(_ line: @autoclosure () -> String) {
        if tracing { trace.append("[\(depth)] " + line()) }
    }

    mutating func violation(_ text: String) {
        violations.append(text)
        log("VIOLATION: \(text)")
    }

    /// Runs `body` on core `core`'s monitor at causal depth `depth` and performs its effects.
    mutating func step(_ core: Int, depth: Int, _ body: (inout ShootdownMonitor) -> [ShootdownEffect]) {
        self.depth = depth
        let effects = body(&monitors[core])
        for effect in effects {
            switch effect {
            case .send(let message, let to):
                log("  \(core)→\(to.rawValue) \(message)")
                guard running[to.rawValue] else {
                    lost += 1
                    continue
                }
                enqueue(InFlight(slot: message.encode(), depth: depth + 1, garbage: false), from: core, to: to.rawValue)
            case .invalidate(let change):
                log("  core \(core) invalidates \(describe(change))")
                invalidate(change, on: core)
            case .answer(let id, let status, let stopped):
                record(status, stopped: stopped, to: id, on: core)
            }
        }
    }

    /// Delivers the oldest slot from `from` to `to`.
    public mutating func deliver(from: Int, to: Int) {
        guard let item = dequeue(queueIndex(from: from, to: to)).first else { return }
        delivered += 1
        if item.garbage { garbageDelivered += 1 }
        if tracing {
            let text = ShootdownMessage(decoding: item.slot, coreCount: coreCount).map { "\($0)" } ?? "garbage tag \(item.slot.tag)"
            log("deliver \(from)→\(to): \(text)")
        }
        step(to, depth: item.depth) { $0.receive(item.slot, from: CoreID(from)) }
    }

    /// Delivers every slot and tells every stop, oldest first, until none is left.
    public mutating func deliverAll() {
        while true {
            if let (from, to) = nonEmptyQueues.first {
                deliver(from: from, to: to)
            } else if !notices.isEmpty {
                tell(0)
            } else {
                return
            }
        }
    }

    /// Core `core` starts a shootdown of `pages` pages from `page` of space `space`
    /// (an index into `spaces`), with the space's users as participants; returns the
    /// request's id.
    @discardableResult
    public mutating func startShootdown(on core: Int, space: Int, page: Int, pages: Int, kind: ShootdownKind) -> ShootdownRequestID {
        version += 1
        let version = version
        for p in page..<min(page + pages, Self.pagesPerSpace) { spaces[space].versions[p] = version }
        let range = VirtualRange(start: VirtualAddress((Self.firstPage + UInt64(page)) * VirtualRange.pageSize), pages: UInt64(pages))
        let change = AddressSpaceChange(space: spaces[space].id, range: range, kind: kind)
        let participants = spaces[space].users
        let id = ShootdownRequestID(UInt64(shootdowns.count + 1))
        shootdowns.append(SimulatedShootdown(core: core, change: change, participants: participants, version: version))
        log("request \(id.rawValue) on core \(core): \(describe(change)) v\(version), participants \(participants.cores.map(\.rawValue))")
        step(core, depth: 0) { $0.start(change, participants: participants, request: id) }
        return id
    }

    /// Core `core` uses page `page` of space `space`: its TLB caches the current version.
    public mutating func touch(on core: Int, space: Int, page: Int) {
        let version = spaces[space].versions[page]
        tlbs[core][space][page] = version
        log("core \(core) touches space \(space + 1) page \(Self.firstPage + UInt64(page)): caches v\(version)")
    }

    /// Core `core` stops: it takes no more steps, what waits on rings to it is lost, and
    /// every running core is to be told (`tell`).
    public mutating func stop(_ core: Int) {
        guard running[core] else { return }
        log("core \(core) stops")
        running[core] = false
        for from in 0..<coreCount { lost += dequeue(queueIndex(from: from, to: core), all: true).count }
        notices.removeAll { $0.core == core }
        for c in 0..<coreCount where running[c] { notices.append((c, core)) }
    }

    /// Tells notice `index`'s core that its core stopped.
    public mutating func tell(_ index: Int) {
        let notice = notices.remove(at: index)
        log("core \(notice.core) hears core \(notice.stopped) stopped")
        step(notice.core, depth: 0) { $0.coreStopped(CoreID(notice.stopped)) }
    }

    /// Puts a slot on a ring that a correct monitor must count as dropped.
    public mutating func inject(_ slot: ChannelMessage, from: Int, to: Int) {
        log("garbage \(from)→\(to): tag \(slot.tag)")
        guard running[to] else { return }
        enqueue(InFlight(slot: slot, depth: 0, garbage: true), from: from, to: to)
    }

    // MARK: Checks at every step

    mutating func invalidate(_ change: AddressSpaceChange, on core: Int) {
        guard let s = spaces.firstIndex(where: { $0.id == change.space }) else {
            return violation("core \(core) invalidates unknown \(describe(change))")
        }
        for p in 0..<Self.pagesPerSpace where change.range.contains(page: Self.firstPage + UInt64(p)) { tlbs[core][s][p] = nil }
        for i in shootdowns.indices where shootdowns[i].answers.isEmpty && shootdowns[i].change == change {
            shootdowns[i].invalidated.insert(CoreID(core))
        }
    }

    mutating func record(_ status: ShootdownStatus, stopped: CoreMask, to id: ShootdownRequestID, on core: Int) {
        let index = Int(id.rawValue) - 1
        guard index >= 0, index < shootdowns.count else { return violation("answer to unknown request \(id.rawValue)") }
        shootdowns[index].answers.append((status, stopped))
        shootdowns[index].hops = depth
        log("answer \(id.rawValue): \(status) stopped \(stopped.cores.map(\.rawValue))")
        let shootdown = shootdowns[index]
        if shootdown.answers.count > 1 { violation("request \(id.rawValue) answered \(shootdown.answers.count) times") }
        if shootdown.core != core { violation("request \(id.rawValue) of core \(shootdown.core) answered on core \(core)") }
        guard status == .completed else { return violation("request \(id.rawValue) answered \(status)") }
        checkCompleted(shootdown, stopped: stopped, request: id)
    }

    /// No running participant still caches a translation the shootdown changed or has
    /// not invalidated; every stopped participant that did not invalidate is named.
    mutating func checkCompleted(_ shootdown: SimulatedShootdown, stopped: CoreMask, request id: ShootdownRequestID) {
        guard let s = spaces.firstIndex(where: { $0.id == shootdown.change.space }) else { return }
        for named in stopped.cores where running[named.rawValue] {
            violation("request \(id.rawValue) names core \(named.rawValue) as stopped, but it runs")
        }
        for c in 0..<coreCount {
            let stale = (0..<Self.pagesPerSpace).filter { p in
                shootdown.change.range.contains(page: Self.firstPage + UInt64(p)) && (tlbs[c][s][p].map { $0 < shootdown.version } ?? false)
            }
            if running[c] {
                if !stale.isEmpty {
                    violation("request \(id.rawValue) completed, but core \(c) still caches pages \(stale) of space \(shootdown.change.space.rawValue) from before it")
                } else if shootdown.participants.contains(CoreID(c)) && !shootdown.invalidated.contains(CoreID(c)) {
                    violation("request \(id.rawValue) completed before participant \(c) invalidated")
                }
            } else if shootdown.participants.contains(CoreID(c)) && !shootdown.invalidated.contains(CoreID(c))
                        && !stopped.contains(CoreID(c)) {
                violation("request \(id.rawValue) completed without naming participant \(c), which stopped before invalidating")
            }
        }
    }

    // MARK: Checks when quiet

    public mutating func finalChecks() {
        if inFlight > 0 { violation("\(inFlight) slots still in flight") }
        if !notices.isEmpty { violation("\(notices.count) stops never told") }
        for m in monitors where running[m.core.rawValue] && !m.isIdle {
            let waits = m.waiting.map { "\($0.operation.root.rawValue)#\($0.operation.ticket) for \($0.cores.cores.map(\.rawValue))" }
            violation("core \(m.core.rawValue) still waits: \(waits.joined(separator: ", "))")
        }
        for (i, s) in shootdowns.enumerated() where running[s.core] && s.answers.count != 1 {
            violation("request \(i + 1) on core \(s.core) (\(describe(s.change))) answered \(s.answers.count) times")
        }
        // A stopped monitor's counters hold what it dropped before it stopped.
        let dropped = monitors.reduce(0) { $0 + $1.counters.dropped }
        if dropped != garbageDelivered {
            violation("\(dropped) slots dropped, \(garbageDelivered) garbage delivered: \(monitors.map { $0.counters })")
        }
    }
}

public func describe(_ change: AddressSpaceChange) -> String {
    "\(change.kind) space \(change.space.rawValue) page \(change.range.start.rawValue / VirtualRange.pageSize)+\(change.range.pages)"
}

extension ShootdownMessage: CustomStringConvertible {
    public var description: String {
        func name(_ o: ShootdownOperation) -> String { "\(o.root.rawValue)#\(o.ticket)" }
        switch self {
        case .invalidate(let o, let change, let participants):
            return "invalidate \(name(o)) \(describe(change)) participants \(participants.cores.map(\.rawValue))"
        case .acknowledge(let o, let stopped):
            return "acknowledge \(name(o))" + (stopped.isEmpty ? "" : " stopped \(stopped.cores.map(\.rawValue))")
        }
    }
}
