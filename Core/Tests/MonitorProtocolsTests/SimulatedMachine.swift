// A simulated machine for the monitors: N `Monitor`s (the real code), one FIFO queue of
// encoded slots per ordered pair of cores (what the rings guarantee: order within a
// channel, none across channels), and for each core the work its monitor handed its
// guest side. It is a value, so the exhaustive search copies it at every branch.
// Which queue delivers next, and when, is for the driver (`Simulation` or the search)
// to choose.
import Basics
import Channel
@testable import MonitorProtocols

/// Work a monitor handed to its core's guest side, waiting to be carried out.
enum GuestWork: Equatable {
    case spawn(SpawnID, program: Name, arguments: [UInt8])
    case kill(LocalDomainNumber)
    case span(SpawnID, home: DomainID)
}

struct SimulatedMachine {
    let coreCount: Int
    var monitors: [Monitor]
    /// `queues[from * coreCount + to]`, oldest first.
    var queues: [[ChannelMessage]]
    var guestWork: [[GuestWork]]
    /// Every answer given, in order.
    var answers: [(request: RequestID, answer: MonitorAnswer)] = []
    /// Every `releaseSpanned`, as the domain whose memory its core's kernel may free.
    var releases: [DomainID] = []
    var delivered = 0
    /// Cores that stopped for good: nothing reaches them, and they do nothing.
    var stopped: [Bool]

    init(coreCount: Int, configuration: Monitor.Configuration = Monitor.Configuration(), breakage: Breakage? = nil) {
        self.coreCount = coreCount
        monitors = (0..<coreCount).map { Monitor(core: CoreID($0), coreCount: coreCount, configuration: configuration) }
        for i in monitors.indices { monitors[i].breakage = breakage }
        queues = Array(repeating: [], count: coreCount * coreCount)
        guestWork = Array(repeating: [], count: coreCount)
        stopped = Array(repeating: false, count: coreCount)
    }

    /// Core `core` stops for good: what waits on rings to it is never read.
    mutating func stop(_ core: Int) {
        stopped[core] = true
        for from in 0..<coreCount { queues[queueIndex(from: from, to: core)] = [] }
        guestWork[core] = []
    }

    func queueIndex(from: Int, to: Int) -> Int { from * coreCount + to }

    /// Carries out what `core`'s monitor asked for: slots onto rings, answers into the
    /// log, guest work into the core's list.
    mutating func apply(_ effects: [MonitorEffect], at core: Int) {
        for effect in effects {
            switch effect {
            case .send(let message, let to): if !stopped[to.rawValue] { queues[queueIndex(from: core, to: to.rawValue)].append(message.encode()) }
            case .answer(let request, let answer): answers.append((request, answer))
            case .spawnLocally(let id, let program, let arguments): guestWork[core].append(.spawn(id, program: program, arguments: arguments))
            case .killLocally(let local): guestWork[core].append(.kill(local))
            case .spanLocally(let id, let home, _): guestWork[core].append(.span(id, home: home))
            case .releaseSpanned(let local): releases.append(DomainID(core: CoreID(core), local: local))
            case .driverMessage: break                   // the simulated drivers send none
            }
        }
    }

    /// Runs `call` on `core`'s monitor and applies what it returns.
    mutating func at(_ core: Int, _ call: (inout Monitor) -> [MonitorEffect]) {
        let effects = call(&monitors[core])
        apply(effects, at: core)
    }

    /// Delivers the oldest slot on the ring from `from` to `to`.
    mutating func deliver(from: Int, to: Int) {
        let slot = queues[queueIndex(from: from, to: to)].removeFirst()
        delivered += 1
        at(to) { $0.receive(slot, from: CoreID(from)) }
    }

    /// Queues with something to deliver, as (from, to).
    var nonEmptyQueues: [(from: Int, to: Int)] {
        var result: [(Int, Int)] = []
        for from in 0..<coreCount {
            for to in 0..<coreCount where !queues[queueIndex(from: from, to: to)].isEmpty { result.append((from, to)) }
        }
        return result
    }

    var inFlight: Int { queues.reduce(0) { $0 + $1.count } }

    var isQuiet: Bool {
        inFlight == 0 && guestWork.allSatisfy(\.isEmpty) && monitors.indices.allSatisfy { stopped[$0] || monitors[$0].isIdle }
    }

    /// What must hold whenever nothing is in flight: every replica equal, and every
    /// name's record at its home equal to the record everywhere else (one follows from
    /// the other, but saying which replica differs helps).
    func replicaDifferences() -> [String] {
        var problems: [String] = []
        let first = monitors[0]
        for m in monitors.dropFirst() where !stopped[m.core.rawValue] {
            if m.domains != first.domains {
                problems.append("domain table of core \(m.core.rawValue) \(describe(m.domains)) differs from core 0's \(describe(first.domains))")
            }
            if m.names != first.names {
                problems.append("name table of core \(m.core.rawValue) \(describe(m.names)) differs from core 0's \(describe(first.names))")
            }
        }
        return problems
    }

    /// Called on each core's monitor once at the start: `perCore` domains each, as if the
    /// boot image had started them, with their broadcasts delivered unless `inFlight`.
    mutating func startInitialDomains(perCore: Int, nextLocal: inout [UInt32], inFlight: Bool = false) -> [DomainRecord] {
        var started: [DomainRecord] = []
        for core in 0..<coreCount {
            for _ in 0..<perCore {
                let local = LocalDomainNumber(nextLocal[core])
                nextLocal[core] += 1
                let program = Name("init")!
                at(core) { $0.domainStarted(local, program: program) }
                started.append(DomainRecord(id: DomainID(core: CoreID(core), local: local), program: program))
            }
        }
        while !inFlight, let (from, to) = nonEmptyQueues.first { deliver(from: from, to: to) }
        return started
    }
}

func describe(_ domains: [DomainRecord]) -> String {
    "[" + domains.map { "\($0.id.core.rawValue).\($0.id.local.rawValue)" }.joined(separator: " ") + "]"
}

func describe(_ names: [NameRecord]) -> String {
    "[" + names.map { "\(text($0.name))→\($0.owner.core.rawValue).\($0.owner.local.rawValue)" }.joined(separator: " ") + "]"
}

func text(_ name: Name) -> String { String(decoding: name.bytes, as: UTF8.self) }

func describe(_ domain: DomainID) -> String { "\(domain.core.rawValue).\(domain.local.rawValue)" }

// Short forms for traces and failure messages (the default would print every wrapper).
extension Name: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { text(self) }
    public var debugDescription: String { "\"\(text(self))\"" }
}
extension DomainID: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { describe(self) }
    public var debugDescription: String { describe(self) }
}
extension Ticket: CustomDebugStringConvertible {
    public var debugDescription: String { "#\(rawValue)" }
}
extension EndpointToken: CustomDebugStringConvertible {
    public var debugDescription: String { "endpoint 0x" + String(rawValue, radix: 16) }
}
extension SpawnID: CustomDebugStringConvertible {
    public var debugDescription: String { "spawn \(rawValue)" }
}
