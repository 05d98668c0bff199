// Where the loopback's channel link lives (docs/network.md): the link (ChannelLink in
// User/Sources/FrameChannel) carries the frames, and LwIPOverChannel there lets lwIP
// write into it.
import SwordfishUser
import UserRuntimeC
import FrameChannel
import LwIP

/// Where the link lives: a page table at PML4 entry 5 in root slots 8–10, the ring's RAM
/// and frames (and its blank page) in root slots 11–28.
func linkPlace() -> LinkPlace {
    let table: Capability
    do throws(InvocationStatus) { table = try makePageTable(from: .ram, into: 8, pml4Entry: 5) } catch {
        fail("no page table for the link: \(error)")
    }
    return LinkPlace(table: table, firstEntry: 0, address: 5 << 39, cnode: nil, firstSlot: 11)
}

