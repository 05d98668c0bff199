// Seeded runs of the shootdown protocol (after the capability protocols' simulator,
// Core/Sources/CapabilitySimulation): one seeded generator chooses everything — the
// machine's packages and which multicast tree the monitors use, which cores use each
// address space, which ring delivers next (so rings reorder against each other while
// each stays FIFO, and a slot may wait many steps), which core starts which shootdown
// and which cores touch which pages meanwhile, which core is slow (it takes a delivery
// only now and then, and stalls), which core stops in the middle and when each other
// core hears of it, which garbage slots appear — so a seed replays the whole run.
// `ShootdownMachine` says what is checked.
import Basics
import CapabilityProtocols
import Channel
import CoreTestSupport
import KnowledgeBase
import PageTables
import ShootdownProtocol

public struct ShootdownSimulationOptions: Sendable {
    public var cores: Int
    /// Shootdowns started before the run settles.
    public var operations: Int
    public var spaces: Int
    /// A slow core, stalls and a core that stops.
    public var faults: Bool
    public var garbage: Bool
    public var breakage: ShootdownBreakage?

    public init(cores: Int, operations: Int = 4, spaces: Int = 2, faults: Bool = true, garbage: Bool = true,
                breakage: ShootdownBreakage? = nil) {
        self.cores = cores
        self.operations = operations
        self.spaces = spaces
        self.faults = faults
        self.garbage = garbage
        self.breakage = breakage
    }
}

public struct ShootdownSimulation {
    public let options: ShootdownSimulationOptions
    public let seed: UInt64
    public internal(set) var machine: ShootdownMachine
    var random: SeededGenerator
    var clock: UInt64 = 0
    var stalledUntil: [UInt64]
    /// Takes a delivery only one time in five, and starts no shootdown (nil: none).
    let slow: Int?
    /// Stops at some step (nil: none). Starts no shootdown and sends no garbage, so what
    /// every correct monitor must answer or drop does not depend on when it stops.
    let victim: Int?
    /// What the seed chose before the first step, for the trace.
    let setting: String

    public init(options: ShootdownSimulationOptions, seed: UInt64) {
        self.options = options
        self.seed = seed
        var random = SeededGenerator(seed: seed)
        let cores = options.cores
        let perPackage = random.pick([1, 2, 4, 8])
        let knowledge = KnowledgeBase.synthetic(
            packages: (cores + perPackage - 1) / perPackage, coresPerPackage: perPackage,
            latencies: SyntheticLatencies(samePackage: 500, byHops: [600, 620], links: []))
        // The per-package kinds twice as often: only they have forwarders that can stop.
        let tree = random.pick([MulticastKind.unicast, .broadcast, .perPackage, .perPackage, .numaAware, .numaAware])
        // Each space used by a random half or so of the cores, at least one.
        var users: [CoreMask] = []
        for _ in 0..<max(options.spaces, 1) {
            var mask = CoreMask.none
            for c in 0..<cores where random.chance(60) { mask.insert(CoreID(c)) }
            if mask.isEmpty { mask.insert(CoreID(random.below(cores))) }
            users.append(mask)
        }
        slow = options.faults && cores > 1 && random.chance(60) ? random.below(cores) : nil
        victim = options.faults && cores > 2 && random.chance(70) ? random.below(cores) : nil
        self.random = random
        machine = ShootdownMachine(coreCount: cores, configuration: ShootdownMonitor.Configuration(knowledge: knowledge, tree: tree),
                                   users: users, breakage: options.breakage)
        stalledUntil = Array(repeating: 0, count: cores)
        setting = "seed \(seed): \(cores) cores, \(perPackage) a package, \(tree) tree, space users \(users.map { $0.cores.map(\.rawValue) }), slow core \(slow.map(String.init) ?? "none"), stopping core \(victim.map(String.init) ?? "none")"
    }

    var cores: Int { options.cores }

    /// A core that takes no delivery now: stalled, or slow and not its turn, or stopped.
    mutating func isBusy(_ core: Int) -> Bool {
        !machine.running[core] || clock < stalledUntil[core] || (core == slow && !random.chance(20))
    }

    public var tracing: Bool {
        get { machine.tracing }
        set { machine.tracing = newValue }
    }

    /// Runs the seed to the end; the violations (none when all is well).
    public mutating func run() -> [String] {
        machine.log(setting)
        var steps = 0
        while machine.shootdowns.count < options.operations && steps < 10_000 && machine.violations.isEmpty {
            steps += 1
            clock += 1
            let roll = random.below(100)
            if roll < 45 { _ = deliverOne() }
            else if roll < 57 { startShootdown() }
            else if roll < 77 { touch() }
            else if roll < 82 { tellOne() }
            else if roll < 87 { if options.faults { stall() } }
            else if roll < 90 { if let victim, !machine.shootdowns.isEmpty { machine.stop(victim) } }
            else if roll < 94 { if options.garbage { injectGarbage() } }
        }
        settle()
        if machine.violations.isEmpty { machine.finalChecks() }
        return machine.violations
    }

    /// No more requests or faults: deliver and tell until quiet, within a bound (a
    /// system that does not settle is a violation, not a hang).
    mutating func settle() {
        for _ in 0..<100_000 {
            if (machine.inFlight == 0 && machine.notices.isEmpty) || !machine.violations.isEmpty { return }
            clock += 1
            if !deliverOne() { tellOne() }
        }
        machine.violation("did not settle: \(machine.inFlight) slots in flight, \(machine.notices.count) stops untold")
    }

    /// Delivers the oldest slot of a random ring whose receiver takes it now; false if none.
    mutating func deliverOne() -> Bool {
        var ready: [(from: Int, to: Int)] = []
        for ring in machine.nonEmptyQueues where !isBusy(ring.to) { ready.append(ring) }
        guard !ready.isEmpty else { return false }
        let (from, to) = random.pick(ready)
        machine.deliver(from: from, to: to)
        return true
    }

    mutating func tellOne() {
        guard !machine.notices.isEmpty else { return }
        machine.tell(random.below(machine.notices.count))
    }

    mutating func stall() {
        let core = random.below(cores)
        stalledUntil[core] = max(stalledUntil[core], clock + 5 + UInt64(random.below(60)))
    }

    /// A running core starts a shootdown; a third of them from a core outside the space.
    mutating func startShootdown() {
        let core = random.below(cores)
        guard core != victim, core != slow, machine.running[core], clock >= stalledUntil[core] else { return }
        let space = random.below(machine.spaces.count)
        let page = random.below(ShootdownMachine.pagesPerSpace)
        let pages = 1 + random.below(ShootdownMachine.pagesPerSpace - page)
        machine.startShootdown(on: core, space: space, page: page, pages: pages, kind: random.pick(ShootdownKind.allCases))
    }

    /// A running core that uses a space touches one of its pages.
    mutating func touch() {
        let space = random.below(machine.spaces.count)
        let users = machine.spaces[space].users.cores
        let core = random.pick(users).rawValue
        guard machine.running[core] else { return }
        machine.touch(on: core, space: space, page: random.below(ShootdownMachine.pagesPerSpace))
    }

    /// A slot every correct monitor drops: it does not decode, comes from the receiver
    /// itself, acknowledges nothing, or invalidates for an operation it cannot be in.
    mutating func injectGarbage() {
        let from = random.below(cores)
        var to = random.below(cores)
        guard from != victim, cores > 1 else { return }
        let stray = ShootdownOperation(root: CoreID(random.below(cores)), ticket: 0x8000_0000 | UInt32(random.below(1000)))
        let change = AddressSpaceChange(space: AddressSpaceID(1), range: VirtualRange(start: VirtualAddress(0x40_0000), pages: 1), kind: .unmap)
        let slot: ChannelMessage
        switch random.below(5) {
        case 0:
            var raw = ChannelMessage(tag: 0x5400 &+ UInt16(random.below(4)))
            for i in 0..<ChannelMessage.wordCount { raw.words[i] = random.next() }
            guard ShootdownMessage(decoding: raw, coreCount: cores) == nil else { return }
            slot = raw
        case 1:
            slot = ShootdownMessage.acknowledge(stray, stopped: .none).encode()
        case 2:
            // An invalidate naming the receiver as its root.
            guard from != to else { return }
            slot = ShootdownMessage.invalidate(ShootdownOperation(root: CoreID(to), ticket: stray.ticket), change,
                                               participants: CoreMask.all(cores)).encode()
        case 3:
            // An invalidate the receiver is not a participant of.
            guard from != to else { return }
            slot = ShootdownMessage.invalidate(stray, change, participants: CoreMask.all(cores).removing(CoreID(to))).encode()
        default:
            // Anything on the ring from a core to itself.
            to = from
            slot = ShootdownMessage.acknowledge(stray, stopped: .none).encode()
        }
        machine.inject(slot, from: from, to: to)
    }
}

/// Runs seeds `first..<first + count` on `cores` cores; for each failing seed its first
/// violation.
public func simulateShootdownSeeds(cores: Int, first: UInt64, count: Int, breakage: ShootdownBreakage? = nil)
    -> [(seed: UInt64, violation: String)] {
    var failures: [(seed: UInt64, violation: String)] = []
    for seed in first..<first + UInt64(count) {
        var simulation = ShootdownSimulation(options: ShootdownSimulationOptions(cores: cores, garbage: breakage == nil,
                                                                                 breakage: breakage), seed: seed)
        if let violation = simulation.run().first { failures.append((seed, violation)) }
    }
    return failures
}
