// The Linux rows: round trips over primitives that put the waiting thread to sleep and
// wake it through the kernel. Each carries an 8-byte counter that the responder echoes,
// so every round trip is checked as well as timed.
import Glibc
import HostBenchSupport

enum LinuxBenchmark {
    /// Two pipes, one per direction.
    static func pipes(on pair: CorePair, warmUp: Int, rounds: Int) -> [UInt64] {
        var requests: [Int32] = [-1, -1]
        var replies: [Int32] = [-1, -1]
        guard pipe(&requests) == 0, pipe(&replies) == 0 else { fail("pipe: errno \(errno)") }
        defer { (requests + replies).forEach { _ = close($0) } }
        return descriptorRoundTrips(on: pair, warmUp: warmUp, rounds: rounds,
                                    initiator: (send: requests[1], receive: replies[0]),
                                    responder: (send: replies[1], receive: requests[0]))
    }

    /// Two eventfds, one per direction: a write adds to the count, a read takes it.
    static func eventfds(on pair: CorePair, warmUp: Int, rounds: Int) -> [UInt64] {
        let requests = hostbench_eventfd()
        let replies = hostbench_eventfd()
        guard requests >= 0, replies >= 0 else { fail("eventfd: errno \(errno)") }
        defer { _ = close(requests); _ = close(replies) }
        return descriptorRoundTrips(on: pair, warmUp: warmUp, rounds: rounds,
                                    initiator: (send: requests, receive: replies),
                                    responder: (send: replies, receive: requests))
    }

    /// One connected pair of Unix stream sockets, used in both directions.
    static func unixSockets(on pair: CorePair, warmUp: Int, rounds: Int) -> [UInt64] {
        var ends: [Int32] = [-1, -1]
        guard hostbench_socketpair(&ends) == 0 else { fail("socketpair: errno \(errno)") }
        defer { ends.forEach { _ = close($0) } }
        return descriptorRoundTrips(on: pair, warmUp: warmUp, rounds: rounds,
                                    initiator: (send: ends[0], receive: ends[0]),
                                    responder: (send: ends[1], receive: ends[1]))
    }

    /// Two futex words, one written by each side: a side stores the round's number in
    /// its word and wakes the other, then sleeps on the other's word until it holds the
    /// same number. No spinning before sleeping: this is the bare primitive.
    static func futexes(on pair: CorePair, warmUp: Int, rounds: Int) -> [UInt64] {
        let memory = SharedMemory(bytes: 256)
        let requests = memory.base.assumingMemoryBound(to: UInt32.self)
        let replies = (memory.base + 128).assumingMemoryBound(to: UInt32.self)
        let total = warmUp + rounds
        return withExtendedLifetime(memory) {
            pair.run(initiator: {
                timedRounds(warmUp: warmUp, rounds: rounds) { round in
                    let value = UInt32(truncatingIfNeeded: round + 1)
                    post(value, to: requests)
                    waitFor(value, on: replies)
                }
            }, responder: {
                for round in 0..<total {
                    let value = UInt32(truncatingIfNeeded: round + 1)
                    waitFor(value, on: requests)
                    post(value, to: replies)
                }
            })
        }
    }

    private static func post(_ value: UInt32, to word: UnsafeMutablePointer<UInt32>) {
        hostbench_store_release(word, value)
        _ = hostbench_futex_wake(word, 1)
    }

    private static func waitFor(_ value: UInt32, on word: UnsafeMutablePointer<UInt32>) {
        while true {
            let seen = hostbench_load_acquire(word)
            if seen == value { return }
            _ = hostbench_futex_wait(word, seen)     // EAGAIN and EINTR: look again
        }
    }

    /// Round trips of an 8-byte counter: the initiator writes it on `initiator.send`
    /// and reads the echo from `initiator.receive`; the responder does the opposite.
    private static func descriptorRoundTrips(
        on pair: CorePair, warmUp: Int, rounds: Int,
        initiator: (send: Int32, receive: Int32), responder: (send: Int32, receive: Int32)
    ) -> [UInt64] {
        let total = warmUp + rounds
        return pair.run(initiator: {
            timedRounds(warmUp: warmUp, rounds: rounds) { round in
                let value = UInt64(round + 1)
                writeWord(value, to: initiator.send)
                let echo = readWord(from: initiator.receive)
                if echo != value { fail("echo \(echo) for \(value)") }
            }
        }, responder: {
            for _ in 0..<total {
                writeWord(readWord(from: responder.receive), to: responder.send)
            }
        })
    }

    private static func writeWord(_ value: UInt64, to descriptor: Int32) {
        var value = value
        withUnsafeBytes(of: &value) { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    fail("write: errno \(errno)")
                }
                offset += written
            }
        }
    }

    private static func readWord(from descriptor: Int32) -> UInt64 {
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { bytes in
            var offset = 0
            while offset < bytes.count {
                let got = read(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if got < 0 {
                    if errno == EINTR { continue }
                    fail("read: errno \(errno)")
                }
                if got == 0 { fail("read: end of file") }
                offset += got
            }
        }
        return value
    }
}

/// Runs `round` for rounds 0..<warmUp + rounds and returns the cycles of each after the
/// warm-up.
@inline(__always)
func timedRounds(warmUp: Int, rounds: Int, _ round: (Int) -> Void) -> [UInt64] {
    var samples: [UInt64] = []
    samples.reserveCapacity(rounds)
    for index in 0..<(warmUp + rounds) {
        let start = hostbench_rdtsc()
        round(index)
        let end = hostbench_rdtsc()
        if index >= warmUp { samples.append(end &- start) }
    }
    return samples
}
