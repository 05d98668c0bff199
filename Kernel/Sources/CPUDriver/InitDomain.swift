// Every core's first user domain, init (User/Sources/init), started at boot with the
// core's initial capabilities: its CNode and RAM like any domain, and the authority no
// other domain starts with: its dispatcher, a notify capability for every core, the
// kernel capability, and on the bootstrap core the I/O ports and interrupts. All but the
// dispatcher (a copy of the one spawn made) are roots, capabilities with no parent, made
// here and nowhere else.
import Basics
import BootInfo
import Capabilities

/// Where init finds its initial capabilities (the init program checks the same slots).
extension CoreState {
    /// Global system interrupt numbers the bootstrap core's init may claim.
    static let interruptCount: UInt64 = 256

    /// Starts init and runs it until it sleeps on its waitset. A core without init (no
    /// boot image, out of memory) says why and goes on without it.
    func startInit() {
        guard let program = bootImage?.program(named: Array("init".utf8)) else {
            print("core \(id.rawValue): no init program in the boot image; no init domain")
            return
        }
        let domain: Domain
        do {
            domain = try spawn(program, arguments: Array("\(id.rawValue) \(coreCount)".utf8))
        } catch {
            print("core \(id.rawValue): init did not start (\(error))")
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
            }
        } catch {
            print("core \(id.rawValue): init's capabilities could not be made (\(error)); no init domain")
            reap(domain)
            return
        }
        initDomain = domain.id
        runDomains(milliseconds: 10_000) { domain.waiting != nil || !domains.contains { $0 === domain } }
    }
}
