// swordfish-hostbench: the guest's channel code on two real CPUs of this machine, against
// the floor (a bare cache-line ping-pong) and against Linux's blocking IPC, all in one
// run on the same two CPUs. Prints one JSON object (see Report.swift). Built in release
// and run by `swordfish bench channel`; it can also be run by hand:
//
//   swordfish-hostbench [--quick] [--cpus A,B] [--only ROW,ROW...]
//
// (--cpus picks the measuring and the responding CPU, by default the first two this
// process may use; --only runs a subset of the rows, for experiments.)
// Figures are time-stamp-counter cycles; the counter's rate is measured in the same run
// against CLOCK_MONOTONIC, from the first benchmark to the last, to give nanoseconds.
import Glibc
import HostBenchSupport

struct Options {
    var quick = false
    var pair = CorePair.allowed()
    /// Row names to run; nil for all of them.
    var only: Set<String>?

    init(_ arguments: [String], rows: [String]) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--quick":
                quick = true
            case "--cpus":
                let cpus = (rest.popFirst() ?? "").split(separator: ",").compactMap { Int32($0) }
                guard cpus.count == 2, cpus.allSatisfy({ $0 >= 0 }) else { usage("--cpus takes two CPU numbers, A,B") }
                pair = CorePair(initiator: cpus[0], responder: cpus[1])
            case "--only":
                only = Set((rest.popFirst() ?? "").split(separator: ",").map(String.init))
                guard let only, only.isSubset(of: rows) else { usage("--only takes row names from \(rows.joined(separator: ","))") }
            case "--help", "-h":
                usage(nil)
            default:
                usage("unknown argument '\(argument)'")
            }
        }
    }

    func runs(_ row: String) -> Bool { only?.contains(row) ?? true }

    func usage(_ problem: String?) -> Never {
        let usage = "usage: swordfish-hostbench [--quick] [--cpus A,B] [--only ROW,ROW...]"
        guard let problem else {
            print(usage)
            exit(0)
        }
        fail("\(problem)\n\(usage)", status: 2)
    }
}

/// How long each row runs, in total over all blocks. Spinning rounds are cheap, blocking
/// ones are not. `streamed` messages go one way for the channel's throughput. On one CPU
/// a spinning round costs two scheduler timeslices (milliseconds), so the spinning rows
/// run only a couple of hundred rounds there.
struct Lengths {
    /// Every row runs in this many blocks, interleaved with the other rows' blocks, so
    /// that a change in the host while the benchmark runs (another program, the
    /// hypervisor moving a virtual CPU) falls on every row alike. Each block starts with
    /// a warm-up of a tenth of its rounds that is not measured.
    static let blocks = 10

    var spinning: Int
    var blocking: Int
    var streamed: Int

    init(quick: Bool, sameCPU: Bool) {
        let scale = quick ? 10 : 1
        spinning = 100_000 / scale
        blocking = 20_000 / scale
        streamed = 1_000_000 / scale
        if sameCPU {
            spinning = min(spinning, 200 / scale)
            streamed = 0        // a stream there measures timeslices; no throughput
        }
    }

    /// A block of a row that runs `total` rounds in all: its warm-up and measured rounds.
    static func block(of total: Int) -> (warmUp: Int, rounds: Int) {
        let rounds = max(total / blocks, 1)
        return (rounds / 10, rounds)
    }
}

/// One row: its name, whether it spins, and how to run one block of it.
struct Benchmark {
    var name: String
    var spins: Bool
    var block: (CorePair, _ warmUp: Int, _ rounds: Int) -> [UInt64]
}

let allBenchmarks = [
    Benchmark(name: "channel", spins: true, block: ChannelBenchmark.roundTrips),
    Benchmark(name: "cacheline-floor", spins: true, block: FloorBenchmark.roundTrips),
    Benchmark(name: "pipe", spins: false, block: LinuxBenchmark.pipes),
    Benchmark(name: "eventfd", spins: false, block: LinuxBenchmark.eventfds),
    Benchmark(name: "futex", spins: false, block: LinuxBenchmark.futexes),
    Benchmark(name: "unix-socket", spins: false, block: LinuxBenchmark.unixSockets),
]
let options = Options(Array(CommandLine.arguments.dropFirst()), rows: allBenchmarks.map(\.name))
let benchmarks = allBenchmarks.filter { options.runs($0.name) }
let pair = options.pair
let lengths = Lengths(quick: options.quick, sameCPU: pair.sameCPU)
pair.pinInitiator()

let clockStart = TSCClock.read()
var samples = [[UInt64]](repeating: [], count: benchmarks.count)
var streamingChunks: [UInt64] = []
for _ in 0..<Lengths.blocks {
    for (index, benchmark) in benchmarks.enumerated() {
        let block = Lengths.block(of: benchmark.spins ? lengths.spinning : lengths.blocking)
        samples[index] += benchmark.block(pair, block.warmUp, block.rounds)
        if benchmark.name == "channel", lengths.streamed > 0 {
            let stream = Lengths.block(of: lengths.streamed)
            streamingChunks += ChannelBenchmark.streamingChunks(on: pair, warmUp: stream.warmUp, messages: stream.rounds)
        }
    }
}

// At least a fifth of a second between the two clock readings, so that their own
// uncertainty (tens of nanoseconds) stays below a part in a million.
var clockEnd = TSCClock.read()
while clockEnd.nanoseconds &- clockStart.nanoseconds < 200_000_000 {
    usleep(10_000)
    clockEnd = TSCClock.read()
}
let megahertz = TSCClock.megahertz(from: clockStart, to: clockEnd)

let rows = zip(benchmarks, samples).map { benchmark, samples in
    var row = Row(name: benchmark.name, samples: samples)
    if benchmark.name == "channel" {
        row.streaming = (messagesPerChunk: ChannelBenchmark.chunk, chunks: streamingChunks)
        row.extras = [("ring_slots", String(ChannelBenchmark.slots))]
    }
    return row
}
let report = Report(
    megahertz: megahertz, pair: pair, quick: options.quick, rows: rows,
    note: pair.sameCPU ? "one CPU: both threads ran on CPU \(pair.initiator), so the spinning rows measure scheduler timeslices, not cache-line transfers, and the channel's throughput is not measured" : nil
)
print(report.json, terminator: "")
