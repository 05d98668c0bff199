// The program cache's self-test (ProgramCache.swift): two domains of one program map the
// same read-only frames, through copies without the write right that sit outside their
// CSpaces; the entry stays while either runs and is given back once neither does.
import BootInfo
import Capabilities

extension SelfTests {
    static func programCache(_ state: CoreState) -> String? {
        guard let program = state.bootImage?.program(named: Array("names".utf8)) else { return "names is not in the boot image" }
        guard let a = try? state.spawn(program, arguments: Array("sleep".utf8)),
              let b = try? state.spawn(program, arguments: Array("sleep".utf8)) else { return "could not start two domains of names" }
        defer {
            for domain in [a, b] where state.domains.contains(where: { $0 === domain }) { state.stop(domain, because: "the test is over") }
        }
        guard let entry = state.programCache.entries.first(where: { $0.program == program.name }), !entry.pages.isEmpty else {
            return "no cache entry with read-only pages for names"
        }
        for (index, page) in entry.pages.enumerated() {
            let slot = CapabilityAddress.root(UInt32(index + 1))
            guard let cached = try? state.capabilities.identify(slot, in: entry.cspace),
                  let first = a.sharedPages.flatMap({ try? state.capabilities.identify(slot, in: $0) }),
                  let second = b.sharedPages.flatMap({ try? state.capabilities.identify(slot, in: $0) }) else {
                return "page \(index) has no copy in one of the domains"
            }
            guard first.base == cached.base, second.base == cached.base else { return "page \(index): the domains map different frames" }
            guard first.rights == page.rights, !first.rights.contains(.write) else { return "page \(index): a copy has rights beyond the page's" }
        }
        state.evictUnusedPrograms()
        guard state.programCache.entries.contains(where: { $0.program == program.name }) else { return "evicted while two domains map it" }
        state.stop(a, because: "the test is over")
        state.evictUnusedPrograms()
        guard state.programCache.entries.contains(where: { $0.program == program.name }) else { return "evicted while one domain maps it" }
        state.stop(b, because: "the test is over")
        guard state.evictUnusedPrograms(), !state.programCache.entries.contains(where: { $0.program == program.name }) else {
            return "still cached after its domains ended"
        }
        return nil
    }
}
