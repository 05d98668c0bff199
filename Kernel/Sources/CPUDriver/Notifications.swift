// Notifications: the only kernel work on the data path of a channel between cores. A
// domain that sent on a ring to a peer that may be asleep invokes its notify capability
// with the peer's core and local domain id. For the peer's monitor (domain 0: the
// core's notification receiver) the kernel sends that core a `userNotifyVector` IPI;
// for any other domain it sends that core's kernel a `wake` message on its link (which
// carries the domain id; the link's own IPI wakes the core). There, the kernel marks
// the domain notified, which ends its wait system call. Like a message's edge, a
// notification that comes while the receiver runs is kept for its next wait, and one
// for a domain that no longer runs is dropped: a wake is only ever a hint to look.
import ABI
import Arch
import Basics
import Capabilities
import KernelMessages

extension CoreState {
    /// The notify invocation passed the capability rules for `core`: wake its domain
    /// `domain` (0: its notification receiver).
    func notify(core: Int, domain: UInt64) {
        guard domain != 0 else {
            if core == id.rawValue { return notificationArrived() }
            guard core < coreCount, !failedCores[core] else { return }
            return interrupt(CoreID(core), vector: LocalAPIC.userNotifyVector)
        }
        guard domain <= UInt64(UInt32.max) else { return }
        if core == id.rawValue { return wake(domain: Int(domain)) }
        // A domain that notifies in a loop must not fill this core's memory with wakes
        // for a core that does not read them: past a backlog they are dropped (a wake
        // is a hint; a channel's receiver sleeps with a deadline and looks again).
        guard core < coreCount, !failedCores[core], let backlog = links[core]?.outbox.count,
              backlog < Console.maxQueuedMessages else { return }
        send(.wake(domain: UInt32(domain)), to: CoreID(core))
    }

    /// A notification came for this core's receiver (from the IPI, or from itself).
    func notificationArrived() {
        guard let receiver = notificationReceiver else { return }
        wake(domain: receiver)
    }

    /// A notification for this core's domain `local`, if it still runs.
    func wake(domain local: Int) {
        domains.first(where: { $0.id == local })?.notified = true
    }

    /// `wait` on a notify capability with the read right: the domain becomes this
    /// core's notification receiver and sleeps until a notification comes.
    func waitForNotification(by domain: Domain, on target: CapabilityAddress) -> InvocationStatus? {
        guard let (capability, _) = try? lookup(target, in: domain.cspace, ofType: [.notify]) else { return nil }
        guard capability.rights.contains(.read) else { return .insufficientRights }
        notificationReceiver = domain.id
        if domain.notified { domain.notified = false } else { domain.waiting = .notification }
        return .success
    }
}
