// Misbehaves on purpose, in the way its argument names, so the kernel's tests can check
// that only this domain stops: `kernel-read`, `kernel-write`, `unmapped`, `noncanonical`,
// `privileged`, `bad-syscall`, `bad-pointer`, `direction-flag` (spins across timer ticks
// with DF set), `isolation a` and `isolation b` (run together: neither sees the other's
// memory at the same address), `exit`; or that capability invocations are
// refused with the right status: `cap-wrong-type`, `cap-rights`, `cap-overlap`,
// `cap-bad-slot`; or that its own address space, built from page-table and frame
// capabilities, changes only as the rules allow: `map-double`, `map-occupied`,
// `map-refusals`, `map-write-unmap`, `map-revoked` (which must stop with a page fault),
// `block-not-held`; `resume-noncanonical` (must be stopped by the kernel), `cnode-copy`
// (must leave nothing behind).
// Exit status 0 means the kernel answered as it should.
import SwordfishUser
import UserRuntimeC

/// At the same virtual address in every domain running this program; each domain has
/// its own frame behind it.
nonisolated(unsafe) var marker: UInt64 = 0

let what = arguments
if what == Array("kernel-read".utf8) { _ = user_read(0x10_0000) }                 // the kernel image
else if what == Array("kernel-write".utf8) { user_write(0x10_0000, 0) }
else if what == Array("unmapped".utf8) { _ = user_read(0x0000_7000_0000_0000) }
else if what == Array("noncanonical".utf8) { _ = user_read(0x8000_0000_0000_0000) }
else if what == Array("privileged".utf8) { user_halt() }
else if what == Array("bad-syscall".utf8) {
    let result = SystemCall.raw(9999)
    print("probe: system call 9999 answered \(result.status)")
    exit(result.status == SystemCall.Status.invalidSystemCall.rawValue ? 0 : 1)
} else if what == Array("bad-pointer".utf8) {
    let kernel = SystemCall.raw(SystemCall.print, 0x10_0000, 16)
    let unmapped = SystemCall.raw(SystemCall.print, 0x0000_7000_0000_0000, 16)
    let huge = SystemCall.raw(SystemCall.print, 0x80_0000_0000, 1 << 40)
    print("probe: bad pointers answered \(kernel.status) \(unmapped.status) \(huge.status)")
    let bad = SystemCall.Status.badAddress.rawValue
    exit(kernel.status == bad && unmapped.status == bad && huge.status == SystemCall.Status.badLength.rawValue ? 0 : 1)
} else if what == Array("cap-wrong-type".utf8) {
    // Slot 0 is a CNode: it cannot be retyped into a frame (retypeNotAllowed = 39).
    let result = invoke(0, CapabilityOperation.retype.rawValue, 2 /* frame */, 4096, 1, 5)
    exit(result.status == 39 ? 0 : 1)
} else if what == Array("cap-rights".utf8) {
    // A frame from the RAM; a read-only copy of it; then an attempt to mint all rights
    // back from that copy: rights only shrink, so the last copy is read-only too.
    let read: UInt64 = 1, all: UInt64 = 0xF
    let frame = invoke(1, CapabilityOperation.retype.rawValue, 2, 4096, 1, 4)
    guard frame.status == 0 else { print("probe: retype \(frame.status)"); exit(1) }
    let first = invoke(4, CapabilityOperation.mint.rawValue, 2, read, 0)
    let second = invoke(2, CapabilityOperation.mint.rawValue, 3, all, 0)
    let identified = invoke(3, CapabilityOperation.identify.rawValue)
    print("probe: mint \(first.status) \(second.status), identify \(identified.status) rights \((identified.value >> 8) & 0xFF)")
    exit(first.status == 0 && second.status == 0 && identified.status == 0 && (identified.value >> 8) & 0xFF == read ? 0 : 1)
} else if what == Array("cap-overlap".utf8) {
    // All 64 KiB of RAM into one frame, then another frame from the same RAM: no room
    // (regionExhausted = 44) — two live objects never overlap.
    let first = invoke(1, CapabilityOperation.retype.rawValue, 2, 65536, 1, 4)
    let second = invoke(1, CapabilityOperation.retype.rawValue, 2, 4096, 1, 5)
    print("probe: retype \(first.status), overlapping retype \(second.status)")
    exit(first.status == 0 && second.status == 44 ? 0 : 1)
} else if what == Array("cap-bad-slot".utf8) {
    // Copying from an empty slot (slotEmpty = 35), a slot past the CNode (invalidSlot =
    // 33), a malformed address (badAddress = 17), an unknown operation (16).
    let empty = invoke(9, CapabilityOperation.copy.rawValue, 10)
    let past = invoke(1000, CapabilityOperation.identify.rawValue)
    let malformed = invoke(1 << 40, CapabilityOperation.identify.rawValue)
    let unknown = invoke(1, 77)
    print("probe: \(empty.status) \(past.status) \(malformed.status) \(unknown.status)")
    exit(empty.status == 35 && past.status == 33 && malformed.status == 17 && unknown.status == 16 ? 0 : 1)
} else if what.starts(with: Array("map-".utf8)) {
    // A page table for the 2 MiB at 1 TiB (PML4 entry 2, untouched by the program's
    // own layout) in slots 3–5, a frame in slot 6, mapped read-write at `window`.
    let window: UInt64 = 2 << 39
    let map = CapabilityOperation.map.rawValue, unmap = CapabilityOperation.unmap.rawValue
    let read: UInt64 = 1, write: UInt64 = 2
    let table = makePageTable(from: 1, into: 3, pml4Entry: 2)
    let frame = invoke(1, CapabilityOperation.retype.rawValue, 2 /* frame */, 4096, 1, 6)
    let mapped = invoke(5, map, 0, 6, read | write)
    guard table == 0, frame.status == 0, mapped.status == 0 else {
        print("probe: setting up the window answered \(table) \(frame.status) \(mapped.status)")
        exit(1)
    }
    if what == Array("map-double".utf8) {
        // The same copy again, elsewhere: alreadyMapped (60). Another copy maps fine.
        let again = invoke(5, map, 1, 6, read)
        let copy = invoke(6, CapabilityOperation.copy.rawValue, 7)
        let other = invoke(5, map, 1, 7, read)
        print("probe: double mapping \(again.status), copy \(copy.status) \(other.status)")
        exit(again.status == 60 && copy.status == 0 && other.status == 0 ? 0 : 1)
    } else if what == Array("map-occupied".utf8) {
        // Another frame into the entry in use: entryOccupied (58).
        let second = invoke(1, CapabilityOperation.retype.rawValue, 2, 4096, 1, 7)
        let occupied = invoke(5, map, 0, 7, read)
        print("probe: occupied entry \(occupied.status)")
        exit(second.status == 0 && occupied.status == 58 ? 0 : 1)
    } else if what == Array("map-refusals".utf8) {
        // RAM into a page table, a page table into the PML4 (wrongType 37); the kernel's
        // slot 0 and the upper half of the PML4 (entryReserved 57); entry 512
        // (entryOutOfRange 56); a read-only copy mapped writable (insufficientRights
        // 38); an empty entry unmapped (entryEmpty 59); an 8 KiB frame (pageSizeMismatch
        // 61); map invoked on a frame (wrongType 37).
        let ram = invoke(5, map, 1, 1, read)
        let level = invoke(ownPML4, map, 3, 5, 0)
        let pdpt = invoke(1, CapabilityOperation.retype.rawValue, 6, 0, 1, 8)
        let kernelSlot = invoke(ownPML4, map, 0, 8, 0)
        let upperHalf = invoke(ownPML4, map, 256, 8, 0)
        let range = invoke(5, map, 512, 7, read)
        let readOnly = invoke(6, CapabilityOperation.mint.rawValue, 9, read, 0)
        let writable = invoke(5, map, 1, 9, read | write)
        let empty = invoke(5, unmap, 1)
        let big = invoke(1, CapabilityOperation.retype.rawValue, 2, 8192, 1, 10)
        let tooBig = invoke(5, map, 1, 10, read)
        let notTable = invoke(6, map, 1, 9, read)
        print("probe: refusals \(ram.status) \(level.status) \(kernelSlot.status) \(upperHalf.status) \(range.status) \(writable.status) \(empty.status) \(tooBig.status) \(notTable.status)")
        exit(ram.status == 37 && level.status == 37 && pdpt.status == 0 && kernelSlot.status == 57
             && upperHalf.status == 57 && range.status == 56 && readOnly.status == 0 && writable.status == 38
             && empty.status == 59 && big.status == 0 && tooBig.status == 61 && notTable.status == 37 ? 0 : 1)
    } else if what == Array("map-write-unmap".utf8) {
        // Write through the mapping, unmap it, map the same frame one page further on:
        // the value is there.
        user_write(window, 0x5EED_F00D)
        let unmapped = invoke(5, unmap, 0)
        let remapped = invoke(5, map, 1, 6, read)
        let seen = user_read(window + 4096)
        print("probe: unmap \(unmapped.status), map again \(remapped.status), read \(seen == 0x5EED_F00D)")
        exit(unmapped.status == 0 && remapped.status == 0 && seen == 0x5EED_F00D ? 0 : 1)
    } else if what == Array("map-revoked".utf8) {
        // Revoking the frame through another copy takes the mapped copy, and its
        // mapping, away: the next write faults and stops this domain.
        user_write(window, 1)
        let copy = invoke(6, CapabilityOperation.copy.rawValue, 7)
        let revoked = invoke(7, CapabilityOperation.revoke.rawValue)
        print("probe: copy \(copy.status), revoke \(revoked.status); writing to the revoked page")
        user_write(window, 2)
        print("probe: the write to a revoked page went through")
        exit(1)
    }
} else if what == Array("resume-noncanonical".utf8) {
    // A `syscall` in the last two bytes of the user half: its return address is the
    // first non-canonical one. The kernel must stop the domain, not `iretq` there.
    let last: UInt64 = 0x0000_7FFF_FFFF_F000
    let types: [UInt64] = [6, 7, 8]              // PDPT, page directory, page table
    var parent = ownPML4
    var statuses: [UInt64] = []
    for (index, type) in types.enumerated() {
        statuses.append(invoke(1, CapabilityOperation.retype.rawValue, type, 0, 1, 3 + UInt64(index)).status)
        statuses.append(invoke(parent, CapabilityOperation.map.rawValue, index == 0 ? 255 : 511, 3 + UInt64(index)).status)
        parent = 3 + UInt64(index)
    }
    statuses.append(invoke(1, CapabilityOperation.retype.rawValue, 2, 4096, 1, 6).status)
    statuses.append(invoke(5, CapabilityOperation.map.rawValue, 511, 6, 7 /* read, write, execute */).status)
    guard statuses.allSatisfy({ $0 == 0 }) else { print("probe: setting up the last page failed"); exit(1) }
    user_write(last + 0xFF8, 0x050F_0000_0000_0000)          // bytes 0F 05 (syscall) at the page's end
    user_call(last + 0xFFE)
    print("probe: returned to a non-canonical address")
    exit(1)
} else if what == Array("block-not-held".utf8) {
    // The domain holds no copy of the RAM block its address space was made from (a
    // revoke through one would take the kernel's copy too).
    let block = invoke(capabilityAddress(root: 63, leaf: 0), CapabilityOperation.identify.rawValue)
    exit(block.status == 0 && block.value & 0xFF == 0 ? 0 : 1)
} else if what == Array("cnode-copy".utf8) {
    // A copy of its own root CNode's capability: the domain's end must still destroy
    // the CNode (the kernel's leak checks after the tests notice if not).
    let copied = invoke(0, CapabilityOperation.copy.rawValue, 20)
    exit(copied.status == 0 ? 0 : 1)
} else if what == Array("direction-flag".utf8) {
    // Spins with DF set until the timer has preempted it at least twice (each time the
    // kernel ran with the flag cleared, or its string copies would have run backwards),
    // and the flag must still be set when it is back.
    let before = Thread.preemptions
    var kept = true
    var rounds = 0
    while Thread.preemptions < before + 2 && rounds < 100 {
        kept = kept && user_spin_with_direction_flag(10_000_000) != 0
        rounds += 1
    }
    print("probe: \(Thread.preemptions - before) preemptions with DF set, flag kept \(kept)")
    exit(kept && Thread.preemptions >= before + 2 ? 0 : 1)
} else if what.starts(with: Array("isolation ".utf8)) {
    // Two of these run together, each with its own marker value: each finds zero at
    // the marker, writes its value, lets the other run and finds its own value still
    // there. Whichever runs first, a shared frame would fail one of the two.
    let own = 0xA5A5_0000 | UInt64(what.last ?? 0)
    let seen = marker
    marker = own
    for _ in 0..<50 { yield() }
    if seen != 0 || marker != own { print("probe: isolation saw \(seen) before and \(marker) after writing \(own)") }
    exit(seen == 0 && marker == own ? 0 : 1)
} else if what == Array("exit".utf8) {
    exit(7)
}
print("probe: nothing happened for '\(String(decoding: what, as: UTF8.self))'")
exit(99)
