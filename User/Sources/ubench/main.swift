// User-mode benchmarks for `bench` mode: prints the same BENCH lines the kernel does.
//   null-syscall         a system call the kernel answers at once (an unknown number)
//   null-invocation      identify on the domain's own CNode capability
//   map-unmap-page       map one 4 KiB frame read-write into a page table of this
//                        domain's own address space, then unmap it (two invocations;
//                        the unmap includes the invlpg)
//   thread-yield-roundtrip
//                        two threads of this domain hand the core to each other with
//                        Thread.yield: two user-level switches, no kernel
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

let rounds = arguments.first == "quick" ? 200 : 5000
let syscall = measure(rounds) { _ = SystemCall.raw(0xFFFF) }
print("BENCH name=null-syscall unit=cycles median=\(syscall.median) p99=\(syscall.p99) samples=\(rounds)")
let invocation = measure(rounds) { _ = try? Capability.rootCNode.identify() }
print("BENCH name=null-invocation unit=cycles median=\(invocation.median) p99=\(invocation.p99) samples=\(rounds)")
// A page table covering 1 TiB (PML4 entry 2) in slots 3–5, a frame in slot 6.
let frame = Capability(slot: 6)
if let table = try? makePageTable(from: .ram, into: 3, pml4Entry: 2), (try? Capability.ram.retype(to: .frame, size: 4096, into: frame)) != nil {
    let mapUnmap = measure(rounds) {
        try? table.map(frame, at: 0, rights: [.read, .write])
        try? table.unmap(at: 0)
    }
    print("BENCH name=map-unmap-page unit=cycles median=\(mapUnmap.median) p99=\(mapUnmap.p99) samples=\(rounds)")
} else {
    print("BENCH name=map-unmap-page unsupported reason=setting up the page table failed")
}
var partnerStops = false
let partner = Thread.spawn {
    while !partnerStops { Thread.yield() }
    return 0
}
let yieldRoundTrip = measure(rounds) { Thread.yield() }
partnerStops = true
_ = partner.join()
print("BENCH name=thread-yield-roundtrip unit=cycles median=\(yieldRoundTrip.median) p99=\(yieldRoundTrip.p99) samples=\(rounds)")
exit(0)
