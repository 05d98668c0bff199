// Names: who holds each name, agreed by its home monitor, replicated everywhere.
//
// Every name has a home core, `Name.home(coreCount:)` (FNV-1a of its bytes modulo the
// core count). The home's monitor alone decides who holds the name; every other monitor
// keeps a replica that only the home's broadcasts change. Per name there is then one
// writer, and the home's messages reach each replica in order (one FIFO ring per pair
// of cores), so a quiet system's replicas all equal the homes' records.
//
// Register (domain D on core A asks for name N, home H):
//
//   A → H   registerRequest(ticket, N, D, endpoint)
//   H       decides: first request wins. Refused if N is held (nameTaken) or if D is not
//           in H's domain table (noSuchDomain: D has ended; D's start reached H before
//           the request, both having come from A on one ring).
//   H → all nameAdded(N, D, endpoint, ticket)      (only when granted)
//   H → A   registerGranted(ticket) | registerRefused(ticket, error)
//
//   A applies the broadcast before the grant (same ring), so D's own core finds N as
//   soon as D hears `registered`. When A is H the decision is made at once, with no
//   message to wait for.
//
// Two domains on different cores asking for N at the same moment: both requests go to
// H, H takes them one at a time, the first wins, the second gets nameTaken.
//
// Unregister (D on A gives N up):
//
//   A → H   unregisterRequest(ticket, N, D)
//   H       removes N if D holds it (else noSuchName or notOwner)
//   H → all nameRemoved(N)                          (only when removed)
//   H → A   unregisterAnswer(ticket, error or none)
//
// Lookup is answered at once from the local replica: found (owner, endpoint) or
// noSuchName. A replica can lag its home by the messages in flight.
//
// A domain ends: its core broadcasts domainEnded(D) (see Domains.swift). Every home,
// on that message, removes the names D holds there and broadcasts nameRemoved for each.
// Any registration D sent earlier reached the home before the end did (same ring), so
// no name outlives its domain once the system is quiet.
//
// The home does not answer in time (`requestTimeout`): the caller gets timedOut, and
//   - register: A sends registerCancel(ticket, N) to H. It follows the request on the
//     same ring, so H sees it after deciding: if H granted N to that ticket, H removes N
//     and broadcasts nameRemoved. The name is never left held for a caller told
//     timedOut. Meanwhile (between a late grant and its cancel) another domain may be
//     refused nameTaken.
//   - unregister: nothing is undone; the request is still queued and H removes the name
//     when it gets there.
//   An answer that comes after the timeout is counted (`lateAnswers`) and dropped.
//
// Dropped and counted: a name request or record at or from a core that is not the
// name's home (`notHome`), a request whose owner is not on the sending core
// (`wrongCore`), a removal of a record the replica does not have (`unknownRecords`),
// answers nobody waits for (`strayAnswers`).
import Basics

extension Monitor {
    /// The core whose monitor decides who holds `name`.
    public func home(of name: Name) -> CoreID { name.home(among: members) }

    /// The record for `name` in this replica.
    public func record(for name: Name) -> NameRecord? {
        nameIndex(name).map { names[$0] }
    }

    // MARK: Requests from local domains

    /// `owner` (a domain on this core) asks to hold `name`, reachable through `endpoint`.
    /// Answered `registered`, or `failed` with nameTaken, noSuchDomain, notLocal, busy
    /// or timedOut.
    public mutating func register(_ name: Name, endpoint: EndpointToken, by owner: DomainID, request: RequestID) -> [MonitorEffect] {
        guard owner.core == core else {
            answer(request, .failed(.notLocal))
            return takeEffects()
        }
        guard domainIndex(owner) != nil else {
            answer(request, .failed(.noSuchDomain))
            return takeEffects()
        }
        let home = breakage == .grantWithoutHome ? core : home(of: name)
        if home == core {
            let refusal = homeDecidesRegistration(NameRecord(name: name, owner: owner, endpoint: endpoint))
            answer(request, refusal.map { .failed($0) } ?? .registered)
        } else {
            ask(home, .register(name), for: request) { [.registerRequest($0, name: name, owner: owner, endpoint: endpoint)] }
        }
        return takeEffects()
    }

    /// `owner` (a domain on this core) gives `name` up. Answered `unregistered`, or
    /// `failed` with noSuchName, notOwner, notLocal, busy or timedOut.
    public mutating func unregister(_ name: Name, by owner: DomainID, request: RequestID) -> [MonitorEffect] {
        guard owner.core == core else {
            answer(request, .failed(.notLocal))
            return takeEffects()
        }
        let home = home(of: name)
        if home == core {
            let refusal = homeDecidesUnregistration(name, owner: owner)
            answer(request, refusal.map { .failed($0) } ?? .unregistered)
        } else {
            ask(home, .unregister, for: request) { [.unregisterRequest($0, name: name, owner: owner)] }
        }
        return takeEffects()
    }

    /// Answered at once from this replica: `found`, or `failed(.noSuchName)`. (The same
    /// as `record(for:)`, shaped like the other requests' answers.)
    public func lookup(_ name: Name, request: RequestID) -> [MonitorEffect] {
        guard let record = record(for: name) else { return [.answer(request, .failed(.noSuchName))] }
        return [.answer(request, .found(owner: record.owner, endpoint: record.endpoint))]
    }

    // MARK: The home

    /// The home's decision: nil if `record` is now held (and broadcast).
    mutating func homeDecidesRegistration(_ record: NameRecord) -> MonitorError? {
        guard domainIndex(record.owner) != nil else { return .noSuchDomain }
        let i = nameInsertionIndex(record.name)
        guard i == names.count || names[i].name != record.name else { return .nameTaken }
        names.insert(record, at: i)
        if breakage != .skipNameBroadcast { broadcast(.nameAdded(record)) }
        return nil
    }

    mutating func homeDecidesUnregistration(_ name: Name, owner: DomainID) -> MonitorError? {
        guard let i = nameIndex(name) else { return .noSuchName }
        guard names[i].owner == owner else { return .notOwner }
        removeName(at: i)
        return nil
    }

    /// Removes a name this monitor is home for, and tells every replica.
    mutating func removeName(at i: Int) {
        let name = names.remove(at: i).name
        broadcast(.nameRemoved(name))
    }

    mutating func homeReceivesRegistration(_ ticket: Ticket, name: Name, owner: DomainID, endpoint: EndpointToken, from asker: CoreID) {
        guard home(of: name) == core else { counters.notHome += 1; return }
        // Only a domain's own monitor registers for it; anything else is a broken peer.
        guard owner.core == asker else { counters.wrongCore += 1; return }
        if let refusal = homeDecidesRegistration(NameRecord(name: name, owner: owner, endpoint: endpoint, grant: ticket)) {
            send(.registerRefused(ticket, refusal), to: asker)
        } else {
            send(.registerGranted(ticket), to: asker)
        }
    }

    mutating func homeReceivesCancel(_ ticket: Ticket, name: Name, from asker: CoreID) {
        guard home(of: name) == core else { counters.notHome += 1; return }
        // Only the grant made to this very request is undone: the name may have been
        // refused, or released and won again since.
        guard ticket != .noAnswer, let i = nameIndex(name),
              names[i].owner.core == asker, names[i].grant == ticket else { return }
        removeName(at: i)
    }

    mutating func homeReceivesUnregistration(_ ticket: Ticket, name: Name, owner: DomainID, from asker: CoreID) {
        guard home(of: name) == core else { counters.notHome += 1; return }
        guard owner.core == asker else { counters.wrongCore += 1; return }
        send(.unregisterAnswer(ticket, refusal: homeDecidesUnregistration(name, owner: owner)), to: asker)
    }

    /// Removes the names `domain` holds here as their home (it has ended).
    mutating func homeReleasesNames(of domain: DomainID) {
        var i = 0
        while i < names.count {
            if names[i].owner == domain && home(of: names[i].name) == core { removeName(at: i) } else { i += 1 }
        }
    }

    // MARK: Replicas

    mutating func replicaApplies(added record: NameRecord, from sender: CoreID) {
        guard home(of: record.name) == sender else { counters.notHome += 1; return }
        // Granted before the home heard that the owner's core stopped (StoppedCores.swift).
        guard !stoppedCores.contains(record.owner.core) else { counters.staleAfterStop += 1; return }
        let i = nameInsertionIndex(record.name)
        if i < names.count && names[i].name == record.name {
            // The home removes before it grants again, so a correct home never sends this.
            counters.unknownRecords += 1
            names[i] = record
        } else {
            names.insert(record, at: i)
        }
    }

    mutating func replicaApplies(removed name: Name, from sender: CoreID) {
        guard home(of: name) == sender else { counters.notHome += 1; return }
        guard let i = nameIndex(name) else {
            // A notice may have removed it already: its owner's core stopped.
            if stoppedCores.isEmpty { counters.unknownRecords += 1 } else { counters.staleAfterStop += 1 }
            return
        }
        names.remove(at: i)
    }
}
