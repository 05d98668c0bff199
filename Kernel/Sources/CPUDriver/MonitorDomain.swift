// Every core's first user domain, its monitor (User/Sources/monitor), started at boot
// with the core's initial capabilities: its CNode and RAM like any domain, and the
// authority no other domain starts with: its dispatcher, a notify capability for every
// core (read: it is the one notifications wake), the kernel capability, on the
// bootstrap core the I/O ports, interrupts and device memory (the window below 4 GiB
// where PCI BARs lie), and a frame capability for each of its
// rings to and from every other core's monitor (`MonitorRingLayout`). All but the
// dispatcher (a copy of the one spawn made) are roots, capabilities with no parent,
// made here and nowhere else. The rings are memory the bootstrap core set aside beside
// the kernel's own links: the monitors talk over them with no kernel on the data path.
import Basics
import BootInfo
import Capabilities
import KernelMessages

extension CoreState {
    /// Global system interrupt numbers the bootstrap core's monitor may claim.
    static let interruptCount: UInt64 = 256

    /// Starts the monitor and runs it until it sleeps. A core without a monitor (no
    /// boot image, out of memory) says why and goes on without it. `live`: the cores
    /// that came up, which run monitors (its arguments: this core, the core count, then
    /// each of them).
    func startMonitor(live: CoreSet) {
        guard let program = bootImage?.program(named: Array("monitor".utf8)) else {
            print("core \(id.rawValue): no monitor program in the boot image; no monitor")
            return
        }
        let domain: Domain
        do {
            var arguments = "\(id.rawValue) \(coreCount)"
            for core in 0..<coreCount where live.contains(CoreID(core)) { arguments += " \(core)" }
            domain = try spawn(program, arguments: Array(arguments.utf8))
        } catch {
            print("core \(id.rawValue): the monitor did not start (\(error))")
            return
        }
        do throws(CapabilityError) {
            let cspace = domain.cspace
            try capabilities.copy(AddressSpaceLayout.leaf(AddressSpaceLayout.dispatcher), to: .root(InitialSlot.dispatcher), in: cspace)
            try capabilities.createRoot(.notify, base: 0, size: UInt64(coreCount), at: .root(InitialSlot.notify), in: cspace)
            try capabilities.createRoot(.kernel, base: 0, size: 0, at: .root(InitialSlot.kernel), in: cspace)
            if id == .bootstrap {
                try capabilities.createRoot(.ioPortRange, base: 0, size: ObjectSpace.ioPorts.limit, at: .root(InitialSlot.ioPorts), in: cspace)
                try capabilities.createRoot(.irq, base: 0, size: Self.interruptCount, at: .root(InitialSlot.interrupts), in: cspace)
                if let window = deviceWindow {
                    // Without it drivers get no BARs; the monitor is still wanted.
                    do throws(CapabilityError) {
                        try capabilities.createRoot(.deviceFrame, base: window.start.rawValue, size: window.size,
                                                    at: .root(InitialSlot.deviceMemory), in: cspace)
                    } catch {
                        print("core \(id.rawValue): no device memory for drivers (\(InvocationStatus(error).name))")
                    }
                }
            }
            if id.rawValue < MonitorRingLayout.maximumCores {
                try capabilities.createRoot(.frame, base: Link.bindingPage(core: id.rawValue, page: 0, count: coreCount, area: channelArea),
                                            size: UInt64(BindingPool.pagesPerCore) * BindingPool.pageBytes,
                                            at: .root(InitialSlot.bindingPool), in: cspace)
                for peer in 0..<min(coreCount, MonitorRingLayout.maximumCores) where peer != id.rawValue {
                    let send = Link.monitorRing(from: id.rawValue, to: peer, count: coreCount, area: channelArea)
                    let receive = Link.monitorRing(from: peer, to: id.rawValue, count: coreCount, area: channelArea)
                    try capabilities.createRoot(.frame, base: send, size: MonitorRingLayout.ringBytes,
                                                at: .root(MonitorRingLayout.sendSlot(to: peer)), in: cspace)
                    try capabilities.createRoot(.frame, base: receive, size: MonitorRingLayout.ringBytes,
                                                at: .root(MonitorRingLayout.receiveSlot(from: peer)), in: cspace)
                }
            } else {
                print("core \(id.rawValue): monitors talk on the first \(MonitorRingLayout.maximumCores) cores only; this one's monitor has no rings")
            }
        } catch {
            print("core \(id.rawValue): the monitor's capabilities could not be made (\(InvocationStatus(error).name)); no monitor")
            reap(domain)
            return
        }
        monitorDomain = domain.id
        notificationReceiver = domain.id
        // The monitor's own start is its first domain event: the replicas list every
        // core's monitor too.
        domainEvents.append(DomainEvent(kind: .started, domain: domain.id, program: Array(domain.name.utf8)))
        runDomains(milliseconds: 10_000) { domain.waiting != nil || !domains.contains { $0 === domain } }
    }
}
