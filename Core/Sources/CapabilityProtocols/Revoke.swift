// Revoke, in two phases over the route's tree. The owner (root), holding the object's
// lock, sends `revokeMark` to its children; each core forwards it to its own children,
// and from then on refuses new operations on every record the object covers. A core
// answers `revokeReady` to its parent once all its children have, and once nothing it
// owns under the object has an operation in flight (a copy being delivered, a move
// being accepted): so when the root has every ready, no message of any operation on
// those objects is still travelling. The root then deletes its own records and sends
// `revokeCommit` the same way; each core deletes every covered record (their mappings
// with them) but the one the revoke keeps, and answers `revokeDone` once its children
// have. When the root has every done, nothing the revoke covers exists anywhere; it
// clears the object's copy and descendant sets, unlocks, and answers.
//
// Which cores take part: those the owner knows hold copies, and, if the object was
// ever retyped, every core, since frames may have been copied or moved anywhere
// without the RAM's owner hearing of it.
import Basics

struct RevokeRun: Hashable {
    var root: CoreID
    var ticket: CapabilityTicket
    var object: CapabilityObject
    var targets: CoreMask
    /// Nil at the root.
    var parent: CoreID?
    var children: [CoreID]
    var committing = false
    /// Children yet to answer the current phase.
    var waiting: CoreMask
    /// Below the root: `revokeReady` has gone up.
    var readySent = false
    var keepCore: CoreID? = nil
    var keep = RecordID(0)
    /// The root's caller.
    var requester = Requester.local(nil, record: RecordID(0))

    init(root: CoreID, ticket: CapabilityTicket, object: CapabilityObject, targets: CoreMask, parent: CoreID?, children: [CoreID]) {
        self.root = root
        self.ticket = ticket
        self.object = object
        self.targets = targets
        self.parent = parent
        self.children = children
        var waiting = CoreMask.none
        for child in children { waiting.insert(child) }
        self.waiting = waiting
    }
}

extension CapabilityMonitor {
    mutating func startRevoke(at i: Int, keepCore: CoreID, keep: RecordID, _ requester: Requester) {
        let object = objects[i].object
        var targets = objects[i].copies
        if !objects[i].descendants.isEmpty { targets = targets.union(members) }
        targets.remove(core)
        let ticket = issueTicket()
        if breakage != .revokeWithoutLock { objects[i].lock = .revoke(ticket) }
        var run = RevokeRun(root: core, ticket: ticket, object: object, targets: targets, parent: nil,
                            children: configuration.route.children(of: core, root: core, targets: targets))
        run.keepCore = keepCore
        run.keep = keep
        run.requester = requester
        if breakage == .skipMark { run.waiting = .none }
        revokes.append(run)
        if breakage != .skipMark {
            for child in run.children { send(.revokeMark(ticket, object, root: core, targets: targets), to: child) }
        }
    }

    func runIndex(root: CoreID, ticket: CapabilityTicket) -> Int? {
        revokes.firstIndex { $0.root == root && $0.ticket == ticket }
    }

    mutating func receiveMark(_ ticket: CapabilityTicket, _ object: CapabilityObject, root: CoreID, targets: CoreMask, from sender: CoreID) {
        guard root != core, configuration.route.parent(of: core, root: root, targets: targets) == sender,
              runIndex(root: root, ticket: ticket) == nil else {
            counters.refused += 1
            return
        }
        let children = configuration.route.children(of: core, root: root, targets: targets)
        revokes.append(RevokeRun(root: root, ticket: ticket, object: object, targets: targets, parent: sender, children: children))
        for child in children { send(.revokeMark(ticket, object, root: root, targets: targets), to: child) }
    }

    mutating func receiveReady(_ ticket: CapabilityTicket, root: CoreID, from sender: CoreID) {
        guard let k = runIndex(root: root, ticket: ticket), !revokes[k].committing, revokes[k].waiting.contains(sender) else {
            counters.refused += 1
            return
        }
        revokes[k].waiting.remove(sender)
    }

    mutating func receiveCommit(_ ticket: CapabilityTicket, _ object: CapabilityObject, root: CoreID, targets: CoreMask,
                                keepCore: CoreID?, keep: RecordID, from sender: CoreID) {
        if breakage == .skipMark, runIndex(root: root, ticket: ticket) == nil,
           configuration.route.parent(of: core, root: root, targets: targets) == sender {
            var run = RevokeRun(root: root, ticket: ticket, object: object, targets: targets, parent: sender,
                                children: configuration.route.children(of: core, root: root, targets: targets))
            run.readySent = true
            revokes.append(run)
        }
        guard let k = runIndex(root: root, ticket: ticket), !revokes[k].committing, revokes[k].readySent,
              revokes[k].parent == sender, revokes[k].object == object, revokes[k].targets == targets else {
            counters.refused += 1
            return
        }
        revokes[k].keepCore = keepCore
        revokes[k].keep = keep
        beginCommit(k)
    }

    mutating func receiveDone(_ ticket: CapabilityTicket, root: CoreID, from sender: CoreID) {
        guard let k = runIndex(root: root, ticket: ticket), revokes[k].committing, revokes[k].waiting.contains(sender) else {
            counters.refused += 1
            return
        }
        revokes[k].waiting.remove(sender)
    }

    /// Deletes what run `k` covers here and sends the commit on.
    mutating func beginCommit(_ k: Int) {
        let run = revokes[k]
        database.sweep(run.object, keeping: run.keepCore == core ? run.keep : nil)
        var waiting = CoreMask.none
        for child in run.children {
            waiting.insert(child)
            send(.revokeCommit(run.ticket, run.object, root: run.root, targets: run.targets, keepCore: run.keepCore,
                               keep: run.keepCore == nil ? RecordID(0) : run.keep), to: child)
        }
        revokes[k].waiting = waiting
        revokes[k].committing = true
    }

    /// True if something this core owns under run `k`'s object has an operation in
    /// flight (other than the revoke itself).
    func hasOperationInFlight(under k: Int) -> Bool {
        let run = revokes[k]
        return objects.contains { o in
            guard o.owner == core, let lock = o.lock, run.object.covers(o.object) else { return false }
            return lock != .revoke(run.ticket) || run.root != core
        }
    }

    /// Moves every revoke on whose answers are in. True if any moved.
    mutating func advanceRevokes() -> Bool {
        var changed = false
        var k = 0
        while k < revokes.count {
            let run = revokes[k]
            if !run.committing {
                let quiet = breakage == .skipMark || !hasOperationInFlight(under: k)
                if run.waiting.isEmpty && !run.readySent && quiet {
                    changed = true
                    if let parent = run.parent {
                        revokes[k].readySent = true
                        send(.revokeReady(run.ticket, root: run.root), to: parent)
                    } else {
                        beginCommit(k)
                        continue
                    }
                }
            } else if run.waiting.isEmpty {
                changed = true
                revokes.remove(at: k)
                if let parent = run.parent {
                    send(.revokeDone(run.ticket, root: run.root), to: parent)
                } else {
                    finishRevoke(run)
                }
                continue
            }
            k += 1
        }
        return changed
    }

    /// Every core has deleted: the root's object has no copies or descendants left
    /// beyond the kept record.
    mutating func finishRevoke(_ run: RevokeRun) {
        guard let i = find(run.object) else { return answer(run.requester, .done) }
        objects[i].copies = .none
        objects[i].descendants = .none
        if objects[i].lock == .revoke(run.ticket) { objects[i].lock = nil }
        if let keepCore = run.keepCore, keepCore != core {
            // The kept copy is on the asker's core, the only one left: it owns the object.
            answer(run.requester, .done, epoch: objects[i].epoch.next)
            let queue = objects[i].queue
            objects.remove(at: i)
            for queued in queue { answerAfterOwnershipLeft(queued) }
        } else {
            answer(run.requester, .done)
        }
    }

    /// Forgets every object with no record here and nothing in progress: the sweep of a
    /// commit, a delete, or a revoke that left this core nothing.
    mutating func forgetUnused() {
        var i = 0
        while i < objects.count {
            let o = objects[i]
            if o.lock == nil && o.queue.isEmpty && !database.holds(o.object)
                && !revokes.contains(where: { $0.root == core && $0.object == o.object }) {
                objects.remove(at: i)
            } else {
                i += 1
            }
        }
    }
}
