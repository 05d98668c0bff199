// Starting another core (Intel SDM Vol. 3A §8.4.4, "MP initialization example"):
// copy the real-mode trampoline below 1 MiB, then INIT, wait 10 ms, STARTUP, and a
// second STARTUP if the core has not answered after 200 µs. The caller waits for the
// new core to say it is alive (through its hand-off record) with a timeout, so a dead
// core is reported by name instead of hanging the boot.
//
// There is one trampoline page, and the next core's start rewrites it (its stack, its
// hand-off). A core that answers after its timeout could still be in the trampoline, or
// about to read it, when that happens, and would then run on the next core's stack with
// the next core's hand-off. So the caller puts a core that timed out back into INIT
// (`stop`) before it prepares the trampoline for anyone else: INIT holds the core in
// wait-for-SIPI wherever it was, and only a STARTUP addressed to its own APIC ID, which
// the boot never sends again, could move it. It stays left out.
import X86
import Basics

public enum CoreStartup {
    /// Where the trampoline is copied: page 8 (0x8000), the STARTUP vector.
    public static let trampolinePage: UInt8 = 0x08
    public static var trampolineRange: PhysicalRange {
        PhysicalRange(start: PhysicalAddress(UInt64(trampolinePage) << 12),
                      end: PhysicalAddress((UInt64(trampolinePage) + 1) << 12))
    }

    public typealias Entry = @convention(c) (UInt64) -> Void

    /// Sends INIT-SIPI-SIPI to `apic`; the new core runs `entry(handoff)` on `stackTop`
    /// with the page tables at `pageTableRoot` (below 4 GiB). `isAlive` is polled
    /// between steps so a fast core skips the second STARTUP.
    public static func start(_ apic: APICID, using local: LocalAPIC, pageTableRoot: UInt64,
                             stackTop: UInt64, handoff: UInt64, entry: Entry,
                             tscHz: UInt64, isAlive: () -> Bool) {
        x86_prepare_trampoline(UInt64(trampolinePage) << 12, pageTableRoot, stackTop, handoff, entry)
        local.sendINIT(to: apic)
        // The SDM's 10 ms wait after INIT is for old processors; like Linux, we skip
        // it on family 6 and later, where the core is ready at once.
        if CPU.family < 6 { spin(microseconds: 10_000, tscHz: tscHz) }
        local.sendStartup(page: trampolinePage, to: apic)
        spin(microseconds: 200, tscHz: tscHz)
        if !isAlive() { local.sendStartup(page: trampolinePage, to: apic) }
    }

    /// Puts `apic`'s core back into INIT (wait-for-SIPI), for a core that did not answer
    /// in time; returns once the local APIC has delivered the IPI.
    public static func stop(_ apic: APICID, using local: LocalAPIC) {
        local.sendINIT(to: apic)
    }

    static func spin(microseconds: UInt64, tscHz: UInt64) {
        let start = CPU.timestamp()
        let cycles = tscHz / 1_000_000 * microseconds
        while CPU.timestamp() - start < cycles { CPU.relax() }
    }
}
