// TLB shootdown as one core's monitor runs it: a pure state machine, so the guest's
// monitor and the host's simulator (Core/Sources/ShootdownSimulation) drive the same
// code. It is called with a local request (the page tables of an address space changed:
// pages unmapped or write-protected), a message from another core's monitor, or the news
// that a core stopped; it returns effects: messages to send, this core's TLB to
// invalidate, and the answer to the requester.
//
// The protocol is the multikernel paper's one-phase commit (§5, Fig. 6–7); docs/
// shootdown.md draws its states.
//
// - The initiating core (the root) has already changed the shared page tables. It sends
//   `invalidate` down the knowledge base's multicast tree over the cores that use the
//   address space (the participants), and invalidates its own TLB.
// - Every core computes the same tree from the message alone (root, participants, the
//   configured tree kind over its replica of the knowledge base), so no tree travels in
//   a message, and a core can check that an invalidate came from above it.
// - A core forwards the invalidate to its children, invalidates its own TLB, and
//   acknowledges to its parent once every child has: so an acknowledgement means the
//   whole subtree dropped the old translation. The root answers when every child has
//   acknowledged; nothing answers early, however slow a core is.
// - A core that stops never acknowledges. When a monitor learns that a core it waits
//   for stopped, it stops waiting, names it, and sends the invalidate itself to the
//   stopped core's children in the tree (and on down past any of them that also
//   stopped), so every running participant is still reached. A core accepts an
//   invalidate from any core above it in the tree and acknowledges to the one it came
//   from. Stopped cores travel up in the acknowledgements and the root's answer names
//   them. The knowledge base's trees are at most two deep, so the cores taken over are
//   leaves, which acknowledge at once; a deeper tree would also need a forwarder already
//   waiting on its children to answer the core that took over (without it, that core
//   would wait forever, which the simulator reports).
// - Nothing waits on a clock: messages between running monitors are never lost, and every
//   monitor eventually hears of every stop, so every operation ends.
//
// Everything is kept in arrays (no Dictionary or Set), so iteration order is part of the
// state and the code builds in Embedded Swift.
import Basics
import CapabilityProtocols
import Channel
import KnowledgeBase

public struct ShootdownMonitor {
    public struct Configuration: Equatable, Sendable {
        /// This core's replica of the knowledge base: every monitor must hold the same
        /// facts, or their trees disagree and invalidates are refused.
        public var knowledge: KnowledgeBase
        public var tree: MulticastKind
        /// This core's own shootdowns in flight at once; more are answered `busy`.
        public var maximumOperations: Int

        public init(knowledge: KnowledgeBase, tree: MulticastKind = .numaAware, maximumOperations: Int = 16) {
            self.knowledge = knowledge
            self.tree = tree
            self.maximumOperations = maximumOperations
        }
    }

    public let core: CoreID
    public let coreCount: Int
    public let configuration: Configuration
    public internal(set) var counters = ShootdownCounters()
    /// The cores this monitor has been told have stopped.
    public internal(set) var stoppedCores = CoreMask.none
    /// Operations this core takes part in (as root or below it), oldest first.
    var runs: [ShootdownRun] = []
    var nextTicket: UInt32 = 1
    /// The effects of the current step (`finish` returns them; the next step empties them).
    var effects: [ShootdownEffect] = []
    /// The latest tree built and this core's ancestors in it, kept because a domain's
    /// operations all have the same root and participants, and building them from the
    /// knowledge base is most of a step's work (they are a function of the two alone,
    /// so keeping them changes nothing else).
    var lastTree: (root: CoreID, participants: CoreMask, tree: MulticastTree, ancestors: [CoreID])? = nil
    /// A protocol broken on purpose, only by the tests that check the simulator's checker.
    public var breakage: ShootdownBreakage? = nil

    public init(core: CoreID, coreCount: Int, configuration: Configuration) {
        self.core = core
        self.coreCount = min(max(coreCount, 1), CoreMask.maximumCores)
        self.configuration = configuration
    }

    /// True when this core takes part in no operation: it waits for nothing.
    public var isIdle: Bool { runs.isEmpty }

    /// The operations this core takes part in and the cores it waits for in each.
    public var waiting: [(operation: ShootdownOperation, cores: CoreMask)] {
        runs.map { ($0.operation, $0.waiting) }
    }

    // MARK: Inputs

    /// The page tables of `change.space` no longer give `change.range` (or its write
    /// right); `participants` are the cores that may hold its translations (this core
    /// among them if it does). Answers `request` once every running participant has
    /// invalidated.
    public mutating func start(_ change: AddressSpaceChange, participants: CoreMask,
                               request: ShootdownRequestID) -> [ShootdownEffect] {
        beginStep()
        if !change.isValid {
            answer(request, .invalidChange)
        } else if !isKnown(participants) {
            answer(request, .invalidParticipants)
        } else if runs.count(where: { $0.operation.root == core }) >= configuration.maximumOperations {
            answer(request, .busy)
        } else {
            // Cores already known to have stopped are left out of the tree (so every
            // core computes the same one) and named at once.
            let running = CoreMask(rawValue: participants.rawValue & ~stoppedCores.rawValue)
            let operation = ShootdownOperation(root: core, ticket: issueTicket())
            var run = ShootdownRun(operation: operation, change: change, participants: running, acknowledgeTo: nil)
            run.requester = request
            run.stopped = CoreMask(rawValue: participants.rawValue & stoppedCores.rawValue)
            runs.append(run)
            forward(runs.count - 1)
            if running.contains(core) { effects.append(.invalidate(change)) }
            if breakage == .answerEarly {
                answer(request, .completed, stopped: runs[runs.count - 1].stopped)
                runs[runs.count - 1].requester = nil
            }
        }
        return finish()
    }

    /// A slot from core `sender`'s ring. Whatever it holds is counted and dropped unless
    /// it is a message that fits the protocol's state.
    public mutating func receive(_ slot: ChannelMessage, from sender: CoreID) -> [ShootdownEffect] {
        beginStep()
        guard sender.rawValue >= 0, sender.rawValue < coreCount, sender != core else {
            counters.badSender += 1
            return []
        }
        guard let message = ShootdownMessage(decoding: slot, coreCount: coreCount) else {
            counters.undecodable += 1
            return []
        }
        switch message {
        case .invalidate(let operation, let change, let participants):
            receiveInvalidate(operation, change, participants: participants, from: sender)
        case .acknowledge(let operation, let stopped):
            receiveAcknowledge(operation, stopped: stopped, from: sender)
        }
        return finish()
    }

    /// Core `stopped` runs no more (its kernel stopped it, or it failed): whatever waits
    /// for it goes on without it. Repeated news of one stop changes nothing.
    public mutating func coreStopped(_ stopped: CoreID) -> [ShootdownEffect] {
        guard stopped.rawValue >= 0, stopped.rawValue < coreCount, stopped != core,
              !stoppedCores.contains(stopped) else { return [] }
        beginStep()
        stoppedCores.insert(stopped)
        for k in runs.indices where runs[k].waiting.contains(stopped) {
            runs[k].waiting.remove(stopped)
            skip(stopped, run: k)
        }
        return finish()
    }

    // MARK: Steps

    mutating func receiveInvalidate(_ operation: ShootdownOperation, _ change: AddressSpaceChange,
                                    participants: CoreMask, from sender: CoreID) {
        if stoppedCores.contains(sender) {
            // Written before the sender stopped; whoever took over has sent (or will
            // send) the same.
            counters.fromStoppedCores += 1
            return
        }
        guard operation.root != core, participants.contains(core) else {
            counters.refused += 1
            return
        }
        // Above this core: its parent, or the root standing in for a stopped parent.
        guard runIndex(operation) == nil, isAncestor(sender, from: operation.root, over: participants),
              runs.count < coreCount * configuration.maximumOperations else {
            counters.refused += 1
            return
        }
        runs.append(ShootdownRun(operation: operation, change: change, participants: participants, acknowledgeTo: sender))
        forward(runs.count - 1)
        effects.append(.invalidate(change))
    }

    mutating func receiveAcknowledge(_ operation: ShootdownOperation, stopped: CoreMask, from sender: CoreID) {
        guard let k = runIndex(operation), runs[k].waiting.contains(sender),
              stopped.rawValue & ~runs[k].participants.rawValue == 0 else {
            // A stopped core's acknowledgement can arrive after its stop was handled.
            if stoppedCores.contains(sender) { counters.fromStoppedCores += 1 } else { counters.refused += 1 }
            return
        }
        runs[k].waiting.remove(sender)
        runs[k].stopped = runs[k].stopped.union(stopped)
    }

    /// Sends run `k`'s invalidate to this core's children, standing in for any known to
    /// have stopped.
    mutating func forward(_ k: Int) {
        for child in children(of: core, run: k) { reach(child, run: k) }
    }

    /// Sends run `k`'s invalidate to `target` and waits for its acknowledgement, or, if
    /// it stopped, skips it.
    mutating func reach(_ target: CoreID, run k: Int) {
        if stoppedCores.contains(target) {
            skip(target, run: k)
            return
        }
        runs[k].waiting.insert(target)
        send(.invalidate(runs[k].operation, runs[k].change, participants: runs[k].participants), to: target)
    }

    /// Names the stopped `target` in run `k` and reaches its children in its place.
    mutating func skip(_ target: CoreID, run k: Int) {
        runs[k].stopped.insert(target)
        guard breakage != .abandonStoppedSubtree else { return }
        for child in children(of: target, run: k) { reach(child, run: k) }
    }

    /// Ends every run that waits for nothing more: the root answers, any other core
    /// acknowledges (unless the core it answers to stopped: whoever takes over sends
    /// the invalidate again, and it is run again).
    mutating func finish() -> [ShootdownEffect] {
        var k = 0
        while k < runs.count {
            guard runs[k].waiting.isEmpty else {
                k += 1
                continue
            }
            let run = runs.remove(at: k)
            if let parent = run.acknowledgeTo {
                if !stoppedCores.contains(parent) { send(.acknowledge(run.operation, stopped: run.stopped), to: parent) }
            } else if let request = run.requester {
                answer(request, .completed, stopped: run.stopped)
            }
        }
        return effects
    }

    // MARK: Helpers

    /// Empties the effects of the last step, keeping their storage: the driver has let go
    /// of the array it was returned, so no step allocates one.
    mutating func beginStep() {
        effects.removeAll(keepingCapacity: true)
    }

    mutating func send(_ message: ShootdownMessage, to target: CoreID) {
        counters.sent += 1
        effects.append(.send(message, to: target))
    }

    mutating func answer(_ request: ShootdownRequestID, _ status: ShootdownStatus, stopped: CoreMask = .none) {
        effects.append(.answer(request, status, stopped: stopped))
    }

    mutating func issueTicket() -> UInt32 {
        let ticket = nextTicket
        nextTicket = nextTicket &+ 1 == 0 ? 1 : nextTicket &+ 1
        return ticket
    }

    func runIndex(_ operation: ShootdownOperation) -> Int? {
        runs.firstIndex { $0.operation == operation }
    }

    /// True if every core in `cores` is one of the machine's and the knowledge base
    /// knows it (a tree reaches no other core).
    func isKnown(_ cores: CoreMask) -> Bool {
        guard cores.rawValue & ~CoreMask.all(coreCount).rawValue == 0 else { return false }
        var bits = cores.rawValue
        while bits != 0 {
            guard configuration.knowledge.knows(CoreID(bits.trailingZeroBitCount)) else { return false }
            bits &= bits - 1
        }
        return true
    }

    /// The cores `core` sends to in run `k`'s tree. A run keeps no tree of its own: the
    /// tree is a function of its root and participants, and the cache holds the one of
    /// the operations in flight (a run without its tree is plain data, which copies
    /// without reference counting, on every step).
    mutating func children(of core: CoreID, run k: Int) -> [CoreID] {
        cacheTree(from: runs[k].operation.root, over: runs[k].participants)
        return lastTree!.tree.children(of: core)
    }

    /// Whether `sender` is above this core in the tree from `root` over `participants`.
    mutating func isAncestor(_ sender: CoreID, from root: CoreID, over participants: CoreMask) -> Bool {
        cacheTree(from: root, over: participants)
        return lastTree!.ancestors.contains(sender)
    }

    /// Makes `lastTree` the tree from `root` over `participants` (read in place: a copy
    /// of it out of the cache would cost reference counting on every step).
    mutating func cacheTree(from root: CoreID, over participants: CoreMask) {
        guard lastTree?.root != root || lastTree?.participants != participants else { return }
        let tree = configuration.knowledge.multicastTree(from: root, to: participants.cores, kind: configuration.tree)
        lastTree = (root, participants, tree, Self.ancestors(of: core, in: tree))
    }

    /// The cores above `core` in `tree`, its parent first; empty for the root and for a
    /// core the tree does not reach.
    static func ancestors(of core: CoreID, in tree: MulticastTree) -> [CoreID] {
        var chain: [CoreID] = []
        var here = core
        while let parent = tree.parent(of: here), !chain.contains(parent) {
            chain.append(parent)
            here = parent
        }
        return chain
    }
}

/// One operation as one core runs it.
struct ShootdownRun: Equatable {
    var operation: ShootdownOperation
    var change: AddressSpaceChange
    /// With the root, they fix the tree (`children(of:run:)`).
    var participants: CoreMask
    /// Where the acknowledgement goes: the core the invalidate came from. Nil at the root.
    var acknowledgeTo: CoreID?
    /// Cores sent the invalidate that have not acknowledged.
    var waiting = CoreMask.none
    /// Participants in this core's subtree that stopped before they could invalidate.
    var stopped = CoreMask.none
    /// The root's caller (nil once answered).
    var requester: ShootdownRequestID? = nil
}

/// What a call asks its driver (the guest's monitor, or the simulator) to do, in order.
public enum ShootdownEffect: Equatable, Sendable {
    /// Put `message` (encode it) on the ring to core `to`'s monitor.
    case send(ShootdownMessage, to: CoreID)
    /// Drop this core's translations of the change (its CPU driver flushes the pages
    /// from the TLB) before any later effect.
    case invalidate(AddressSpaceChange)
    /// The local request is finished; `stopped` are participants that stopped first.
    case answer(ShootdownRequestID, ShootdownStatus, stopped: CoreMask)
}

/// How many of each unusual thing a monitor has seen. Drops never stop the monitor.
public struct ShootdownCounters: Hashable, Sendable {
    /// Slots that did not decode.
    public var undecodable = 0
    /// Slots from a core outside the system or from this core itself.
    public var badSender = 0
    /// Messages that decode but fit no state: an invalidate from a core not above this
    /// one in its tree, naming this core's own operation or not naming this core, a
    /// repeat; an acknowledgement nobody waits for (unknown operation, a core not sent
    /// to, a repeat) or naming cores outside the operation; an invalidate beyond what
    /// every root's `maximumOperations` together allow.
    public var refused = 0
    /// Messages from cores known to have stopped, written before they stopped (normal).
    public var fromStoppedCores = 0
    /// Messages sent.
    public var sent = 0

    public init() {}

    /// Slots dropped as bad input.
    public var dropped: Int { undecodable + badSender + refused }
}

/// The protocol broken on purpose, to check that the simulator catches each.
public enum ShootdownBreakage: String, Sendable, CaseIterable {
    /// The root answers once it has sent the invalidates, without waiting for them.
    case answerEarly
    /// A core that learns a child stopped stops waiting for it but reaches nobody in its
    /// place.
    case abandonStoppedSubtree
}
