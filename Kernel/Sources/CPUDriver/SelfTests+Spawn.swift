// Self-tests of what keeps a spawn cheap: the heap's pages are made by the domain's user
// library as it allocates, not by the kernel at spawn (Runtime.swift), a domain's memory
// is given back once its core is idle, and a new domain reuses the RAM block of the one
// that ended last (Domain.swift).
import Basics
import BootInfo
import Capabilities

extension SelfTests {
    static func heapOnDemand(_ state: CoreState) -> String? {
        guard let program = state.bootImage?.program(named: Array("names".utf8)) else { return "names is not in the boot image" }
        guard let domain = try? state.spawn(program, arguments: Array("sleep".utf8)) else { return "could not start names" }
        defer { if state.domains.contains(where: { $0 === domain }) { state.stop(domain, because: "the test is over") } }
        func heapUsed() -> UInt64? {
            guard let (_, object) = try? state.capabilities.lookup(.root(InitialSlot.heapRAM), in: domain.cspace, ofType: [.physicalRAM])
            else { return nil }
            return state.capabilities.watermark(of: object)
        }
        guard let before = heapUsed() else { return "no heap RAM in root slot \(InitialSlot.heapRAM)" }
        guard before == 0 else { return "the spawn made \(before) bytes of objects from the heap RAM" }
        // `names` allocates as soon as it reads its arguments.
        state.runDomains(milliseconds: 5_000) { (heapUsed() ?? 0) > 0 }
        guard let after = heapUsed(), after > 0 else { return "the program's heap made nothing from its heap RAM" }
        return nil
    }

    static func spareBlock(_ state: CoreState) -> String? {
        guard let program = state.bootImage?.program(named: Array("names".utf8)) else { return "names is not in the boot image" }
        guard let first = try? state.spawn(program, arguments: Array("nothing".utf8)) else { return "could not start names" }
        // Its end takes it off the core at once; what it held comes back (its block as
        // the spare) only once the core has nothing else to run.
        _ = state.waitUntil(milliseconds: 5_000) {
            _ = state.runNextDomain()
            return !state.domains.contains { $0 === first }
        }
        guard !state.domains.contains(where: { $0 === first }) else {
            state.stop(first, because: "the test is over")
            return "names nothing did not end"
        }
        guard state.ended.contains(where: { $0 === first }), !first.frames.isEmpty else { return "given back before the core was idle" }
        _ = state.waitUntil(milliseconds: 5_000) {
            _ = state.runNextDomain()
            return state.ended.isEmpty
        }
        guard state.ended.isEmpty, first.frames.isEmpty, state.spareBlock == first.block else {
            return "what names nothing held was not given back once the core was idle"
        }
        guard let second = try? state.spawn(program, arguments: Array("nothing".utf8)) else { return "could not start names again" }
        state.runDomains(milliseconds: 5_000) { !state.domains.contains { $0 === second } }
        if state.domains.contains(where: { $0 === second }) { state.stop(second, because: "the test is over") }
        return second.block == first.block ? nil
            : "the second domain's block starts at \(hexadecimal(second.block.start.rawValue)), the first's at \(hexadecimal(first.block.start.rawValue))"
    }
}
