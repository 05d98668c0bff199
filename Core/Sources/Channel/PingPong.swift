// The floor for any cross-core channel: two cores bounce a counter between two cache
// lines, each line written by one core only. Nothing can be cheaper than this, so the
// channel's round trip is reported as a ratio to it. The same code runs in the guest
// (the shell's `bench channel`) and on the host (`swordfish bench channel`).
import Synchronization

/// One 64-byte line that a single core writes and another reads.
public struct CacheLineFlag {
    let word: UnsafeMutablePointer<Atomic<UInt64>>

    /// `line` must be 64-byte aligned and written by one side only.
    public init(_ line: UnsafeMutableRawPointer) {
        word = line.assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    @inline(__always) public func load() -> UInt64 { word.pointee.load(ordering: .acquiring) }
    @inline(__always) public func store(_ value: UInt64) { word.pointee.store(value, ordering: .releasing) }
}

public enum CacheLinePingPong {
    /// The initiating side: for each round, write the next counter value to `mine`
    /// and wait until the responder echoes it on `theirs`. Returns the cycles of each
    /// round as measured by `clock`, or nil if the responder stopped answering (after
    /// `patience` polls in one round).
    public static func initiate(mine: CacheLineFlag, theirs: CacheLineFlag, rounds: Int,
                                patience: Int = 100_000_000, clock: () -> UInt64) -> [UInt64]? {
        var samples: [UInt64] = []
        samples.reserveCapacity(rounds)
        var value = mine.load()
        for _ in 0..<rounds {
            value &+= 1
            let start = clock()
            mine.store(value)
            var polls = 0
            while theirs.load() != value {
                polls += 1
                if polls > patience { return nil }
            }
            samples.append(clock() &- start)
        }
        return samples
    }

    /// The responding side: echo every new value of `theirs` on `mine`, `rounds` times.
    /// False if the initiator stopped (after `patience` polls without a new value).
    public static func respond(mine: CacheLineFlag, theirs: CacheLineFlag, rounds: Int,
                               patience: Int = 100_000_000) -> Bool {
        var last = mine.load()
        for _ in 0..<rounds {
            var polls = 0
            var seen = theirs.load()
            while seen == last {
                polls += 1
                if polls > patience { return false }
                seen = theirs.load()
            }
            mine.store(seen)
            last = seen
        }
        return true
    }
}

/// Median and 99th percentile of a set of samples (sorted in place).
public struct SampleSummary: Equatable, Sendable {
    public var median: UInt64
    public var p99: UInt64
    public var minimum: UInt64

    public init(median: UInt64, p99: UInt64, minimum: UInt64) {
        self.median = median
        self.p99 = p99
        self.minimum = minimum
    }

    public init(_ samples: inout [UInt64]) {
        samples.sort()
        guard let first = samples.first else { median = 0; p99 = 0; minimum = 0; return }
        minimum = first
        median = samples[samples.count / 2]
        p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
    }
}
