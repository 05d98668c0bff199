// Misbehaves on purpose, in the way its argument names, so the kernel's tests can check
// that only this domain stops: `kernel-read`, `kernel-write`, `unmapped`, `noncanonical`,
// `privileged`, `bad-syscall`, `bad-pointer`, `direction-flag` (spins across timer ticks
// with DF set), `isolation-a` and `isolation-b` (run together: neither sees the other's
// memory at the same address), `exit`; or that capability invocations are
// refused with the right status: `cap-wrong-type`, `cap-rights`, `cap-overlap`,
// `cap-bad-slot`. Exit status 0 means the kernel answered as it should.
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
} else if what == Array("direction-flag".utf8) {
    user_spin_with_direction_flag(100_000_000)
    exit(0)
} else if what == Array("isolation-a".utf8) {
    // Writes its marker, lets the other domain run, and checks nobody changed it.
    marker = 0xA5A5_A5A5
    for _ in 0..<50 { yield() }
    exit(marker == 0xA5A5_A5A5 ? 0 : 1)
} else if what == Array("isolation-b".utf8) {
    // Runs while the other domain holds its marker at the same address: it must see
    // its own (zero) memory there, then writes its own marker.
    let seen = marker
    marker = 0x5A5A_5A5A
    exit(seen == 0 ? 0 : 1)
} else if what == Array("exit".utf8) {
    exit(7)
}
print("probe: nothing happened for '\(String(decoding: what, as: UTF8.self))'")
exit(99)
