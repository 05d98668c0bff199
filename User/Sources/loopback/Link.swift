// The channel as lwIP's network interface (docs/network.md): the link (ChannelLink in
// User/Sources/FrameChannel) carries the frames; here lwIP writes into it and reads
// from it.
import SwordfishUser
import UserRuntimeC
import FrameChannel
import LwIP

/// Where the link lives: a page table at PML4 entry 5 in root slots 8–10, the ring's RAM
/// and frames in root slots 11–27.
func linkPlace() -> LinkPlace {
    let table: Capability
    do throws(InvocationStatus) { table = try makePageTable(from: .ram, into: 8, pml4Entry: 5) } catch {
        fail("no page table for the link: \(error)")
    }
    return LinkPlace(table: table, firstEntry: 0, address: 5 << 39, cnode: nil, firstSlot: 11)
}

/// The link lwIP's interface writes into. (A C function pointer cannot capture; a
/// type's function does not.)
enum LwIPLink {
    nonisolated(unsafe) static var link: ChannelLink?

    static func attach(_ link: ChannelLink) {
        Self.link = link
        let reserve: swordfish_loop_reserve = { length in LwIPLink.link?.reserve(length) }
        let commit: swordfish_loop_commit = { length in LwIPLink.link?.commit(length) }
        swordfish_loop_attach(reserve, commit)
    }
}
