// The two rows that spin: the channel (the guest's Ring, unchanged) and the floor (the
// guest's CacheLinePingPong). Both sides poll shared memory; nothing enters the kernel.
import Channel
import HostBenchSupport

enum ChannelBenchmark {
    /// The guest's ring size (`Link.ringBytes` in Kernel/Sources/CPUDriver/Link.swift),
    /// so the host measures the ring the guest runs: 63 slots and the acknowledgement.
    static let ringBytes = 4096
    static var slots: Int { Ring.slots(inBytes: ringBytes) }

    /// Round trips: the initiator sends a request on one ring and spins until the reply
    /// arrives on the other; the responder echoes each request. Cycles per round trip,
    /// the first `warmUp` rounds dropped.
    static func roundTrips(on pair: CorePair, warmUp: Int, rounds: Int) -> [UInt64] {
        let memory = SharedMemory(bytes: 2 * ringBytes)
        let requests = memory.base
        let replies = memory.base + ringBytes
        let total = warmUp + rounds
        return withExtendedLifetime(memory) {
            pair.run(initiator: {
                var sender = RingSender(region: requests, slots: slots)
                var receiver = RingReceiver(region: replies, slots: slots)
                var samples: [UInt64] = []
                samples.reserveCapacity(rounds)
                for round in 0..<total {
                    let request = ChannelMessage(tag: 1, UInt64(round))
                    let start = hostbench_rdtsc()
                    send(request, with: &sender)
                    let reply = receive(with: &receiver)
                    let end = hostbench_rdtsc()
                    if reply.words[0] != UInt64(round) { fail("channel reply \(reply.words[0]) to request \(round)") }
                    if round >= warmUp { samples.append(end &- start) }
                }
                return samples
            }, responder: {
                var receiver = RingReceiver(region: requests, slots: slots)
                var sender = RingSender(region: replies, slots: slots)
                for _ in 0..<total {
                    send(receive(with: &receiver), with: &sender)
                }
            })
        }
    }

    /// Messages per timed chunk of the one-way stream.
    static let chunk = 1024

    /// One-way streaming: the responder sends `warmUp + messages` messages as fast as
    /// its credit allows; the initiator receives them and times every `chunk` of the last
    /// `messages`. Cycles per chunk: a preempted chunk spoils one sample, not the figure.
    static func streamingChunks(on pair: CorePair, warmUp: Int, messages: Int) -> [UInt64] {
        let memory = SharedMemory(bytes: ringBytes)
        let ring = memory.base
        let total = warmUp + messages
        return withExtendedLifetime(memory) {
            pair.run(initiator: {
                var receiver = RingReceiver(region: ring, slots: slots)
                var chunks: [UInt64] = []
                chunks.reserveCapacity(messages / chunk)
                var start: UInt64 = 0
                for index in 0..<total {
                    if index >= warmUp, (index - warmUp) % chunk == 0 {
                        let now = hostbench_rdtsc()
                        if index > warmUp { chunks.append(now &- start) }
                        start = now
                    }
                    let message = receive(with: &receiver)
                    if message.words[0] != UInt64(index) { fail("streamed message \(message.words[0]) at \(index)") }
                }
                return chunks
            }, responder: {
                var sender = RingSender(region: ring, slots: slots)
                for index in 0..<total {
                    send(ChannelMessage(tag: 2, UInt64(index)), with: &sender)
                }
            })
        }
    }

    /// Sends `message`, spinning while the ring is full.
    @inline(__always)
    static func send(_ message: ChannelMessage, with sender: inout RingSender) {
        do {
            while try !sender.send(message) {}
        } catch {
            fail("channel corrupt while sending: \(error)")
        }
    }

    /// The next message, spinning while the ring is empty.
    @inline(__always)
    static func receive(with receiver: inout RingReceiver) -> ChannelMessage {
        do {
            while true {
                if let message = try receiver.receive() { return message }
            }
        } catch {
            fail("channel corrupt while receiving: \(error)")
        }
    }
}

enum FloorBenchmark {
    /// No limit on polling: the default (10^8 polls, tens of milliseconds on a line that
    /// stays in the cache) gives up when a busy host preempts the other thread for that
    /// long, and here the other side is a thread of this process that always answers.
    static let patience = Int.max

    /// CacheLinePingPong between the pair: one line written by each side, in separate
    /// 128-byte blocks. Cycles per round trip, the first `warmUp` rounds dropped.
    static func roundTrips(on pair: CorePair, warmUp: Int, rounds: Int) -> [UInt64] {
        let memory = SharedMemory(bytes: 256)
        let initiatorLine = CacheLineFlag(memory.base)
        let responderLine = CacheLineFlag(memory.base + 128)
        return withExtendedLifetime(memory) {
            pair.run(initiator: {
                guard CacheLinePingPong.initiate(mine: initiatorLine, theirs: responderLine, rounds: warmUp,
                                                 patience: patience, clock: hostbench_rdtsc) != nil,
                      let samples = CacheLinePingPong.initiate(mine: initiatorLine, theirs: responderLine, rounds: rounds,
                                                               patience: patience, clock: hostbench_rdtsc)
                else { fail("the cache-line responder stopped answering") }
                return samples
            }, responder: {
                if !CacheLinePingPong.respond(mine: responderLine, theirs: initiatorLine, rounds: warmUp + rounds, patience: patience) {
                    fail("the cache-line initiator stopped")
                }
            })
        }
    }
}
