// The deterministic simulation of N monitors (after FoundationDB's): one seeded
// generator chooses everything (which ring delivers next, when local requests arrive,
// when time advances, which faults strike), so a seed replays the whole run. The
// simulator also plays every core's guest side: it starts and stops the domains the
// monitors ask for, and keeps the ground truth (which domains really run) and a model
// of who holds each name, built from the answers callers got.
//
// Faults: a stalled core (its monitor does not run: no deliveries, ticks, requests or
// guest work) and a held ring (its slots wait), both for longer than the request
// timeout at times; domains ending at any moment; slots of garbage on a ring; a core
// that stops for good (its domains gone, nothing reaches it), each other monitor told
// at its own moment, while what it wrote before may still be on its rings. Core 0's
// guest side publishes a knowledge base at a random step (before it, the others ask in
// vain).
//
// Checked after each step: every request is answered at most once; `registered` is
// never given while the model says another live domain holds the name (two winners);
// a spawn's answer names the domain the spawn really started; lookups are answered at
// once; the caller's own replica already shows what `registered` or `spawned`
// reports; a spanned domain's memory is released only after it ended and no
// dispatcher of it runs on any core (the span protocol's safety), and once only. Checked when the run is quiet (nothing in flight, no guest work, no monitor
// waiting): every request answered exactly once; every replica's domain table equal
// and equal to the ground truth; every replica's name table equal, equal to the model,
// and naming only live domains; no domain left running by a spawn whose caller was
// told it failed, nor by a kill answered `killed`; every replica of the knowledge base
// equal to what core 0 published; every garbage slot counted as dropped, and nothing
// else dropped; with no faults, no request timed out.
import Basics
import Channel
import CoreTestSupport
import KnowledgeBase
@testable import MonitorProtocols

struct SimulationOptions {
    var cores = 4
    /// Local requests issued before the run settles.
    var requests = 40
    var faults = false
    var garbage = false
    var timeout: UInt64 = 60
    /// How many names requests choose from (fewer: more contention).
    var names = 6
    var breakage: Breakage? = nil
    /// Whether core 0 publishes a knowledge base that every monitor must end up with.
    var knowledge = true
    /// Whether a core other than 0 may stop for good, each other monitor told at its own
    /// moment (`coreStopped`).
    var stops = false
}

/// The named option sets the tests run; a failing seed's replay line names one.
enum Scenario: String, CaseIterable {
    case calm, faults, garbage, everything, twoCores, eightCores, contention, stops

    var options: SimulationOptions {
        switch self {
        // Without faults the timeout is out of reach of a run's clock (a few hundred
        // ticks), so a timeout there means an answer was lost.
        case .calm: return SimulationOptions(timeout: 5_000)
        case .faults: return SimulationOptions(faults: true)
        case .garbage: return SimulationOptions(garbage: true, timeout: 5_000)
        case .everything: return SimulationOptions(cores: 5, requests: 60, faults: true, garbage: true)
        case .twoCores: return SimulationOptions(cores: 2, faults: true)
        case .eightCores: return SimulationOptions(cores: 8, requests: 60, faults: true)
        // Two names fought over by three cores, with timeouts: races, cancels and
        // re-registrations in flight together, which uniform runs reach rarely.
        case .contention: return SimulationOptions(cores: 3, requests: 60, faults: true, names: 2)
        // A core stops for good at a random moment, with spans, spawns and names to it in flight.
        case .stops: return SimulationOptions(cores: 4, requests: 60, faults: true, stops: true)
        }
    }

    /// The one line that replays `seed` of this scenario, printing its trace.
    func replayLine(seed: UInt64) -> String {
        "SWORDFISH_SCENARIO=\(rawValue) SWORDFISH_SEED=\(seed) swift test --filter MonitorSimulationTests/testReplay"
    }
}

struct IssuedRequest {
    enum Kind {
        case register(Name, DomainID)
        case unregister(Name, DomainID)
        case lookup(Name)
        case spawn(target: Int, Name, argumentBytes: Int)
        case kill(DomainID)
        case span(DomainID, target: Int)
    }
    var core: Int
    var kind: Kind
    var answers: [MonitorAnswer] = []
}

struct Simulation {
    static let allNames = (0..<6).map { Name("svc\($0)")! }
    var namePool: [Name] { Array(Self.allNames.prefix(options.names)) }

    let options: SimulationOptions
    var machine: SimulatedMachine
    var random: SeededGenerator
    var clock: UInt64 = 0
    var stalledUntil: [UInt64]
    var heldUntil: [UInt64]
    /// Ground truth: the domains running now, and what each spawn request started.
    var live: [DomainRecord] = []
    var ended: [DomainID] = []
    var startedBy: [(request: RequestID, domain: DomainID)] = []
    /// Dispatchers running for spanned domains: (their home domain, the dispatcher).
    var spanDispatchers: [(home: DomainID, dispatcher: DomainID)] = []
    var releasesChecked = 0
    var nextLocal: [UInt32]
    var requests: [IssuedRequest] = []
    var answersChecked = 0
    /// The model: who holds each name, according to the answers callers got.
    var held: [(name: Name, owner: DomainID)] = []
    var violations: [String] = []
    var garbageInjected = 0
    var timeouts = 0
    /// What core 0 published, once it has.
    var publishedKnowledge: KnowledgeBase? = nil
    /// The core that stopped for good, and the cores not told yet.
    var stoppedCore: Int? = nil
    var notices: [Int] = []
    var tracing = false
    var trace: [String] = []

    init(options: SimulationOptions, seed: UInt64) {
        self.options = options
        let configuration = Monitor.Configuration(requestTimeout: options.timeout, maximumPending: 64, maximumAbandoned: 64,
                                                  knowledgeSource: options.knowledge ? CoreID(0) : nil)
        machine = SimulatedMachine(coreCount: options.cores, configuration: configuration, breakage: options.breakage)
        random = SeededGenerator(seed: seed)
        stalledUntil = Array(repeating: 0, count: options.cores)
        heldUntil = Array(repeating: 0, count: options.cores * options.cores)
        nextLocal = Array(repeating: 1, count: options.cores)
    }

    var cores: Int { options.cores }
    func isStalled(_ core: Int) -> Bool { clock < stalledUntil[core] }

    mutating func log(_ line: @autoclosure () -> String) {
        if tracing { trace.append("t=\(clock) \(line())") }
    }

    mutating func violation(_ text: String) {
        violations.append(text)
        log("VIOLATION \(text)")
    }

    // MARK: Running

    /// Runs one seed to the end and returns the violations (none when all is well).
    mutating func run() -> [String] {
        live = machine.startInitialDomains(perCore: 2, nextLocal: &nextLocal)
        let publishAt = random.below(300)
        var steps = 0
        while requests.count < options.requests && steps < 50_000 {
            steps += 1
            if steps >= publishAt { publishKnowledge() }
            let roll = random.below(100)
            if roll < 47 { _ = deliverOne() }
            else if roll < 62 { issueRequest() }
            else if roll < 72 { _ = doGuestWork() }
            else if roll < 94 { advanceTime() }
            else if options.faults || options.garbage { injectFault() }
            if !notices.isEmpty && random.chance(10) { _ = deliverNotice() }
            checkAnswers()
        }
        settle()
        if violations.isEmpty { finalChecks() }
        return violations
    }

    /// No more requests or faults: run until quiet, within a bound (a system that does
    /// not settle is a violation, not a hang).
    mutating func settle() {
        for _ in 0..<100_000 {
            publishKnowledge()
            if machine.isQuiet && notices.isEmpty { return }
            let roll = random.below(100)
            var progressed = false
            if roll < 60 { progressed = deliverOne() } else if roll < 80 { progressed = doGuestWork() } else if roll < 90 { progressed = deliverNotice() }
            if !progressed { advanceTime() }
            checkAnswers()
        }
        violation("did not settle: \(machine.inFlight) slots in flight, pending \(machine.monitors.map(\.requestsInFlight))")
    }

    /// Delivers the oldest slot of a random ring that may deliver now; false if none may.
    mutating func deliverOne() -> Bool {
        let ready = machine.nonEmptyQueues.filter {
            !isStalled($0.to) && heldUntil[machine.queueIndex(from: $0.from, to: $0.to)] <= clock
        }
        guard !ready.isEmpty else { return false }
        let (from, to) = random.pick(ready)
        if tracing {
            let slot = machine.queues[machine.queueIndex(from: from, to: to)][0]
            let message = MonitorMessage(decoding: slot, coreCount: cores).map { "\($0)" } ?? "garbage tag \(slot.tag)"
            log("deliver \(from)→\(to): \(message)")
        }
        machine.deliver(from: from, to: to)
        return true
    }

    /// Tells one core that may run now that the stopped core stopped; false if none may.
    mutating func deliverNotice() -> Bool {
        guard let stopped = stoppedCore else { return false }
        checkAnswers()                                  // against the replicas they were given from
        let ready = notices.filter { !isStalled($0) }
        guard !ready.isEmpty else { return false }
        let core = random.pick(ready)
        notices.removeAll { $0 == core }
        log("core \(core) hears that core \(stopped) stopped")
        machine.at(core) { $0.coreStopped(CoreID(stopped)) }
        return true
    }

    mutating func advanceTime() {
        clock += 1 + UInt64(random.below(4))
        for core in 0..<cores where !isStalled(core) {
            machine.at(core) { $0.tick(now: MonitorTime(clock)) }
        }
    }

    /// Core 0's guest side hands its monitor the knowledge base (once, when core 0 runs).
    mutating func publishKnowledge() {
        guard options.knowledge, publishedKnowledge == nil, !isStalled(0) else { return }
        let base = KnowledgeBase.synthetic(packages: 1 + random.below(2), coresPerPackage: cores,
                                           latencies: SyntheticLatencies(samePackage: 100 + UInt64(random.below(100)), byHops: [400]))
        publishedKnowledge = base
        log("core 0 publishes a knowledge base of \(base.cores.count) cores")
        machine.at(0) { $0.publishKnowledge(base) }
    }

    // MARK: Local requests

    func localDomains(of core: Int) -> [DomainRecord] { live.filter { $0.id.core.rawValue == core } }

    mutating func issueRequest() {
        let core = random.below(cores)
        guard !isStalled(core) else { return }
        let roll = random.below(100)
        let locals = localDomains(of: core)
        let kind: IssuedRequest.Kind
        if roll < 30 {
            guard !locals.isEmpty else { return }
            kind = .register(random.pick(namePool), random.pick(locals).id)
        } else if roll < 45 {
            guard !locals.isEmpty else { return }
            let mine = held.filter { $0.owner.core.rawValue == core }
            if !mine.isEmpty && random.chance(60) {
                let pick = random.pick(mine)
                kind = .unregister(pick.name, pick.owner)
            } else {
                kind = .unregister(random.pick(namePool), random.pick(locals).id)
            }
        } else if roll < 60 {
            kind = .lookup(random.pick(namePool))
        } else if roll < 80 {
            // One target in (cores + 1) is not in the system.
            let length = random.chance(10) ? MonitorMessage.maximumArgumentBytes + 1 + random.below(20) : random.below(120)
            kind = .spawn(target: random.below(cores + 1), random.chance(20) ? Name("nosuch")! : Name("hello")!, argumentBytes: length)
        } else if roll < 88 {
            let homes = locals.filter { domain in !spanDispatchers.contains { $0.dispatcher == domain.id } }
            guard !homes.isEmpty else { return }
            kind = .span(random.pick(homes).id, target: random.below(cores + 1))
        } else {
            guard !live.isEmpty else { return }
            kind = random.chance(85) ? .kill(random.pick(live).id)
                : .kill(DomainID(core: CoreID(random.below(cores + 1)), local: LocalDomainNumber(999)))
        }
        issue(kind, on: core)
    }

    /// Hands `kind` to `core`'s monitor as a request from one of its domains.
    mutating func issue(_ kind: IssuedRequest.Kind, on core: Int) {
        let id = RequestID(UInt64(requests.count + 1))
        requests.append(IssuedRequest(core: core, kind: kind))
        log("request \(id.rawValue) on core \(core): \(kind)")
        let answersBefore = machine.answers.count
        switch kind {
        case .register(let name, let owner):
            let endpoint = EndpointToken(random.next())
            machine.at(core) { $0.register(name, endpoint: endpoint, by: owner, request: id) }
        case .unregister(let name, let owner): machine.at(core) { $0.unregister(name, by: owner, request: id) }
        case .lookup(let name):
            machine.at(core) { $0.lookup(name, request: id) }
            if machine.answers.count == answersBefore { violation("lookup \(id.rawValue) not answered at once") }
        case .spawn(let target, let program, let length):
            // The arguments say which request they belong to, so the guest side (this
            // simulator) can tell what each spawn started.
            var arguments = Array("r\(id.rawValue);".utf8)
            while arguments.count < length { arguments.append(UInt8(truncatingIfNeeded: 97 + arguments.count % 26)) }
            machine.at(core) { $0.spawn(program, arguments: arguments, on: CoreID(target), request: id) }
        case .kill(let domain): machine.at(core) { $0.kill(domain, request: id) }
        case .span(let domain, let target):
            let place = SpanPlace(root: 0x10_0000, frame: 0x20_0000, frameAddress: 0x80_0000_0000)!
            machine.at(core) { $0.span(domain.local, at: place, on: CoreID(target), request: id) }
        }
    }

    // MARK: The guest side

    mutating func doGuestWork() -> Bool {
        let ready = (0..<cores).filter { !machine.guestWork[$0].isEmpty && !isStalled($0) }
        guard !ready.isEmpty else { return false }
        let core = random.pick(ready)
        let work = machine.guestWork[core].removeFirst()
        switch work {
        case .spawn(let spawn, let program, let arguments):
            if program == Name("nosuch")! {
                log("core \(core) fails spawn \(spawn.rawValue)")
                machine.at(core) { $0.spawnFailed(spawn, error: .noSuchProgram) }
                return true
            }
            let local = LocalDomainNumber(nextLocal[core])
            nextLocal[core] += 1
            let domain = DomainID(core: CoreID(core), local: local)
            live.append(DomainRecord(id: domain, program: program))
            let text = String(decoding: arguments.prefix { $0 != UInt8(ascii: ";") }.dropFirst(), as: UTF8.self)
            if let request = UInt64(text) { startedBy.append((RequestID(request), domain)) } else { violation("spawn arguments lost their request id: \(arguments)") }
            log("core \(core) starts \(describe(domain)) for spawn \(spawn.rawValue) (\(text))")
            machine.at(core) { $0.spawnSucceeded(spawn, local: local) }
        case .kill(let local):
            let domain = DomainID(core: CoreID(core), local: local)
            if live.contains(where: { $0.id == domain }) { end(domain) }
        case .span(let span, let home):
            if random.chance(15) {
                log("core \(core) fails span \(span.rawValue)")
                machine.at(core) { $0.spanFailed(span, error: .outOfResources) }
                return true
            }
            let local = LocalDomainNumber(nextLocal[core])
            nextLocal[core] += 1
            let dispatcher = DomainID(core: CoreID(core), local: local)
            live.append(DomainRecord(id: dispatcher, program: machine.monitors[core].record(for: home)?.program ?? Name("span")!))
            spanDispatchers.append((home, dispatcher))
            log("core \(core) starts \(describe(dispatcher)) for span \(span.rawValue) of \(describe(home))")
            machine.at(core) { $0.spanSucceeded(span, local: local) }
        }
        return true
    }

    /// Each release names a domain that ended, once, when no dispatcher of it runs.
    mutating func checkReleases() {
        while releasesChecked < machine.releases.count {
            let domain = machine.releases[releasesChecked]
            releasesChecked += 1
            log("core \(domain.core.rawValue) releases \(describe(domain))'s memory")
            if !ended.contains(domain) { violation("memory of \(describe(domain)) released while it runs") }
            if machine.releases[..<(releasesChecked - 1)].contains(domain) { violation("memory of \(describe(domain)) released twice") }
            for running in spanDispatchers where running.home == domain && live.contains(where: { $0.id == running.dispatcher }) {
                violation("memory of \(describe(domain)) released while its dispatcher \(describe(running.dispatcher)) runs")
            }
        }
    }

    mutating func end(_ domain: DomainID) {
        log("domain \(describe(domain)) ends")
        live.removeAll { $0.id == domain }
        ended.append(domain)
        held.removeAll { $0.owner == domain }
        machine.at(domain.core.rawValue) { $0.domainEnded(domain.local, how: .exited(status: 0)) }
    }

    // MARK: Faults

    mutating func injectFault() {
        if options.stops, stoppedCore == nil, random.chance(8) { return stopCore() }
        let roll = random.below(100)
        if roll < 40 && options.garbage {
            injectGarbage()
        } else if !options.faults {
            return
        } else if roll < 60 {
            let core = random.below(cores)
            let until = max(stalledUntil[core], clock + 10 + UInt64(random.below(70)))
            stalledUntil[core] = until
            log("core \(core) stalls until \(until)")
        } else if roll < 80 {
            let from = random.below(cores), to = random.below(cores)
            guard from != to else { return }
            let q = machine.queueIndex(from: from, to: to)
            let until = max(heldUntil[q], clock + 10 + UInt64(random.below(50)))
            heldUntil[q] = until
            log("ring \(from)→\(to) held until \(until)")
        } else {
            let candidates = live.filter { !isStalled($0.id.core.rawValue) }
            guard !candidates.isEmpty else { return }
            end(random.pick(candidates).id)
        }
    }

    /// A core other than 0 (whose guest side publishes the knowledge base) stops for good:
    /// its domains no longer run, the names they held and those it was home to are gone,
    /// and every other monitor is told later, each at its own moment.
    mutating func stopCore() {
        let core = 1 + random.below(cores - 1)
        stoppedCore = core
        stalledUntil[core] = .max
        machine.stop(core)
        log("core \(core) stops for good")
        for record in live where record.id.core.rawValue == core { ended.append(record.id) }
        live.removeAll { $0.id.core.rawValue == core }
        let count = cores
        held.removeAll { $0.owner.core.rawValue == core || $0.name.home(coreCount: count).rawValue == core }
        notices = (0..<cores).filter { $0 != core }
    }

    /// A slot that a correct monitor must count as dropped exactly once.
    mutating func injectGarbage() {
        let from = random.below(cores)
        let to = (from + 1 + random.below(cores - 1)) % cores
        let stray = Ticket(0x8000_0000 | UInt32(random.below(1000)))
        let slot: ChannelMessage
        switch random.below(6) {
        case 0:
            var raw = ChannelMessage(tag: 0x4D00 &+ UInt16(random.below(20)))
            for i in 0..<ChannelMessage.wordCount { raw.words[i] = random.next() }
            guard MonitorMessage(decoding: raw, coreCount: cores) == nil else { return }
            slot = raw
        case 1:
            slot = random.pick([MonitorMessage.registerGranted(stray), .registerRefused(stray, .nameTaken),
                                .unregisterAnswer(stray, refusal: nil), .spawnStarted(stray, DomainID(core: CoreID(from), local: LocalDomainNumber(1))),
                                .spawnRefused(stray, .busy), .killAnswer(stray, refusal: nil)]).encode()
        case 2:
            let name = random.pick(namePool)
            let owner = DomainID(core: CoreID(from), local: LocalDomainNumber(1))
            if name.home(coreCount: cores).rawValue != from {
                slot = MonitorMessage.nameAdded(NameRecord(name: name, owner: owner, endpoint: EndpointToken(1))).encode()
            } else {
                // Sent by the home, to a core that is not the home.
                slot = MonitorMessage.registerRequest(stray, name: name, owner: owner, endpoint: EndpointToken(1)).encode()
            }
        case 3:
            slot = MonitorMessage.domainEnded(DomainID(core: CoreID(to), local: LocalDomainNumber(1)), .stopped).encode()
        case 4 where from != 0:
            // The knowledge base from a core that is not its source, or a request for it
            // at a monitor that is not the source.
            slot = random.chance(50) ? MonitorMessage.knowledgeHeader(generation: KnowledgeGeneration(1), byteCount: 48, checksum: 0).encode()
                : MonitorMessage.knowledgeRequest.encode()
            guard to != 0 || slot.tag == MonitorMessage.Tag.knowledgeHeader.rawValue else { return }
        default:
            slot = MonitorMessage.spawnArguments(stray, bytes: [1, 2, 3]).encode()
        }
        garbageInjected += 1
        log("garbage on ring \(from)→\(to): tag \(slot.tag)")
        machine.queues[machine.queueIndex(from: from, to: to)].append(slot)
    }

    // MARK: Checks

    mutating func checkAnswers() {
        while answersChecked < machine.answers.count {
            let (id, answer) = machine.answers[answersChecked]
            answersChecked += 1
            log("answer \(id.rawValue): \(answer)")
            let index = Int(id.rawValue) - 1
            guard index >= 0, index < requests.count else { violation("answer to unknown request \(id.rawValue)"); continue }
            requests[index].answers.append(answer)
            guard requests[index].answers.count == 1 else {
                violation("request \(id.rawValue) answered \(requests[index].answers.count) times: \(requests[index].answers)")
                continue
            }
            if answer == .failed(.timedOut) { timeouts += 1 }
            check(answer, to: requests[index].kind, id: id, on: requests[index].core)
        }
        checkReleases()
    }

    mutating func check(_ answer: MonitorAnswer, to kind: IssuedRequest.Kind, id: RequestID, on core: Int) {
        // Read your writes: the caller's own core knows what the answer reports.
        switch answer {
        case .registered:
            if case .register(let name, let owner) = kind, machine.monitors[core].record(for: name)?.owner != owner {
                violation("\(describe(owner)) told registered for \(text(name)) before its core's replica has it")
            }
        case .spawned(let domain):
            if machine.monitors[core].record(for: domain) == nil { violation("spawned \(describe(domain)) before the caller's replica has it") }
        default:
            break
        }
        switch (kind, answer) {
        case (.register(let name, let owner), .registered):
            // A domain that has ended keeps nothing: its end reached the home after the grant.
            guard !ended.contains(owner) else { return }
            guard let i = held.firstIndex(where: { $0.name == name }) else { return held.append((name, owner)) }
            // An unregister takes effect at the home before its answer comes back, so
            // a second winner is fine while the first one's unregister is in flight, or
            // while the new winner's own later unregister is (its grant came first and
            // its answer is still on the way).
            if hasUnregisterInFlight(name, by: held[i].owner, after: RequestID(0)) {
                held[i].owner = owner
            } else if !hasUnregisterInFlight(name, by: owner, after: id) {
                violation("two winners: \(text(name)) granted to \(describe(owner)) while \(describe(held[i].owner)) holds it")
            }
        case (.unregister(let name, let owner), .unregistered), (.unregister(let name, let owner), .failed(.timedOut)):
            // A timed-out unregister still reaches the home and takes effect.
            held.removeAll { $0.name == name && $0.owner == owner }
        case (.spawn(let target, _, let length), _):
            if target >= cores && answer != .failed(.noSuchCore) { violation("spawn on missing core \(target) answered \(answer)") }
            if target < cores && length > MonitorMessage.maximumArgumentBytes && answer != .failed(.argumentsTooLong) {
                violation("spawn with \(length) argument bytes answered \(answer)")
            }
            if case .spawned(let domain) = answer, !startedBy.contains(where: { $0.request == id && $0.domain == domain }) {
                violation("spawn \(id.rawValue) answered \(describe(domain)), which it did not start")
            }
        case (.kill(let domain), _):
            if domain.core.rawValue >= cores && answer != .failed(.noSuchCore) { violation("kill on missing core answered \(answer)") }
        case (.span(let domain, let target), _):
            if (target >= cores || target == core) && answer != .failed(.noSuchCore) { violation("span of \(describe(domain)) to core \(target) answered \(answer)") }
            if case .spawned(let dispatcher) = answer,
               !spanDispatchers.contains(where: { $0.home == domain && $0.dispatcher == dispatcher && dispatcher.core.rawValue == target }) {
                violation("span \(id.rawValue) answered \(describe(dispatcher)), which it did not start")
            }
        default:
            break
        }
    }

    /// Whether `owner` has an unanswered request to unregister `name`, issued after `request`.
    func hasUnregisterInFlight(_ name: Name, by owner: DomainID, after request: RequestID) -> Bool {
        requests.indices.contains { i in
            guard i + 1 > Int(request.rawValue), requests[i].answers.isEmpty,
                  case .unregister(name, owner) = requests[i].kind else { return false }
            return true
        }
    }

    mutating func finalChecks() {
        if !machine.isQuiet { violation("not quiet at the end") }
        // Every dispatcher of an ended domain was stopped, and the domain's memory released.
        for (home, dispatcher) in spanDispatchers where ended.contains(home) && live.contains(where: { $0.id == dispatcher }) {
            violation("\(describe(dispatcher)) still runs for \(describe(home)), which ended")
        }
        for (home, _) in spanDispatchers where ended.contains(home) && !machine.releases.contains(home)
            && home.core.rawValue != stoppedCore {
            violation("memory of \(describe(home)) never released")
        }
        // A request to the stopped core's own monitor may have died with it.
        for (i, request) in requests.enumerated() where request.answers.count != 1
            && !(request.core == stoppedCore && request.answers.isEmpty) {
            violation("request \(i + 1) (\(request.kind)) answered \(request.answers.count) times")
        }
        violations += machine.replicaDifferences()
        if options.knowledge {
            for m in machine.monitors where m.core.rawValue != stoppedCore
                && (m.knowledge?.base != publishedKnowledge || m.knowledge != machine.monitors[0].knowledge) {
                violation("core \(m.core.rawValue)'s knowledge replica (generation \(m.knowledge.map { "\($0.generation.rawValue)" } ?? "none")) differs from what core 0 published")
            }
        }
        let truth = live.sorted { $0.id < $1.id }
        if machine.monitors[0].domains != truth {
            violation("domain tables \(describe(machine.monitors[0].domains)) differ from the running domains \(describe(truth))")
        }
        let names = machine.monitors[0].names
        let model = held.sorted { $0.name < $1.name }
        if names.map(\.name) != model.map(\.name) || names.map(\.owner) != model.map(\.owner) {
            violation("name tables \(describe(names)) differ from what callers were told \(model.map { "\(text($0.name))→\(describe($0.owner))" })")
        }
        for record in names where !live.contains(where: { $0.id == record.owner }) {
            violation("\(text(record.name)) held by \(describe(record.owner)), which has ended")
        }
        // (A caller on the stopped core is owed nothing: its kill of what it abandoned was
        // dropped as the stale word of a stopped core.)
        for (i, request) in requests.enumerated() where request.core != stoppedCore {
            let id = RequestID(UInt64(i + 1))
            switch (request.kind, request.answers.first) {
            case (.spawn, .failed?):
                for started in startedBy where started.request == id && live.contains(where: { $0.id == started.domain }) {
                    violation("spawn \(i + 1) answered \(request.answers[0]) but \(describe(started.domain)) still runs")
                }
            case (.kill(let domain), .killed?):
                if live.contains(where: { $0.id == domain }) { violation("kill \(i + 1) answered killed but \(describe(domain)) runs") }
            default:
                break
            }
        }
        let dropped = machine.monitors.reduce(0) { $0 + $1.counters.dropped }
        if dropped != garbageInjected {
            violation("\(dropped) slots dropped, \(garbageInjected) garbage injected: \(machine.monitors.map { $0.counters.all.filter { $0.value > 0 } })")
        }
        if !options.faults {
            if timeouts > 0 { violation("\(timeouts) requests timed out with no fault injected") }
            if machine.monitors.contains(where: { $0.counters.lateAnswers + $0.counters.spawnsUndone > 0 }) {
                violation("late answers with no fault injected")
            }
        }
    }
}
