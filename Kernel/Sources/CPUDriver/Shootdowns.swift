// TLB shootdown for spanned domains (docs/shootdown.md). The protocol is Core's
// `ShootdownMonitor`, the state machine the host simulator checks; here the CPU drivers
// drive it, over their own links, so a shootdown costs no user-level hop on any core:
//
// - The home kernel learns which cores a domain spans from its monitor (`spanPlace`
//   names the target core), and the tree from its monitor's replica of the knowledge
//   base (`adoptKnowledge`). Membership and the tree stay the monitors' to decide.
// - `shootdown` on the domain's own PML4 starts the operation after the entries changed,
//   and spins here, handling every link as the event loop would, until the protocol
//   answers: every running participant invalidated, or the stopped ones are named.
// - Another core takes an `invalidate` in its event loop (a notify IPI brings it out of
//   user code), drops the pages with `invlpg` and acknowledges. The kernel runs with the
//   interrupted domain's CR3, so its translations are exactly what must go.
// - Memory another domain here lets go of (a revoke of a frame it shared with a spanned
//   domain, or its end) may be mapped in a spanned domain's tables, and that mapping in
//   another core's TLB. So whenever the capability rules remove or change entries while
//   a domain here spans other cores, the invocation (or the release of an ended domain's
//   memory) does not return before a shootdown over every such domain's cores: the
//   memory cannot be handed out again while a stale translation reaches it. The
//   spanned domain itself may not let memory go (`spanningDomain`); its own unmaps are
//   followed by its own `shootdown`.
// - A core that stops announces it (`KernelMessage.stopping`), and `coreStopped` lets the
//   protocol go on without it. A core that hangs without stopping is not noticed: the
//   caller gets `timedOut` after a second, with the change made and that core possibly
//   still holding the old translation.
import ABI
import Arch
import Basics
import Capabilities
import CapabilityProtocols
import Channel
import KnowledgeBase
import PageTables
import ShootdownProtocol

/// The shootdowns this core waits for, innermost last (a wait polls the links, and a
/// message may release an ended domain's memory, which can need a shootdown of its own),
/// and the answers that came for them.
struct ShootdownWaits {
    var lastRequest: UInt64 = 0
    var waiting: [UInt64] = []
    var answers: [(request: UInt64, status: ShootdownStatus, stopped: CoreMask)] = []

    /// The answer to `request`, taken out, if it came.
    mutating func take(_ request: UInt64) -> (status: ShootdownStatus, stopped: CoreMask)? {
        guard let index = answers.firstIndex(where: { $0.request == request }) else { return nil }
        let answer = answers.remove(at: index)
        return (answer.status, answer.stopped)
    }
}

/// The user pages whose entries the capability rules removed or changed since the last
/// look, in any address space: the lowest and highest, or everything.
struct DroppedTranslations {
    var lowest: UInt64 = .max
    var highest: UInt64 = 0
    var everything = false

    var isEmpty: Bool { !everything && lowest > highest }

    mutating func record(_ invalidation: TLBInvalidation) {
        switch invalidation {
        case .none: break
        case .page(let address):
            lowest = min(lowest, address & ~0xFFF)
            highest = max(highest, address & ~0xFFF)
        case .everything: everything = true
        }
    }

    /// One range holding them all (the whole user half for `everything`).
    var range: VirtualRange {
        guard !everything, lowest <= highest, lowest < VirtualRange.userLimit, highest < VirtualRange.userLimit else {
            return VirtualRange(start: VirtualAddress(0), pages: VirtualRange.userLimit / VirtualRange.pageSize)
        }
        return VirtualRange(start: VirtualAddress(lowest), pages: (highest - lowest) / VirtualRange.pageSize + 1)
    }
}

extension CoreState {
    /// How long a caller waits for a core that neither acknowledges nor stops.
    static let shootdownPatienceMilliseconds: UInt64 = 1000

    /// The monitor's replica of the knowledge base, for the trees; taken only while no
    /// shootdown is in flight here (the trees of one operation must not change under it).
    func adoptKnowledge(_ bytes: [UInt8]) -> InvocationStatus {
        guard let base = try? KnowledgeBase(decoding: bytes) else { return .badBuffer }
        if let current = shootdowns, !current.isIdle { return .tooManyInFlight }
        shootdowns = ShootdownMonitor(core: id, coreCount: coreCount, configuration: .init(knowledge: base))
        for core in 0..<coreCount where stoppedCores[core] { _ = shootdowns!.coreStopped(CoreID(core)) }
        return .success
    }

    /// The change a shootdown by `domain` of `pages` pages from `address` names; nil if
    /// they are not whole user pages.
    func change(of domain: Domain, address: UInt64, pages: UInt64, protect: Bool) -> AddressSpaceChange? {
        let change = AddressSpaceChange(space: addressSpace(of: domain.id), range: VirtualRange(start: VirtualAddress(address), pages: pages),
                                        kind: protect ? .protect : .unmap)
        return change.isValid ? change : nil
    }

    /// The shootdown of `change` that `domain` asked for with `unmapEverywhere` or
    /// `protectEverywhere`, after the rules made it: returns once every core the domain
    /// spans dropped the pages' old translations → the cores that stopped meanwhile, as
    /// a mask.
    func shootDown(_ change: AddressSpaceChange, for domain: Domain) -> (InvocationStatus, UInt64) {
        // The entries are changed (and this core's TLB dropped them) before any other
        // core is told to.
        applyMemoryEffects()
        guard domain.spannedElsewhere, !domain.spanCores.isEmpty else { return (.success, 0) }
        var participants = domain.spanCores
        participants.insert(id)
        return run(change, over: participants)
    }

    /// Called after the capability rules may have dropped entries (an invocation by a
    /// domain that does not span, the release of ended domains' memory): if any did while
    /// a domain here spans other cores, returns only once those cores dropped them too.
    func shootDownDroppedTranslations() {
        applyMemoryEffects()
        guard !droppedTranslations.isEmpty else { return }
        let dropped = droppedTranslations
        droppedTranslations = DroppedTranslations()
        var participants = CoreMask.none
        for domain in domains where domain.spannedElsewhere { participants = participants.union(domain.spanCores) }
        for domain in ended where domain.spannedElsewhere { participants = participants.union(domain.spanCores) }
        guard !participants.isEmpty else { return }
        participants.insert(id)
        let change = AddressSpaceChange(space: addressSpace(of: 0), range: dropped.range, kind: .unmap)
        if run(change, over: participants).0 != .success {
            print("core \(id.rawValue): a shootdown for memory let go of did not complete; a core may still reach it")
        }
    }

    /// The name an operation gives the address space of this core's domain `local` (0:
    /// any, for memory let go of): unique per core and never 0, as the protocol asks;
    /// the kernels drop the range whatever the space, the name keeps operations apart.
    func addressSpace(of local: Int) -> AddressSpaceID {
        AddressSpaceID(UInt32(id.rawValue & 0xFF) << 24 | 1 << 23 | UInt32(truncatingIfNeeded: local) & 0x7F_FFFF)
    }

    /// Runs one shootdown of `change` over `participants` and waits for its answer.
    func run(_ change: AddressSpaceChange, over participants: CoreMask) -> (InvocationStatus, UInt64) {
        guard shootdowns != nil else { return (.noKnowledge, 0) }
        shootdownWaits.lastRequest &+= 1
        let request = shootdownWaits.lastRequest
        shootdownWaits.waiting.append(request)
        perform(shootdowns!.start(change, participants: participants, request: ShootdownRequestID(request)))
        _ = waitUntil(milliseconds: Self.shootdownPatienceMilliseconds) { shootdownWaits.answers.contains { $0.request == request } }
        shootdownWaits.waiting.removeAll { $0 == request }
        guard let answer = shootdownWaits.take(request) else { return (.timedOut, 0) }
        switch answer.status {
        case .completed: return (.success, answer.stopped.rawValue)
        case .busy: return (.tooManyInFlight, 0)
        case .invalidChange, .invalidParticipants: return (.outsideRange, 0)
        }
    }

    /// A shootdown slot from core `source`'s kernel (untrusted: the protocol counts and
    /// drops what does not fit).
    func receiveShootdown(_ slot: ChannelMessage, from source: CoreID) {
        guard shootdowns != nil else {
            malformedMessages += 1
            return
        }
        perform(shootdowns!.receive(slot, from: source))
    }

    /// A shootdown reached this core : no translation of `range` may
    /// stay cached here. Only the address space in CR3 can hold any (no PCIDs, user
    /// pages never global: loading CR3 dropped the others), and the kernel runs in the
    /// interrupted domain's, so `invlpg` here is enough; past 64 pages (the whole user
    /// half, for memory let go of anywhere) one flush. The protocol checked the range:
    /// whole pages below the kernel's half.
    func invalidate(_ range: VirtualRange) {
        guard range.pages <= 64 else { return UserPageTables.invalidateAll() }
        for page in 0..<range.pages { UserPageTables.invalidate(page: range.start.rawValue + page * VirtualRange.pageSize) }
    }

    func perform(_ effects: [ShootdownEffect]) {
        for effect in effects {
            switch effect {
            case .send(let message, let core):
                guard core != id, links[core.rawValue] != nil else { continue }
                links[core.rawValue]!.send(message.encode())
                // The root spins for its acknowledgements; anyone else may be in user
                // code and needs the IPI.
                if case .acknowledge(let operation, _) = message, operation.root == core { continue }
                interrupt(core, vector: LocalAPIC.notifyVector)
            case .invalidate(let change):
                invalidate(change.range)
            case .answer(let request, let status, let stopped):
                // An answer nobody waits for any more (its caller timed out) is dropped.
                if shootdownWaits.waiting.contains(request.rawValue) { shootdownWaits.answers.append((request.rawValue, status, stopped)) }
            }
        }
    }
}
