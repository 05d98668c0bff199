// Copy, delete with its move of ownership, and retype: where a request starts, how the
// owner runs it under the object's lock, and what the other cores do with its messages.
// docs/capabilities.md draws each as a state machine.
import Basics

extension CapabilityMonitor {
    // MARK: Starting a request

    /// A local domain's request on `record`: run here if this core owns the object, else
    /// sent to the owner (a delete of a copy that is not the owner's is local).
    mutating func startLocal(_ operation: Operation, record: RecordID, request: CapabilityRequestID?) {
        let requester = Requester.local(request, record: record)
        guard let r = database.record(record) else { return answer(requester, .noSuchCapability) }
        let object = r.object
        if case .delete = operation {
            return deleteLocally(record, object, requester)
        }
        if isDoomed(object) && !(breakage == .revokeWithoutLock && find(object).map { objects[$0].owner == core } == true) {
            return answer(requester, .revoked)
        }
        guard let i = find(object) else {
            // A record the protocols never heard of (the kernel's own boot capabilities):
            // this core owns it from now on.
            let i = entry(object, owner: core, epoch: .first)
            return ownerRuns(operation, at: i, requester)
        }
        if objects[i].owner == core { return ownerRuns(operation, at: i, requester) }
        if case .retype(let count, _) = operation, breakage == .retypeWithoutOwner {
            return retypeHere(record, count: count, requester)
        }
        guard outgoing.count < configuration.maximumPending else { return answer(requester, .busy) }
        let ticket = issueTicket()
        outgoing.append(OutgoingRequest(ticket: ticket, request: request, record: record, object: object,
                                        operation: operation, peer: objects[i].owner, askedAt: objects[i].epoch))
        sendRequest(outgoing[outgoing.count - 1])
    }

    mutating func sendRequest(_ request: OutgoingRequest) {
        switch request.operation {
        case .copy(let to, let domain): send(.copyRequest(request.ticket, request.object, to: to, domain: domain), to: request.peer)
        case .retype(let count, _): send(.retypeRequest(request.ticket, request.object, count: count), to: request.peer)
        case .revoke(_, let keep): send(.revokeRequest(request.ticket, request.object, keep: keep), to: request.peer)
        case .delete: break
        }
    }

    /// A request from core `sender` about `object`, which it believes this core owns.
    mutating func ownerReceives(_ operation: Operation, _ object: CapabilityObject, from sender: CoreID, ticket: CapabilityTicket) {
        guard let i = find(object), objects[i].owner == core else {
            counters.notOwner += 1
            return send(.requestAnswer(ticket, .notOwner, epoch: nil), to: sender)
        }
        ownerRuns(operation, at: i, .remote(sender, ticket))
    }

    /// The owner takes `operation` now, or queues it behind the object's lock.
    mutating func ownerRuns(_ operation: Operation, at i: Int, _ requester: Requester) {
        if objects[i].lock != nil || !objects[i].queue.isEmpty {
            // A delete of a copy that is not the owner's last needs no lock.
            if case .delete(let record) = operation, database.copies(of: objects[i].object).count > 1 {
                database.remove(record)
                return answer(requester, .done)
            }
            objects[i].queue.append(QueuedOperation(requester: requester, operation: operation))
            return
        }
        execute(operation, at: i, requester)
    }

    /// Runs `operation` at the owner, whose object is unlocked.
    mutating func execute(_ operation: Operation, at i: Int, _ requester: Requester) {
        let object = objects[i].object
        if case .local(_, let record) = requester, database.record(record)?.object != object {
            // The record went while the request waited (its domain ended, a revoke).
            return answer(requester, .noSuchCapability)
        }
        if case .remote(let peer, _) = requester, !objects[i].copies.contains(peer) {
            // The asker's copy went in a revoke (or never was): nothing to act for.
            return answer(requester, .revoked)
        }
        if isDoomed(object) && breakage != .revokeWithoutLock {
            // A delete of a marked copy just goes; anything else would act on it.
            if case .delete(let record) = operation {
                database.remove(record)
                return answer(requester, .done)
            }
            return answer(requester, .revoked)
        }
        switch operation {
        case .copy(let target, let domain):
            if target == core {
                // Another core copies to a domain here: the owner installs it itself.
                return answer(requester, database.install(object, for: domain) == nil ? .noRoom : .done)
            }
            if breakage != .forgetRemoteCopy { objects[i].copies.insert(target) }
            let ticket = issueTicket()
            objects[i].lock = .copy(ticket, target: target, requester)
            send(.copyDeliver(ticket, object, epoch: objects[i].epoch, domain: domain), to: target)
        case .retype(let count, let record):
            if hasDescendants(at: i) { return answer(requester, .hasDescendants) }
            if let record { return retypeHere(record, count: count, requester) }
            guard case .remote(let peer, let ticket) = requester else { return }
            objects[i].lock = .retype(ticket, core: peer, previous: objects[i].descendants)
            objects[i].descendants.insert(peer)
            send(.requestAnswer(ticket, .done, epoch: nil), to: peer)
        case .revoke(let keepCore, let keep):
            startRevoke(at: i, keepCore: keepCore, keep: keep, requester)
        case .delete(let record):
            guard database.record(record) != nil else { return answer(requester, .noSuchCapability) }
            deleteAtOwner(record, at: i, requester)
        }
    }

    func hasDescendants(at i: Int) -> Bool {
        let object = objects[i].object
        return !objects[i].descendants.isEmpty || database.records(coveredBy: object).contains { $0.object != object }
    }

    /// Makes the frames of a retype of `record` here, for its domain; all or none.
    mutating func retypeHere(_ record: RecordID, count: Int, _ requester: Requester) {
        guard let r = database.record(record), let pieces = r.object.retyped(into: count) else {
            return answer(requester, .noSuchCapability)
        }
        var made: [RecordID] = []
        for piece in pieces {
            guard let id = database.install(piece, for: r.holder) else {
                for id in made { database.remove(id) }
                return answer(requester, .noRoom)
            }
            made.append(id)
        }
        for piece in pieces {
            let j = entry(piece, owner: core, epoch: .first)
            objects[j] = KnownObject(object: piece, owner: core, epoch: .first)
        }
        if let i = find(r.object), objects[i].owner == core { objects[i].descendants.insert(core) }
        answer(requester, .done)
    }

    // MARK: Delete and move

    /// A local delete: a copy that is not the owner's goes at once (the owner hears when
    /// the last one here goes); the owner's last copy waits for the lock and then moves.
    mutating func deleteLocally(_ record: RecordID, _ object: CapabilityObject, _ requester: Requester) {
        guard let i = find(object), objects[i].owner == core else {
            database.remove(record)
            if !database.holds(object), let i = find(object) {
                // The entry itself goes when the call ends (`forgetUnused`).
                send(.copyDeleted(object), to: objects[i].owner)
            }
            return answer(requester, .done)
        }
        ownerRuns(.delete(record), at: i, requester)
    }

    mutating func deleteAtOwner(_ record: RecordID, at i: Int, _ requester: Requester) {
        let object = objects[i].object
        if database.copies(of: object).count > 1 || isDoomed(object) {
            database.remove(record)
            return answer(requester, .done)
        }
        guard let candidate = objects[i].copies.first else {
            // The last copy anywhere: the object is freed.
            database.remove(record)
            let queue = objects.remove(at: i).queue
            answer(requester, .done)
            for queued in queue { answerAfterFree(queued) }
            return
        }
        // The copy goes now, so nothing can use it while ownership travels; the entry
        // stays, locked, until the move is answered.
        database.remove(record)
        let ticket = issueTicket()
        let remaining = objects[i].copies.removing(candidate)
        objects[i].lock = .move(ticket, candidate: candidate, remaining: remaining, epoch: objects[i].epoch.next, requester)
        send(.moveOwnership(ticket, object, copies: remaining, descendants: objects[i].descendants, epoch: objects[i].epoch.next), to: candidate)
    }

    /// The old owner's answer to a move.
    mutating func moveAnswered(_ ticket: CapabilityTicket, accepted: Bool, from sender: CoreID) {
        guard let i = lockAwaiting(.moveAnswer, ticket, from: sender), case .move(_, _, let remaining, let epoch, let requester)? = objects[i].lock else {
            counters.refused += 1
            return
        }
        let object = objects[i].object
        if accepted {
            answer(requester, .done)
            objects[i].lock = nil
            if objects[i].epoch >= epoch {
                // Newer news came meanwhile (a copy from a later owner, or ownership
                // back): the entry already says where the object is.
                if objects[i].owner == core { return }
            } else {
                objects[i].owner = sender
                objects[i].epoch = epoch
            }
            objects[i].copies = .none
            objects[i].descendants = .none
            let queue = objects[i].queue
            objects[i].queue = []
            // Whatever waited here must ask the new owner.
            for queued in queue { answerAfterOwnershipLeft(queued) }
            return
        }
        objects[i].copies.remove(sender)
        if let next = remaining.first {
            let ticket = issueTicket()
            objects[i].lock = .move(ticket, candidate: next, remaining: remaining.removing(next), epoch: epoch, requester)
            send(.moveOwnership(ticket, object, copies: remaining.removing(next), descendants: objects[i].descendants,
                                epoch: epoch), to: next)
            return
        }
        // No other core holds a copy after all: the last copy anywhere has gone.
        let queue = objects.remove(at: i).queue
        answer(requester, .done)
        for queued in queue { answerAfterFree(queued) }
    }

    /// What waited on an object that is gone: no record of it is left anywhere.
    mutating func answerAfterFree(_ queued: QueuedOperation) {
        switch queued.requester {
        case .remote: answer(queued.requester, .revoked)
        case .local: answer(queued.requester, .noSuchCapability)
        }
    }

    mutating func answerAfterOwnershipLeft(_ queued: QueuedOperation) {
        switch queued.requester {
        case .remote:
            counters.notOwner += 1
            answer(queued.requester, .notOwner)
        case .local:
            // The request's record was this core's last copy, which has gone.
            answer(queued.requester, .noSuchCapability)
        }
    }

    /// A move: take ownership if this core holds a copy.
    mutating func receiveOwnership(_ ticket: CapabilityTicket, _ object: CapabilityObject, copies: CoreMask, descendants: CoreMask,
                                   epoch: OwnershipEpoch, from sender: CoreID) {
        if let i = find(object), (objects[i].owner == core && !isMovingAway(i)) || objects[i].epoch >= epoch {
            counters.refused += 1
            return
        }
        guard database.holds(object), let i = find(object) else {
            return send(.moveAnswer(ticket, accepted: false), to: sender)
        }
        objects[i].owner = core
        objects[i].epoch = epoch
        objects[i].copies = copies.removing(core)
        objects[i].descendants = descendants
        if breakage != .silentMove {
            for holder in objects[i].copies.cores { send(.ownerChanged(object, epoch: epoch), to: holder) }
        }
        send(.moveAnswer(ticket, accepted: true), to: sender)
    }

    mutating func ownerChanged(_ object: CapabilityObject, epoch: OwnershipEpoch, from sender: CoreID) {
        guard let i = find(object), objects[i].epoch < epoch, objects[i].owner != core || isMovingAway(i) else {
            counters.stale += 1
            return
        }
        objects[i].owner = sender
        objects[i].epoch = epoch
    }

    // MARK: Copy

    /// The owner delivers a copy for `domain` here.
    mutating func receiveCopy(_ ticket: CapabilityTicket, _ object: CapabilityObject, epoch: OwnershipEpoch, domain: UInt32, from sender: CoreID) {
        if let i = find(object), (objects[i].owner == core && !isMovingAway(i)) || (objects[i].owner != sender && objects[i].epoch >= epoch) {
            // This core owns it, or knows a newer owner than the sender claims to be.
            counters.refused += 1
            return
        }
        guard database.install(object, for: domain) != nil else {
            return send(.copyInstalled(ticket, .noRoom), to: sender)
        }
        let i = entry(object, owner: sender, epoch: epoch)
        if objects[i].epoch <= epoch {
            objects[i].owner = sender
            objects[i].epoch = epoch
        }
        send(.copyInstalled(ticket, .done), to: sender)
    }

    mutating func copyInstalled(_ ticket: CapabilityTicket, _ status: CapabilityStatus, from sender: CoreID) {
        guard let i = lockAwaiting(.copyInstalled, ticket, from: sender), case .copy(_, _, let requester)? = objects[i].lock else {
            counters.refused += 1
            return
        }
        objects[i].lock = nil
        answer(requester, status == .done ? .done : .noRoom)
    }

    mutating func copyDeleted(_ object: CapabilityObject, from sender: CoreID) {
        guard let i = find(object), objects[i].owner == core else {
            counters.stale += 1
            return
        }
        // A copy on its way there is not counted by this notice, which the sender sent
        // before the copy arrived (the ring from it is FIFO and its answer is not in yet).
        if case .copy(_, sender, _)? = objects[i].lock { return }
        objects[i].copies.remove(sender)
    }

    // MARK: Retype

    mutating func retypeDone(_ ticket: CapabilityTicket, _ status: CapabilityStatus, from sender: CoreID) {
        guard let i = lockAwaiting(.retypeDone, ticket, from: sender), case .retype(_, _, let previous)? = objects[i].lock else {
            counters.refused += 1
            return
        }
        objects[i].lock = nil
        if status != .done { objects[i].descendants = previous }
    }

    // MARK: Answers to this core's requests

    mutating func requestAnswered(_ ticket: CapabilityTicket, _ status: CapabilityStatus, epoch: OwnershipEpoch?, from sender: CoreID) {
        guard let k = outgoing.firstIndex(where: { $0.ticket == ticket && $0.peer == sender && !$0.parked }) else {
            counters.refused += 1
            return
        }
        if status == .notOwner {
            outgoing[k].parked = true
            return
        }
        let request = outgoing.remove(at: k)
        let requester = Requester.local(request.request, record: request.record)
        switch request.operation {
        case .retype(let count, _) where status == .done:
            // Granted: the owner holds the lock until this core says it is done.
            let had = database.record(request.record) != nil
            if had { retypeHere(request.record, count: count, requester) } else { answer(requester, .noSuchCapability) }
            send(.retypeDone(ticket, had ? .done : .noSuchCapability), to: sender)
        case .revoke:
            if let epoch, status == .done {
                // The revoke left this core the only copy: it owns the object now.
                let i = entry(request.object, owner: core, epoch: epoch)
                objects[i] = KnownObject(object: request.object, owner: core, epoch: epoch)
            }
            answer(requester, status)
        default:
            answer(requester, status)
        }
    }

    // MARK: Progress

    /// Moves on whatever the last input unblocked: revokes whose answers are all in,
    /// parked requests whose owner has changed, queues behind released locks.
    mutating func progress() {
        var changed = true
        var rounds = 0
        while changed && rounds < 1_000 {
            changed = false
            rounds += 1
            if advanceRevokes() { changed = true }
            if retryParked() { changed = true }
            if runQueues() { changed = true }
        }
        forgetUnused()
    }

    mutating func retryParked() -> Bool {
        var changed = false
        var k = 0
        while k < outgoing.count {
            guard outgoing[k].parked else { k += 1; continue }
            let request = outgoing[k]
            guard let record = database.record(request.record), record.object == request.object else {
                outgoing.remove(at: k)
                answer(.local(request.request, record: request.record), .revoked)
                changed = true
                continue
            }
            guard let i = find(request.object) else { k += 1; continue }
            if objects[i].owner == core {
                outgoing.remove(at: k)
                ownerRuns(request.operation, at: i, .local(request.request, record: request.record))
                changed = true
                continue
            }
            if objects[i].epoch > request.askedAt {
                outgoing[k].parked = false
                outgoing[k].peer = objects[i].owner
                outgoing[k].askedAt = objects[i].epoch
                sendRequest(outgoing[k])
                changed = true
            }
            k += 1
        }
        return changed
    }

    mutating func runQueues() -> Bool {
        var changed = false
        var i = 0
        while i < objects.count {
            if objects[i].lock == nil && !objects[i].queue.isEmpty && objects[i].owner == core {
                let next = objects[i].queue.removeFirst()
                let object = objects[i].object
                execute(next.operation, at: i, next.requester)
                changed = true
                // The operation may have freed or moved the object.
                guard let j = find(object) else { continue }
                i = j
                continue
            }
            i += 1
        }
        return changed
    }
}
