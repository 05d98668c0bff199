// Seeded runs of the capability protocols (after FoundationDB's simulator, like the
// monitors' in Core/Tests/MonitorProtocolsTests/Simulation.swift): one seeded generator
// chooses everything — which ring delivers next (so rings reorder against each other
// while each stays FIFO, and a slot may wait many steps), which core gets which request
// on which record, when a core stalls (it takes no deliveries or requests for a while),
// when a domain ends in the middle of whatever it asked for, which garbage slots appear
// — so a seed replays the whole run. `SimulatedMachine` says what is checked.
import Basics
import CapabilityProtocols
import Channel
import CoreTestSupport

public struct SimulationOptions: Sendable {
    public var cores: Int
    /// Local requests issued before the run settles.
    public var operations: Int
    public var objects: Int
    public var faults: Bool
    public var garbage: Bool
    public var breakage: CapabilityBreakage?
    /// Core 0 also holds device objects (a device frame, ports, interrupts), which are
    /// copied, deleted and revoked like the rest and refused for retype.
    public var devices: Bool

    public init(cores: Int, operations: Int = 40, objects: Int? = nil, faults: Bool = true, garbage: Bool = true,
                breakage: CapabilityBreakage? = nil, devices: Bool = true) {
        self.cores = cores
        self.operations = operations
        self.objects = objects ?? max(1, min(cores, 3))
        self.faults = faults
        self.garbage = garbage
        self.breakage = breakage
        self.devices = devices
    }
}

public struct CapabilitySimulation {
    public let options: SimulationOptions
    public let seed: UInt64
    public internal(set) var machine: SimulatedMachine
    var random: SeededGenerator
    var clock: UInt64 = 0
    var stalledUntil: [UInt64]

    public init(options: SimulationOptions, seed: UInt64) {
        self.options = options
        self.seed = seed
        var random = SeededGenerator(seed: seed)
        // Half the seeds send revokes over per-package trees (packages of 2 or 4 cores).
        var route = RevokeRoute.direct
        if options.cores > 2 && random.chance(50) {
            let size = random.chance(50) ? 2 : 4
            route = .viaGroups(groupOf: (0..<options.cores).map { UInt8($0 / size) })
        }
        self.random = random
        machine = SimulatedMachine(coreCount: options.cores, objects: options.objects, route: route, breakage: options.breakage,
                                   devices: options.devices)
        stalledUntil = Array(repeating: 0, count: options.cores)
    }

    var cores: Int { options.cores }
    func isStalled(_ core: Int) -> Bool { clock < stalledUntil[core] }

    public var tracing: Bool {
        get { machine.tracing }
        set { machine.tracing = newValue }
    }

    /// Runs the seed to the end; the violations (none when all is well).
    public mutating func run() -> [String] {
        var steps = 0
        while machine.requests.count < options.operations && steps < 20_000 && machine.violations.isEmpty {
            steps += 1
            clock += 1
            let roll = random.below(100)
            if roll < 50 { _ = deliverOne() }
            else if roll < 82 { issueRequest() }
            else if roll < 88 { if options.faults { stallCore() } }
            else if roll < 93 { if options.faults { endDomain() } }
            else if roll < 97 { if options.garbage { injectGarbage() } }
        }
        settle()
        if machine.violations.isEmpty { machine.finalChecks() }
        return machine.violations
    }

    /// No more requests or faults: deliver until quiet, within a bound (a system that
    /// does not settle is a violation, not a hang).
    mutating func settle() {
        for _ in 0..<200_000 {
            if machine.inFlight == 0 || !machine.violations.isEmpty { return }
            clock += 1
            _ = deliverOne()
        }
        machine.violation("did not settle: \(machine.inFlight) slots in flight")
    }

    /// Delivers the oldest slot of a random ring whose receiver runs; false if none.
    mutating func deliverOne() -> Bool {
        let ready = machine.nonEmptyQueues.filter { !isStalled($0.to) }
        guard !ready.isEmpty else { return false }
        let (from, to) = random.pick(ready)
        machine.deliver(from: from, to: to)
        return true
    }

    mutating func stallCore() {
        let core = random.below(cores)
        stalledUntil[core] = max(stalledUntil[core], clock + 5 + UInt64(random.below(60)))
    }

    mutating func endDomain() {
        let core = random.below(cores)
        guard !isStalled(core) else { return }
        let domains = machine.monitors[core].database.domains
        machine.endDomain(random.pick(domains), on: core)
    }

    mutating func issueRequest() {
        let core = random.below(cores)
        guard !isStalled(core) else { return }
        let records = machine.monitors[core].database.records
        let record: RecordID
        if records.isEmpty || random.chance(5) {
            record = RecordID(UInt32(500 + random.below(10)))
        } else {
            record = random.pick(records).id
        }
        let roll = random.below(100)
        let operation: SimulatedOperation
        if roll < 35 {
            var target = random.below(cores)
            if target == core && !random.chance(10) { target = (core + 1) % cores }
            if random.chance(3) { target = cores }
            let domains = machine.monitors[target % cores].database.domains
            let domain = random.chance(10) ? UInt32(900) : random.pick(domains)
            operation = .copy(record, to: target, domain: domain)
        } else if roll < 55 {
            operation = .delete(record)
        } else if roll < 70 {
            operation = .revoke(record)
        } else if roll < 87 {
            operation = .retype(record, count: random.chance(5) ? 3 : random.pick([1, 2, 4, 8]))
        } else {
            operation = .map(record)
        }
        machine.issue(operation, on: core)
    }

    /// A slot every correct monitor drops: it does not decode, comes from the receiver
    /// itself, answers nothing, or steps into a revoke that never started.
    mutating func injectGarbage() {
        let from = random.below(cores)
        var to = random.below(cores)
        let stray = CapabilityTicket(0x8000_0000 | UInt32(random.below(1000)))
        let slot: ChannelMessage
        switch random.below(7) {
        case 0:
            var raw = ChannelMessage(tag: 0x4300 &+ UInt16(random.below(18)))
            for i in 0..<ChannelMessage.wordCount { raw.words[i] = random.next() }
            guard CapabilityMessage(decoding: raw, coreCount: cores, memoryLimit: machine.memoryLimit, ram: machine.ram) == nil else { return }
            slot = raw
        case 1:
            slot = random.pick([CapabilityMessage.requestAnswer(stray, .done, epoch: nil), .copyInstalled(stray, .done),
                                .retypeDone(stray, .done), .moveAnswer(stray, accepted: true),
                                .revokeReady(stray, root: CoreID(random.below(cores))),
                                .revokeDone(stray, root: CoreID(random.below(cores)))]).encode()
        case 2:
            // A copy beyond memory: does not decode.
            let object = CapabilityObject(.frame, base: machine.memoryLimit, size: 4096)
            slot = CapabilityMessage.copyDeliver(stray, object, epoch: .first, domain: 1).encode()
        case 3:
            // A mark naming the receiver itself as the revoke's root.
            guard cores > 1, from != to else { return }
            slot = CapabilityMessage.revokeMark(stray, CapabilityObject(.ram, base: 0, size: 4096), root: CoreID(to),
                                                targets: CoreMask.all(cores)).encode()
        case 4:
            // A commit of a revoke that never started (no core issues such tickets).
            guard cores > 1, from != to else { return }
            slot = CapabilityMessage.revokeCommit(stray, CapabilityObject(.ram, base: 0, size: 4096), root: CoreID(from),
                                                  targets: CoreMask.all(cores), keepCore: nil, keep: RecordID(0)).encode()
        case 5:
            // A device object no correct monitor names: a device frame in RAM or not
            // page-aligned, ports past 65,535, interrupts past their space. None decodes.
            let limit = machine.memoryLimit
            let object = random.pick([CapabilityObject(.deviceFrame, base: 0, size: 4096),
                                      CapabilityObject(.deviceFrame, base: limit &- 4096, size: 8192),
                                      CapabilityObject(.deviceFrame, base: limit + 8, size: 4096),
                                      CapabilityObject(.ioPorts, base: 0xFFF0, size: 0x20),
                                      CapabilityObject(.ioPorts, base: 0, size: 0),
                                      CapabilityObject(.interrupts, base: 1 << 32, size: 1),
                                      CapabilityObject(.interrupts, base: UInt64.max, size: 2)])
            slot = random.pick([CapabilityMessage.copyDeliver(stray, object, epoch: .first, domain: 1),
                                .copyRequest(stray, object, to: CoreID(to), domain: 1),
                                .revokeRequest(stray, object, keep: RecordID(1)),
                                .copyDeleted(object)]).encode()
        default:
            // Anything on the ring from a core to itself.
            to = from
            slot = CapabilityMessage.copyDeleted(CapabilityObject(.ram, base: 0, size: 4096)).encode()
        }
        machine.inject(slot, from: from, to: to)
    }
}

/// Runs seeds `first..<first + count` on `cores` cores; for each failing seed its first
/// violation.
public func simulateSeeds(cores: Int, first: UInt64, count: Int, breakage: CapabilityBreakage? = nil,
                          operations: Int = 40) -> [(seed: UInt64, violation: String)] {
    var failures: [(seed: UInt64, violation: String)] = []
    for seed in first..<first + UInt64(count) {
        var simulation = CapabilitySimulation(options: SimulationOptions(cores: cores, operations: operations,
                                                                         garbage: breakage == nil, breakage: breakage), seed: seed)
        if let violation = simulation.run().first { failures.append((seed, violation)) }
    }
    return failures
}
