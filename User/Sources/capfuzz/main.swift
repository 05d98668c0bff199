// Random capability invocations from a seed: `capfuzz <seed> <count>`. Most arguments
// are plausible (small slot numbers, real types, page multiples, small counts), some are
// garbage, so both the checks and the operations get exercised. The kernel must answer
// every one with a status the ABI declares and stay up; afterwards it checks its
// capability invariants. Exit 0 only if every status was a declared one and the run
// both succeeded and was refused somewhere (else it exercised nothing).
import SwordfishUser

guard arguments.count == 2, var seed = arguments.number(at: 0), let count = arguments.number(at: 1) else {
    print("usage: capfuzz <seed> <count>")
    exit(2)
}
func next() -> UInt64 {
    seed = seed &* 6364136223846793005 &+ 1442695040888963407
    return seed >> 11
}
func plausible() -> UInt64 {
    switch next() % 5 {
    case 0: return next()
    case 1: return 4096 << (next() % 6)
    default: return next() % 24
    }
}
// Every operation but receive and wait (which could sleep for ever), including map and
// unmap on whatever tables the run has made. Call stays in: it sleeps only on an
// endpoint this domain receives on, and without receive it claims none, so every call
// here is refused, after its decoding and capability checks ran.
let operations = CapabilityOperation.allCases.filter { $0 != .receive && $0 != .wait }.map { $0.rawValue }
var succeeded: UInt64 = 0
var undeclared: UInt64 = 0
for _ in 0..<count {
    // Slot 0 holds the domain's own CNode and slot 63 its address space (out of reach
    // of these slot numbers); deleting either would end the run early.
    let target = 1 + next() % 23
    let operation = operations[Int(next() % UInt64(operations.count))]
    let result = Capability.invokeRaw(target, operation, plausible(), plausible(), plausible(), plausible())
    if result.status == 0 { succeeded += 1 }
    if InvocationStatus(rawValue: result.status) == nil {
        if undeclared == 0 { print("capfuzz: operation \(operation) on slot \(target) answered \(result.status), which the ABI does not declare") }
        undeclared += 1
    }
}
print("capfuzz: \(count) invocations, \(succeeded) succeeded, \(count - succeeded) refused, \(undeclared) with undeclared statuses")
exit(undeclared == 0 && succeeded > 0 && succeeded < count ? 0 : 1)
