// Domains: the replicated domain table, spawning on any core, killing from any core.
//
// Domain table. A domain belongs to the core that runs it, and only that core's monitor
// writes its record:
//
//   guest → C   domainStarted(local, program)  or  spawnSucceeded(spawn, local)
//   C → all     domainStarted(D, program)
//   guest → C   domainEnded(local, how)
//   C → all     domainEnded(D, how)
//
// Each replica applies them in C's order (one FIFO ring from C), so a quiet system's
// tables are all equal. On domainEnded every monitor also releases, as home, the names
// the domain held (NameService.swift).
//
// Spawn (a domain on core A asks for `program arguments` on core C):
//
//   A       refuses at once: noSuchCore if C is not in the system, argumentsTooLong
//           past `MonitorMessage.maximumArgumentBytes`.
//   A → C   spawnRequest(ticket, program, argument length), then the argument line in
//           spawnArguments pieces of up to 48 bytes, back to back.
//   C       emits spawnLocally(spawn id, program, arguments); the guest side builds
//           the domain and reports spawnSucceeded(spawn id, local) or spawnFailed.
//   C → all domainStarted(D, program)                (on success)
//   C → A   spawnStarted(ticket, D) | spawnRefused(ticket, error)
//
//   A hears of D in its table before the answer (same ring). When C is A there are no
//   messages: the answer follows the guest's report.
//
// Kill (a domain on core A asks to stop domain D, which runs on C = D.core):
//
//   A       refuses at once with noSuchCore if C is not in the system.
//   A → C   killRequest(ticket, D)
//   C       emits killLocally(local) if D runs there (noSuchDomain otherwise); the domain's
//           end follows as for any end (domainEnded from the guest, broadcast).
//   C → A   killAnswer(ticket, error or none)
//
// A kill is decided by C's table, not A's replica (which may not yet know of D).
//
// C does not answer in time: the caller gets timedOut, and
//   - spawn: A remembers the ticket (up to `maximumAbandoned` of them). If C's
//     spawnStarted comes after all, A sends killRequest(Ticket.noAnswer, D) to C, so no
//     domain outlives a spawn its caller was told failed (`spawnsUndone` counts them).
//   - kill: nothing is undone; the request still reaches C and D is stopped.
//
// Dropped and counted: a domain message from a core that does not run the domain, or a
// kill for a domain not on this core (`wrongCore`); a start of a domain the replica has,
// an end of one it does not (`unknownRecords`); argument pieces with no request, past
// the announced length, or a new request before the last one's pieces all came
// (`badSpawnPieces`); guest reports for unknown spawns or domains (`unknownLocalReports`).
import ABI
import Basics

extension Monitor {
    /// The record of `domain` in this replica.
    public func record(for domain: DomainID) -> DomainRecord? {
        domainIndex(domain).map { domains[$0] }
    }

    // MARK: Requests from local domains

    /// Starts `program` with `arguments` on core `target`. Answered `spawned` with the
    /// new domain's id, or `failed` with noSuchCore, argumentsTooLong, busy, timedOut or
    /// what the target's guest side reported (noSuchProgram, outOfResources…).
    public mutating func spawn(_ program: Name, arguments: [UInt8], on target: CoreID, request: RequestID) -> [MonitorEffect] {
        if !isValidCore(target) {
            answer(request, .failed(.noSuchCore))
        } else if arguments.count > MonitorMessage.maximumArgumentBytes {
            answer(request, .failed(.argumentsTooLong))
        } else if target == core {
            startSpawn(program, arguments: arguments, for: .local(request))
        } else {
            ask(target, .spawn, for: request) { MonitorMessage.spawnMessages($0, program: program, arguments: arguments) }
        }
        return takeEffects()
    }

    /// Stops `domain`, on whichever core it runs. Answered `killed` once its core has
    /// told its guest side to stop it, or `failed` with noSuchCore, noSuchDomain, busy
    /// or timedOut.
    public mutating func kill(_ domain: DomainID, request: RequestID) -> [MonitorEffect] {
        if !isValidCore(domain.core) {
            answer(request, .failed(.noSuchCore))
        } else if domain.core == core {
            answer(request, killHere(domain).map { .failed($0) } ?? .killed)
        } else {
            ask(domain.core, .kill, for: request) { [.killRequest($0, domain)] }
        }
        return takeEffects()
    }

    // MARK: Reports from the guest side

    /// A domain started on this core that no spawn request asked for (one the boot
    /// image starts, say).
    public mutating func domainStarted(_ local: LocalDomainNumber, program: Name) -> [MonitorEffect] {
        addLocalDomain(local, program: program)
        return takeEffects()
    }

    /// The domain of spawn `spawn` runs, as `local`.
    public mutating func spawnSucceeded(_ spawn: SpawnID, local: LocalDomainNumber) -> [MonitorEffect] {
        guard let i = spawning.firstIndex(where: { $0.id == spawn }) else {
            counters.unknownLocalReports += 1
            return []
        }
        let started = spawning.remove(at: i)
        let domain = addLocalDomain(local, program: started.program)
        switch started.origin {
        case .local(let request): answer(request, .spawned(domain))
        case .remote(let asker, let ticket): send(.spawnStarted(ticket, domain), to: asker)
        }
        return takeEffects()
    }

    /// The domain of spawn `spawn` could not be built, because of `error`.
    public mutating func spawnFailed(_ spawn: SpawnID, error: MonitorError) -> [MonitorEffect] {
        guard let i = spawning.firstIndex(where: { $0.id == spawn }) else {
            counters.unknownLocalReports += 1
            return []
        }
        switch spawning.remove(at: i).origin {
        case .local(let request): answer(request, .failed(error))
        case .remote(let asker, let ticket): send(.spawnRefused(ticket, error), to: asker)
        }
        return takeEffects()
    }

    /// This core's domain `local` has ended (exited, faulted or killed) as `end` says.
    public mutating func domainEnded(_ local: LocalDomainNumber, how end: DomainEnd) -> [MonitorEffect] {
        let domain = DomainID(core: core, local: local)
        guard let i = domainIndex(domain) else {
            counters.unknownLocalReports += 1
            return []
        }
        domains.remove(at: i)
        remember(domain, ended: end)
        broadcast(.domainEnded(domain, end))
        homeReleasesNames(of: domain)
        spansEnd(local)
        return takeEffects()
    }

    /// How `domain` ended, if it is among the recent ends.
    public func end(of domain: DomainID) -> DomainEnd? {
        recentEnds.last { $0.domain == domain }?.end
    }

    mutating func remember(_ domain: DomainID, ended end: DomainEnd) {
        if recentEnds.count == Self.recentEndsKept { recentEnds.removeFirst() }
        recentEnds.append((domain, end))
    }

    // MARK: This core's domains

    @discardableResult
    mutating func addLocalDomain(_ local: LocalDomainNumber, program: Name) -> DomainID {
        let record = DomainRecord(id: DomainID(core: core, local: local), program: program)
        let i = domainInsertionIndex(record.id)
        if i < domains.count && domains[i].id == record.id {
            // The guest reused a number that is still running: keep the newer record.
            counters.unknownLocalReports += 1
            domains[i] = record
        } else {
            domains.insert(record, at: i)
        }
        broadcast(.domainStarted(record))
        return record.id
    }

    mutating func startSpawn(_ program: Name, arguments: [UInt8], for origin: LocalSpawn.Origin) {
        let id = nextSpawn
        nextSpawn = SpawnID(nextSpawn.rawValue &+ 1)
        spawning.append(LocalSpawn(id: id, program: program, origin: origin))
        effects.append(.spawnLocally(id, program: program, arguments: arguments))
    }

    /// Nil once `domain` (on this core) has been told to stop.
    mutating func killHere(_ domain: DomainID) -> MonitorError? {
        guard domainIndex(domain) != nil else { return .noSuchDomain }
        effects.append(.killLocally(domain.local))
        return nil
    }

    // MARK: Messages

    mutating func replicaApplies(started record: DomainRecord, from sender: CoreID) {
        guard record.id.core == sender else { counters.wrongCore += 1; return }
        let i = domainInsertionIndex(record.id)
        if i < domains.count && domains[i].id == record.id {
            counters.unknownRecords += 1
            domains[i] = record
        } else {
            domains.insert(record, at: i)
        }
    }

    mutating func replicaApplies(ended domain: DomainID, how end: DomainEnd, from sender: CoreID) {
        guard domain.core == sender else { counters.wrongCore += 1; return }
        guard let i = domainIndex(domain) else { counters.unknownRecords += 1; return }
        domains.remove(at: i)
        remember(domain, ended: end)
        homeReleasesNames(of: domain)
    }

    mutating func targetReceivesSpawn(_ ticket: Ticket, program: Name, argumentBytes: Int, from asker: CoreID) {
        if let i = assemblies.firstIndex(where: { $0.asker == asker }) {
            // The previous request's pieces stopped short: it is broken; its asker times out.
            assemblies.remove(at: i)
            counters.badSpawnPieces += 1
        }
        if argumentBytes == 0 {
            startSpawn(program, arguments: [], for: .remote(asker, ticket))
        } else {
            assemblies.append(SpawnAssembly(asker: asker, ticket: ticket, program: program, expected: argumentBytes, arguments: []))
        }
    }

    mutating func targetReceivesArguments(_ ticket: Ticket, bytes: [UInt8], from asker: CoreID) {
        guard let i = assemblies.firstIndex(where: { $0.asker == asker && $0.ticket == ticket }) else {
            counters.badSpawnPieces += 1
            return
        }
        assemblies[i].arguments += bytes
        let assembly = assemblies[i]
        if assembly.arguments.count > assembly.expected {
            assemblies.remove(at: i)
            counters.badSpawnPieces += 1
        } else if assembly.arguments.count == assembly.expected {
            assemblies.remove(at: i)
            startSpawn(assembly.program, arguments: assembly.arguments, for: .remote(asker, ticket))
        }
    }

    mutating func askerReceivesSpawnStarted(_ ticket: Ticket, domain: DomainID, from target: CoreID) {
        if let request = takePendingSpawn(ticket, from: target) {
            answer(request.request, .spawned(domain))
        } else if let i = abandonedSpawns.firstIndex(where: { $0.ticket == ticket && $0.target == target }) {
            abandonedSpawns.remove(at: i)
            guard domain.core == target else { counters.wrongCore += 1; return }
            // The caller was told timedOut: the domain must not stay.
            send(.killRequest(.noAnswer, domain), to: target)
            counters.spawnsUndone += 1
        } else {
            countUnmatchedAnswer(ticket)
        }
    }

    mutating func askerReceivesSpawnRefused(_ ticket: Ticket, error: MonitorError, from target: CoreID) {
        if let request = takePendingSpawn(ticket, from: target) {
            answer(request.request, .failed(error))
        } else if let i = abandonedSpawns.firstIndex(where: { $0.ticket == ticket && $0.target == target }) {
            abandonedSpawns.remove(at: i)   // nothing started, nothing to undo
        } else {
            countUnmatchedAnswer(ticket)
        }
    }

    /// Like `takePending`, without counting a miss (the abandoned list may still match).
    mutating func takePendingSpawn(_ ticket: Ticket, from target: CoreID) -> PendingRequest? {
        guard let i = pending.firstIndex(where: { $0.ticket == ticket && $0.peer == target }), isSpawn(pending[i].kind) else { return nil }
        return pending.remove(at: i)
    }

    mutating func targetReceivesKill(_ ticket: Ticket, domain: DomainID, from asker: CoreID) {
        guard domain.core == core else { counters.wrongCore += 1; return }
        let refusal = killHere(domain)
        if ticket != .noAnswer { send(.killAnswer(ticket, refusal: refusal), to: asker) }
    }
}
