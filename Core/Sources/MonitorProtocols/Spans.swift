// Spanning: one domain with a dispatcher on several cores, in one address space
// (docs/spanning.md). The domain's home core (where it was spawned) keeps its page
// tables; a span adds a dispatcher on another core C that runs in those tables, built
// by C's kernel from C's memory. The memory the home's kernel must not free while C may
// still run the dispatcher (the PML4, the tables below it, the dispatcher's frame) is
// held by the home kernel until every core that may run it says it stopped: that
// hand-over is the protocol.
//
//   span (domain D on home H asks for a dispatcher on C):
//   H        the guest side asks its kernel for D's place (PML4 and the dispatcher
//            frame D prepared); from then on H's kernel holds D's memory at D's end
//            until the monitor releases it (`releaseSpanned`).
//   H → C    spanRequest(ticket, D, place)
//   C        emits spanLocally; the guest side has its kernel build the dispatcher and
//            reports spanSucceeded(span, local) or spanFailed.
//   C → H    spanStarted(ticket, the dispatcher's id) | spanRefused(ticket, error)
//
//   end (D ends on H):
//   H → C    unspanRequest(D), to every core that may run a dispatcher of D: those
//            that started one and those whose answer never came.
//   C        stops D's dispatchers here (killLocally; one still being built is stopped
//            once built), and once the guest side reported each one's end:
//   C → H    unspanDone(D)
//   H        once every such core answered: releaseSpanned(D), and H's kernel frees
//            D's memory.
//
// What a silent core costs: a span that times out leaves C in D's set (its dispatcher
// may start late), so D's end waits for C's answer too. A core that never answers
// keeps D's memory held for good (counted in `spansHeld`); freeing it could let C run
// on memory that is something else by then.
import Basics

/// Where a new dispatcher of a spanned domain runs: the physical address of the
/// domain's PML4, and the page its library prepared as the dispatcher's frame
/// (physical, and where the domain sees it). The home's kernel read both from the
/// domain's own tables; the receiving kernel checks them again.
public struct SpanPlace: Equatable, Sendable {
    public let root: UInt64
    public let frame: UInt64
    public let frameAddress: UInt64

    /// Nil unless all three are page-aligned and nonzero, the physical ones below 2⁵²
    /// and the address in the lower half.
    public init?(root: UInt64, frame: UInt64, frameAddress: UInt64) {
        for physical in [root, frame] where physical == 0 || physical & 0xFFF != 0 || physical >> 52 != 0 { return nil }
        guard frameAddress != 0, frameAddress & 0xFFF == 0, frameAddress >> 47 == 0 else { return nil }
        (self.root, self.frame, self.frameAddress) = (root, frame, frameAddress)
    }
}

/// A spanned domain of this core and the other cores that may run a dispatcher of it.
struct SpanHome: Sendable {
    var domain: LocalDomainNumber
    var cores: [CoreID]
}

/// A dispatcher that runs here for a domain of another core.
struct SpanGuest: Sendable {
    var home: DomainID
    var local: LocalDomainNumber
}

/// A span handed to the guest side, and whom to tell how it went.
struct LocalSpan: Sendable {
    var id: SpawnID
    var home: DomainID
    var asker: CoreID
    var ticket: Ticket
}

extension Monitor {
    // MARK: Requests from local domains

    /// This core's domain `domain` asks for a dispatcher on core `target` at `place`
    /// (which the guest side got from its kernel). Answered `spawned` with the new
    /// dispatcher's id, or `failed` with noSuchCore (this core, or one not in the
    /// system), noSuchDomain, alreadySpanned (it has one there), busy, timedOut or what the target reported.
    public mutating func span(_ domain: LocalDomainNumber, at place: SpanPlace, on target: CoreID,
                              request: RequestID) -> [MonitorEffect] {
        let id = DomainID(core: core, local: domain)
        if !isValidCore(target) || target == core || hasStopped(target) {
            answer(request, .failed(.noSuchCore))
        } else if domainIndex(id) == nil {
            answer(request, .failed(.noSuchDomain))
        } else if spanHomes.contains(where: { $0.domain == domain && $0.cores.contains(target) }) {
            answer(request, .failed(.alreadySpanned))
        } else {
            guard pending.count < configuration.maximumPending else {
                answer(request, .failed(.busy))
                return takeEffects()
            }
            // In the set before the request leaves: from here on the domain's end must ask
            // this core, whatever happens to the answer.
            if let i = spanHomes.firstIndex(where: { $0.domain == domain }) {
                spanHomes[i].cores.append(target)
            } else {
                spanHomes.append(SpanHome(domain: domain, cores: [target]))
            }
            ask(target, .span(domain), for: request) { [.spanRequest($0, domain: id, place: place)] }
        }
        return takeEffects()
    }

    // MARK: Reports from the guest side

    /// The dispatcher of span `span` runs here, as `local`.
    public mutating func spanSucceeded(_ span: SpawnID, local: LocalDomainNumber) -> [MonitorEffect] {
        guard let started = takeStartingSpan(span) else { return [] }
        let program = record(for: started.home)?.program ?? Name([UInt8]("span".utf8))!
        let dispatcher = addLocalDomain(local, program: program)
        spanGuests.append(SpanGuest(home: started.home, local: local))
        send(.spanStarted(started.ticket, dispatcher), to: started.asker)
        // Its domain ended while it was being built, or its home stopped: stop it at once.
        if unspansAnswering.contains(started.home) || hasStopped(started.home.core) { effects.append(.killLocally(local)) }
        return takeEffects()
    }

    /// The dispatcher of span `span` could not be built, because of `error`.
    public mutating func spanFailed(_ span: SpawnID, error: MonitorError) -> [MonitorEffect] {
        guard let failed = takeStartingSpan(span) else { return [] }
        send(.spanRefused(failed.ticket, error), to: failed.asker)
        answerUnspanIfDone(failed.home)
        return takeEffects()
    }

    /// The span `span` handed to the guest side, no longer starting; nil (counted) if the
    /// guest side reports one that is not.
    mutating func takeStartingSpan(_ span: SpawnID) -> LocalSpan? {
        guard let i = spansStarting.firstIndex(where: { $0.id == span }) else {
            counters.unknownLocalReports += 1
            return nil
        }
        return spansStarting.remove(at: i)
    }

    /// A domain of this core ended (from `domainEnded`): if it spanned, ask every core
    /// that may run a dispatcher of it to stop that; if it was a dispatcher for another
    /// core's domain, forget it.
    mutating func spansEnd(_ local: LocalDomainNumber) {
        if let i = spanGuests.firstIndex(where: { $0.local == local }) {
            let home = spanGuests.remove(at: i).home
            answerUnspanIfDone(home)
        }
        guard let i = spanHomes.firstIndex(where: { $0.domain == local }) else { return }
        let home = spanHomes.remove(at: i)
        let id = DomainID(core: core, local: local)
        for other in home.cores { send(.unspanRequest(id), to: other) }
        if home.cores.isEmpty { effects.append(.releaseSpanned(local)) } else { unspanning.append(home) }
    }

    /// The other cores that may run a dispatcher of this core's domain `local`: those the
    /// home kernel's shootdowns reach, as it learned them from `spanPlace`.
    public func spanCores(of local: LocalDomainNumber) -> [CoreID] {
        spanHomes.first { $0.domain == local }?.cores ?? []
    }

    /// Ended spanned domains of this core whose memory stays held, waiting on cores that
    /// have not answered.
    public var spansHeld: Int { unspanning.count }

    // MARK: Messages

    mutating func targetReceivesSpan(_ ticket: Ticket, domain: DomainID, place: SpanPlace, from sender: CoreID) {
        guard domain.core == sender else { counters.wrongCore += 1; return }
        let id = nextSpawn
        nextSpawn = SpawnID(nextSpawn.rawValue &+ 1)
        spansStarting.append(LocalSpan(id: id, home: domain, asker: sender, ticket: ticket))
        effects.append(.spanLocally(id, home: domain, place: place))
    }

    mutating func askerReceivesSpanAnswer(_ ticket: Ticket, _ result: MonitorAnswer, from sender: CoreID) {
        guard let request = takePending(ticket, from: sender, isSpan) else { return }
        if case .failed = result, case .span(let domain) = request.kind,
           let i = spanHomes.firstIndex(where: { $0.domain == domain }) {
            // Refused: that core runs nothing of the domain.
            spanHomes[i].cores.removeAll { $0 == sender }
        }
        answer(request.request, result)
    }

    mutating func targetReceivesUnspan(_ domain: DomainID, from sender: CoreID) {
        guard domain.core == sender else { counters.wrongCore += 1; return }
        for guest in spanGuests where guest.home == domain { effects.append(.killLocally(guest.local)) }
        // A span of it still being built here is stopped once built (spanSucceeded).
        unspansAnswering.append(domain)
        answerUnspanIfDone(domain)
    }

    /// Answers the unspan of `domain` once none of its dispatchers runs or is being
    /// built here: the guest side reported each one's end (`domainEnded`).
    mutating func answerUnspanIfDone(_ domain: DomainID) {
        guard unspansAnswering.contains(domain), !spanGuests.contains(where: { $0.home == domain }),
              !spansStarting.contains(where: { $0.home == domain }) else { return }
        unspansAnswering.removeAll { $0 == domain }
        send(.unspanDone(domain), to: domain.core)
    }

    mutating func homeReceivesUnspanDone(_ domain: DomainID, from sender: CoreID) {
        guard domain.core == core, let i = unspanning.firstIndex(where: { $0.domain == domain.local }),
              unspanning[i].cores.contains(sender) else {
            counters.strayAnswers += 1
            return
        }
        unspanning[i].cores.removeAll { $0 == sender }
        if unspanning[i].cores.isEmpty {
            effects.append(.releaseSpanned(domain.local))
            unspanning.remove(at: i)
        }
    }

    func isSpan(_ kind: PendingRequest.Kind) -> Bool { if case .span = kind { return true } else { return false } }
}
