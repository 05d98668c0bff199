// Notifications between monitors: the only kernel work on the monitors' data path. A
// monitor that sent on a ring to a monitor that may be asleep invokes its notify
// capability, and the kernel sends that core a `userNotifyVector` IPI; there, the
// kernel marks the core's notification receiver (the domain that waited on its notify
// capability, which is the monitor) notified and wakes it. Like a message's edge, a
// notification that comes while the receiver runs is kept for its next wait.
import Arch
import Basics
import Capabilities

extension CoreState {
    /// The notify invocation passed the capability rules for `core`: wake it.
    func notify(core: Int) {
        if core == id.rawValue { return notificationArrived() }
        guard core < coreCount, !failedCores[core] else { return }
        apic.sendInterrupt(LocalAPIC.userNotifyVector, to: apicIDs[core])
    }

    /// A notification came for this core (from the IPI, or from itself).
    func notificationArrived() {
        guard let receiver = notificationReceiver, let domain = domains.first(where: { $0.id == receiver }) else { return }
        domain.notified = true
    }

    /// `wait` on a notify capability with the read right: the domain becomes this
    /// core's notification receiver and sleeps until a notification comes.
    func waitForNotification(by domain: Domain, on target: CapabilityAddress) -> InvocationStatus? {
        guard let (capability, _) = try? capabilities.lookup(target, in: domain.cspace, ofType: [.notify]) else { return nil }
        guard capability.rights.contains(.read) else { return .insufficientRights }
        notificationReceiver = domain.id
        if domain.notified { domain.notified = false } else { domain.waiting = .notification }
        return .success
    }
}
