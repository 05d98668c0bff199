// The messages CPU drivers exchange over their links, declared once: `encode` and
// `decode` are the two ends, and both are tested on the host. A message that does not decode (unknown tag, a field out
// of range) is untrusted input from another core: it is counted and dropped.
import Basics
import Channel
import KnowledgeBase

public enum KernelMessage: Equatable {
    /// Up to 48 bytes of a console line; `isEnd` closes the line.
    case console(bytes: [UInt8], isEnd: Bool)
    /// Asks for a `pong` with the same token; `wake` says whether the sender may be
    /// halted by then (pinging cores that spin while they wait need no IPI).
    case ping(token: UInt64, wake: Bool)
    case pong(token: UInt64)
    case statusRequest
    case statusReply(CoreStatus)
    /// Run the in-kernel tests; the set says which cores are up.
    case runTests(CoreSet)
    /// Start this core's monitor, with the set of cores that run one (every core that
    /// came up): core 0 sends it once it knows which did, so every monitor gets the same.
    case startMonitor(CoreSet)
    case testReply(TestReport)
    /// Fault on purpose (the shell's `panic <core>`), if the sender confirms the ticket:
    /// the receiver answers with a `panicCheck`, and faults only on a `panicAnswer`
    /// that grants it (PanicAuthority.swift).
    case panicRequest(ticket: UInt64)
    /// Did a kernel-capability invocation on your core grant `ticket` for me?
    case panicCheck(ticket: UInt64)
    /// The answer to a `panicCheck`.
    case panicAnswer(ticket: UInt64, granted: Bool)
    /// Poll without halting for up to `milliseconds` (on the receiver's clock) while the
    /// sender measures round trips; 0 withdraws the sender's request (StayAwake.swift).
    case stayAwake(milliseconds: UInt32)
    /// Measure the round trip to every core in the set and report a `latency` each.
    case measureLatencies(CoreSet)
    /// One entry of the sender's row of the latency matrix (median round trip).
    case latency(to: CoreID, cycles: UInt64)
    /// One message of the channel stress test, numbered per sender.
    case stream(sequence: UInt64)
    /// Measure the channel round trip and the cache-line floor to `peer`, `rounds` each.
    case benchChannel(peer: CoreID, rounds: Int)
    /// Echo the cache-line ping-pong from `peer` for `rounds` rounds.
    case floorEcho(peer: CoreID, rounds: Int)
    case benchResult(BenchResult)
    /// The sender's place in the machine, from its own CPUID (up to four caches).
    case place(CorePlace, caches: [CacheFact])
    /// A slice of the receiver's children in the multicast tree (`total` in all).
    case treeChildren(total: Int, offset: Int, children: [CoreID])
    /// A multicast travelling down the tree, and its acknowledgement coming back up:
    /// how many cores the subtree holds and how many duplicate deliveries it saw.
    case multicast(id: UInt64)
    case multicastAck(id: UInt64, reached: Int, duplicates: Int)
    /// A notify for the receiver's domain `domain` (its local id), from a domain on the
    /// sender's core that invoked its notify capability.
    case wake(domain: UInt32)
    /// Turn this core's trace buffer on (emptied) or off (`trace on|off`); the answer
    /// says where the buffer lies (its physical address and bytes; 0 and 0 when there
    /// is none) and whether it is on.
    case traceSwitch(on: Bool)
    case traceBuffer(address: UInt64, bytes: UInt64, on: Bool)
    /// The sender's kernel panicked and stops for good: the last thing its panic path
    /// sends (without allocating), so that the receivers' monitors stop waiting on it.
    /// It names no core: a core can only say that it stops itself.
    case stopping

    /// Bytes of a console line one message carries.
    public static let textBytesPerMessage = 48

    public enum Tag: UInt16, CaseIterable {
        case console = 1, ping, pong, statusRequest, statusReply, runTests, testReply, panicRequest
        case stayAwake, measureLatencies, latency, stream, benchChannel, floorEcho, benchResult
        case place, treeChildren, multicast, multicastAck, startMonitor, wake
        case panicCheck, panicAnswer
        case traceSwitch, traceBuffer
        case stopping
    }

    /// `line` cut into the messages `make` builds from each piece and whether it is the
    /// last (at least one message, even for an empty line).
    public static func pieces(of line: [UInt8], _ make: ([UInt8], Bool) -> KernelMessage) -> [KernelMessage] {
        var messages: [KernelMessage] = []
        var offset = 0
        repeat {
            let end = min(offset + textBytesPerMessage, line.count)
            messages.append(make(Array(line[offset..<end]), end == line.count))
            offset = end
        } while offset < line.count
        return messages
    }

    /// A piece of text: its length and end flag in the first word, the bytes after.
    static func encodeText(_ tag: Tag, _ bytes: [UInt8], isEnd: Bool) -> ChannelMessage {
        var message = ChannelMessage(tag: tag.rawValue)
        message.words[0] = UInt64(min(bytes.count, textBytesPerMessage)) | (isEnd ? 1 << 8 : 0)
        for (i, byte) in bytes.prefix(textBytesPerMessage).enumerated() {
            message.words[1 + i / 8] |= UInt64(byte) << UInt64((i % 8) * 8)
        }
        return message
    }

    static func decodeText(_ w: InlineArray<7, UInt64>) -> (bytes: [UInt8], isEnd: Bool)? {
        let count = Int(w[0] & 0xFF)
        guard count <= textBytesPerMessage, w[0] >> 9 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for i in 0..<count { bytes.append(UInt8(truncatingIfNeeded: w[1 + i / 8] >> UInt64((i % 8) * 8))) }
        return (bytes, w[0] & (1 << 8) != 0)
    }

    public func encode() -> ChannelMessage {
        switch self {
        case .console(let bytes, let isEnd): return Self.encodeText(.console, bytes, isEnd: isEnd)
        case .ping(let token, let wake): return ChannelMessage(tag: Tag.ping.rawValue, token, wake ? 1 : 0)
        case .pong(let token): return ChannelMessage(tag: Tag.pong.rawValue, token)
        case .statusRequest: return ChannelMessage(tag: Tag.statusRequest.rawValue, 0)
        case .statusReply(let s):
            var message = ChannelMessage(tag: Tag.statusReply.rawValue, UInt64(s.apicID), s.ticks, s.totalFrames, s.freeFrames)
            message.words[4] = s.heapBytes
            message.words[5] = s.domains
            message.words[6] = s.dropped
            return message
        case .runTests(let live): return live.encode(tag: Tag.runTests.rawValue)
        case .startMonitor(let live): return live.encode(tag: Tag.startMonitor.rawValue)
        case .testReply(let r):
            var message = ChannelMessage(tag: Tag.testReply.rawValue, UInt64(r.passed), UInt64(r.failed), r.blockAddress, r.shareStart)
            message.words[4] = r.shareEnd
            return message
        case .panicRequest(let ticket): return ChannelMessage(tag: Tag.panicRequest.rawValue, ticket)
        case .panicCheck(let ticket): return ChannelMessage(tag: Tag.panicCheck.rawValue, ticket)
        case .panicAnswer(let ticket, let granted): return ChannelMessage(tag: Tag.panicAnswer.rawValue, ticket, granted ? 1 : 0)
        case .stayAwake(let milliseconds): return ChannelMessage(tag: Tag.stayAwake.rawValue, UInt64(milliseconds))
        case .measureLatencies(let cores): return cores.encode(tag: Tag.measureLatencies.rawValue)
        case .latency(let to, let cycles): return ChannelMessage(tag: Tag.latency.rawValue, UInt64(to.rawValue), cycles)
        case .stream(let sequence): return ChannelMessage(tag: Tag.stream.rawValue, sequence, ~sequence)
        case .benchChannel(let peer, let rounds): return ChannelMessage(tag: Tag.benchChannel.rawValue, UInt64(peer.rawValue), UInt64(rounds))
        case .floorEcho(let peer, let rounds): return ChannelMessage(tag: Tag.floorEcho.rawValue, UInt64(peer.rawValue), UInt64(rounds))
        case .benchResult(let r):
            var message = ChannelMessage(tag: Tag.benchResult.rawValue, r.channel.median, r.channel.p99, r.floor.median, r.floor.p99)
            message.words[4] = r.ok ? 1 : 0
            return message
        case .place(let place, let caches):
            var message = ChannelMessage(tag: Tag.place.rawValue, UInt64(place.package), UInt64(place.core), UInt64(place.thread))
            for (i, cache) in caches.prefix(4).enumerated() {
                let kind: UInt64 = cache.kind == .data ? 1 : cache.kind == .instruction ? 2 : 3
                message.words[3 + i] = UInt64(cache.level & 0xFF) | kind << 8 | UInt64(cache.sharingGroup) << 32
            }
            return message
        case .treeChildren(let total, let offset, let children):
            var message = ChannelMessage(tag: Tag.treeChildren.rawValue, UInt64(total), UInt64(offset))
            for (i, child) in children.prefix(5).enumerated() { message.words[2 + i] = UInt64(child.rawValue) + 1 }
            return message
        case .multicast(let id): return ChannelMessage(tag: Tag.multicast.rawValue, id)
        case .wake(let domain): return ChannelMessage(tag: Tag.wake.rawValue, UInt64(domain))
        case .traceSwitch(let on): return ChannelMessage(tag: Tag.traceSwitch.rawValue, on ? 1 : 0)
        case .traceBuffer(let address, let bytes, let on): return ChannelMessage(tag: Tag.traceBuffer.rawValue, address, bytes, on ? 1 : 0)
        case .multicastAck(let id, let reached, let duplicates):
            return ChannelMessage(tag: Tag.multicastAck.rawValue, id, UInt64(reached), UInt64(duplicates))
        case .stopping: return ChannelMessage(tag: Tag.stopping.rawValue, 0)
        }
    }

    /// The message `message` carries, or nil if it is not one a correct CPU driver
    /// sends to a system of `coreCount` cores.
    public static func decode(_ message: ChannelMessage, coreCount: Int) -> KernelMessage? {
        guard let tag = Tag(rawValue: message.tag) else { return nil }
        let w = message.words
        switch tag {
        case .console:
            guard let text = decodeText(w) else { return nil }
            return .console(bytes: text.bytes, isEnd: text.isEnd)
        case .ping:
            guard w[1] <= 1 else { return nil }
            return .ping(token: w[0], wake: w[1] == 1)
        case .pong: return .pong(token: w[0])
        case .statusRequest: return .statusRequest
        case .statusReply:
            // Counts a core can really have (below 2^48), and no more free than total.
            guard w[0] <= UInt64(UInt32.max), w[1] < 1 << 48, w[2] < 1 << 48, w[3] <= w[2], w[4] < 1 << 48, w[5] < 1 << 32,
                  w[6] < 1 << 48 else { return nil }
            return .statusReply(CoreStatus(apicID: UInt32(w[0]), ticks: w[1], totalFrames: w[2], freeFrames: w[3], heapBytes: w[4],
                                           domains: w[5], dropped: w[6]))
        case .runTests: return .runTests(CoreSet(decoding: message))
        case .startMonitor: return .startMonitor(CoreSet(decoding: message))
        case .testReply:
            guard w[0] < 1 << 32, w[1] < 1 << 32 else { return nil }
            return .testReply(TestReport(passed: Int(w[0]), failed: Int(w[1]), blockAddress: w[2], shareStart: w[3], shareEnd: w[4]))
        case .panicRequest, .panicCheck:
            guard w[0] != 0 else { return nil }
            return tag == .panicRequest ? .panicRequest(ticket: w[0]) : .panicCheck(ticket: w[0])
        case .panicAnswer:
            guard w[0] != 0, w[1] <= 1 else { return nil }
            return .panicAnswer(ticket: w[0], granted: w[1] == 1)
        case .stayAwake:
            guard w[0] <= UInt64(StayAwakeRequests.longestMilliseconds) else { return nil }
            return .stayAwake(milliseconds: UInt32(w[0]))
        case .measureLatencies: return .measureLatencies(CoreSet(decoding: message))
        case .latency:
            guard w[0] < UInt64(coreCount) else { return nil }
            return .latency(to: CoreID(Int(w[0])), cycles: w[1])
        case .stream:
            guard w[1] == ~w[0] else { return nil }
            return .stream(sequence: w[0])
        case .benchChannel, .floorEcho:
            guard w[0] < UInt64(coreCount), w[1] >= 1, w[1] <= 100_000 else { return nil }
            let peer = CoreID(Int(w[0]))
            return tag == .benchChannel ? .benchChannel(peer: peer, rounds: Int(w[1])) : .floorEcho(peer: peer, rounds: Int(w[1]))
        case .benchResult:
            guard w[4] <= 1, w[0] < 1 << 48, w[1] < 1 << 48, w[2] < 1 << 48, w[3] < 1 << 48 else { return nil }
            return .benchResult(BenchResult(channel: SampleSummary(median: w[0], p99: w[1], minimum: 0),
                                            floor: SampleSummary(median: w[2], p99: w[3], minimum: 0), ok: w[4] == 1))
        case .place:
            guard w[0] < 1 << 32, w[1] < 1 << 32, w[2] < 1 << 32 else { return nil }
            var caches: [CacheFact] = []
            for i in 3..<7 where w[i] != 0 {
                let kinds: [CacheKind] = [.data, .instruction, .unified]
                let kind = Int((w[i] >> 8) & 0xFF)
                guard kind >= 1, kind <= 3, (w[i] >> 16) & 0xFFFF == 0 else { return nil }
                caches.append(CacheFact(level: Int(w[i] & 0xFF), kind: kinds[kind - 1], sharingGroup: UInt32(w[i] >> 32)))
            }
            return .place(CorePlace(package: Int(w[0]), core: Int(w[1]), thread: Int(w[2])), caches: caches)
        case .treeChildren:
            guard w[0] < UInt64(coreCount), w[1] <= w[0] else { return nil }
            var children: [CoreID] = []
            for i in 2..<7 where w[i] != 0 {
                guard w[i] <= UInt64(coreCount) else { return nil }
                children.append(CoreID(Int(w[i] - 1)))
            }
            guard Int(w[1]) + children.count <= Int(w[0]) else { return nil }
            return .treeChildren(total: Int(w[0]), offset: Int(w[1]), children: children)
        case .multicast: return .multicast(id: w[0])
        case .wake:
            guard w[0] <= UInt64(UInt32.max) else { return nil }
            return .wake(domain: UInt32(w[0]))
        case .traceSwitch:
            guard w[0] <= 1 else { return nil }
            return .traceSwitch(on: w[0] == 1)
        case .traceBuffer:
            guard w[0] % 4096 == 0, w[0] < 1 << 52, w[1] < 1 << 32, w[2] <= 1 else { return nil }
            return .traceBuffer(address: w[0], bytes: w[1], on: w[2] == 1)
        case .multicastAck:
            guard w[1] <= UInt64(coreCount), w[2] <= UInt64(coreCount) * 1_000_000 else { return nil }
            return .multicastAck(id: w[0], reached: Int(w[1]), duplicates: Int(w[2]))
        case .stopping: return .stopping
        }
    }
}

/// A set of cores, small enough to travel in one message (up to 448 cores).
public struct CoreSet: Equatable, Sendable {
    public static let capacity = 7 * 64
    public var words: [UInt64] = Array(repeating: 0, count: 7)

    public init() {}

    public init(decoding message: ChannelMessage) {
        for i in 0..<7 { words[i] = message.words[i] }
    }

    public func encode(tag: UInt16) -> ChannelMessage {
        var message = ChannelMessage(tag: tag)
        for i in 0..<7 { message.words[i] = words[i] }
        return message
    }

    public func contains(_ core: CoreID) -> Bool {
        core.rawValue < Self.capacity && words[core.rawValue / 64] & (1 << UInt64(core.rawValue % 64)) != 0
    }

    public mutating func insert(_ core: CoreID) {
        guard core.rawValue < Self.capacity else { return }
        words[core.rawValue / 64] |= 1 << UInt64(core.rawValue % 64)
    }
}
