// User-mode benchmarks for `bench` mode: prints the same BENCH lines the kernel does.
//   null-syscall         a system call the kernel answers at once (an unknown number)
//   null-invocation      identify on the domain's own CNode capability
import SwordfishUser
import UserRuntimeC

func measure(_ rounds: Int, _ body: () -> Void) -> (median: UInt64, p99: UInt64) {
    var samples: [UInt64] = []
    samples.reserveCapacity(rounds)
    for _ in 0..<(rounds / 10) { body() }                 // warm-up
    for _ in 0..<rounds {
        let start = user_timestamp()
        body()
        samples.append(user_timestamp() &- start)
    }
    samples.sort()
    return (samples[rounds / 2], samples[min(rounds - 1, rounds * 99 / 100)])
}

let rounds = arguments == Array("quick".utf8) ? 200 : 5000
let syscall = measure(rounds) { _ = SystemCall.raw(0xFFFF) }
print("BENCH name=null-syscall unit=cycles median=\(syscall.median) p99=\(syscall.p99) samples=\(rounds)")
let invocation = measure(rounds) { _ = invoke(0, CapabilityOperation.identify.rawValue) }
print("BENCH name=null-invocation unit=cycles median=\(invocation.median) p99=\(invocation.p99) samples=\(rounds)")
exit(0)
