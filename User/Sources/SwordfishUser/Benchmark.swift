// The lines `swordfish bench` reads from the guest (docs/benchmarks.md): one per row.

public enum Benchmark {
    /// Row `row`'s line from its samples, in cycles: their median and 99th percentile.
    public static func report(_ row: String, cycles samples: [UInt64]) {
        let sorted = samples.sorted()
        print("BENCH name=\(row) unit=cycles median=\(sorted[sorted.count / 2]) p99=\(sorted[sorted.count * 99 / 100]) samples=\(sorted.count)")
    }
}
