// The parallel workload (docs/spanning.md): a blocked matrix multiply (the MatrixMultiply
// C target, the same source the Linux guest runs) split by rows over one thread per core,
// on a domain spanning those cores. Each run's result is checked against a run on one
// thread.
//
//   parallel check <core>…              one run; exit 0 if its result is right
//   parallel bench <rounds> <core>…     the parallel-matmul row: one sample is a run,
//                                       threads started and joined included, after a
//                                       first run that spans the domain
import MatrixMultiply
import SwordfishUser
import UserRuntimeC

func fail(_ why: String) -> Never {
    print("parallel: \(why)")
    exit(1)
}

/// One multiply, rows split evenly over a thread on each of `cores`; its cycles.
func multiply(on cores: [Int]) -> UInt64 {
    let n = Int(MATRIX_N)
    let start = user_timestamp()
    var threads: [Thread] = []
    for (index, core) in cores.enumerated() {
        let first = n * index / cores.count, last = n * (index + 1) / cores.count
        do throws(MonitorStatus) {
            threads.append(try Thread.spawn(on: core) {
                matrix_multiply_rows(Int32(first), Int32(last))
                return 0
            })
        } catch {
            fail("a thread on core \(core): \(error)")
        }
    }
    for thread in threads {
        guard case .returned(0) = thread.join() else { fail("a thread did not finish its rows") }
    }
    return user_timestamp() &- start
}

/// The result of the multiply on this thread alone, which every parallel run must match.
func expectedChecksum() -> Int64 {
    matrix_fill()
    matrix_multiply_rows(0, Int32(MATRIX_N))
    return matrix_checksum()
}

let cores = (arguments[0] == "bench" ? 2 : 1) < arguments.count
    ? ((arguments[0] == "bench" ? 2 : 1)..<arguments.count).compactMap { arguments.integer(at: $0) } : []
guard !cores.isEmpty else {
    print("usage: parallel check <core>… | bench <rounds> <core>…")
    exit(2)
}
let expected = expectedChecksum()
switch arguments[0] {
case "check"?:
    matrix_fill()
    _ = multiply(on: cores)
    guard matrix_checksum() == expected else { fail("the result's checksum is \(matrix_checksum()), not \(expected)") }
    print("parallel: \(MATRIX_N)² multiply on \(cores.count) cores, checksum \(expected)")
    exit(0)
case "bench"?:
    let rounds = arguments.integer(at: 1) ?? 20
    _ = multiply(on: cores)                             // spans the domain
    var samples: [UInt64] = []
    for _ in 0..<rounds {
        matrix_fill()
        samples.append(multiply(on: cores))
        guard matrix_checksum() == expected else { fail("a run's checksum is \(matrix_checksum()), not \(expected)") }
    }
    Benchmark.report("parallel-matmul", cycles: samples)
    exit(0)
default:
    print("usage: parallel check <core>… | bench <rounds> <core>…")
    exit(2)
}
