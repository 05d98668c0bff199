// Misbehaves on purpose, in the way its argument names, so the kernel's tests can check
// that only this domain stops: `kernel-read`, `kernel-write`, `unmapped`, `privileged`,
// `bad-syscall`, `bad-pointer`, `exit`.
import SwordfishUser
import UserRuntimeC

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
} else if what == Array("exit".utf8) {
    exit(7)
}
print("probe: nothing happened for '\(String(decoding: what, as: UTF8.self))'")
exit(99)
