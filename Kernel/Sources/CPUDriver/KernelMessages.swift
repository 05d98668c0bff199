// The messages CPU drivers exchange over their links, declared once: `encode` and
// `decode` are the two ends. A message that does not decode (unknown tag, bad field)
// is untrusted input from another core: it is counted and dropped, never trusted.
import Channel

enum KernelMessage {
    /// Up to 48 bytes of a console line; `isEnd` closes the line.
    case console(bytes: [UInt8], isEnd: Bool)
    case ping(token: UInt64)
    case pong(token: UInt64)
    case statusRequest
    case statusReply(CoreStatus)
    /// Run the in-kernel tests; the set says which cores are up (to ping).
    case runTests(CoreSet)
    case testReply(TestReport)
    /// Asks the receiving core to fault on purpose (the shell's `panic <core>`).
    case panicRequest

    static let consoleBytesPerMessage = 48

    enum Tag: UInt16 {
        case console = 1, ping, pong, statusRequest, statusReply, runTests, testReply, panicRequest
    }

    func encode() -> ChannelMessage {
        switch self {
        case .console(let bytes, let isEnd):
            var message = ChannelMessage(tag: Tag.console.rawValue)
            message.words[0] = UInt64(bytes.count) | (isEnd ? 1 << 8 : 0)
            for (i, byte) in bytes.prefix(Self.consoleBytesPerMessage).enumerated() {
                message.words[1 + i / 8] |= UInt64(byte) << UInt64((i % 8) * 8)
            }
            return message
        case .ping(let token): return ChannelMessage(tag: Tag.ping.rawValue, token)
        case .pong(let token): return ChannelMessage(tag: Tag.pong.rawValue, token)
        case .statusRequest: return ChannelMessage(tag: Tag.statusRequest.rawValue, 0)
        case .statusReply(let s):
            var message = ChannelMessage(tag: Tag.statusReply.rawValue, UInt64(s.apicID), s.ticks, s.totalFrames, s.freeFrames)
            message.words[4] = s.heapBytes
            return message
        case .runTests(let live):
            var message = ChannelMessage(tag: Tag.runTests.rawValue)
            for i in 0..<7 { message.words[i] = live.words[i] }
            return message
        case .testReply(let r):
            var message = ChannelMessage(tag: Tag.testReply.rawValue, UInt64(r.passed), UInt64(r.failed), r.blockAddress, r.shareStart)
            message.words[4] = r.shareEnd
            return message
        case .panicRequest: return ChannelMessage(tag: Tag.panicRequest.rawValue, 0)
        }
    }

    static func decode(_ message: ChannelMessage) -> KernelMessage? {
        guard let tag = Tag(rawValue: message.tag) else { return nil }
        let w = message.words
        switch tag {
        case .console:
            let count = Int(w[0] & 0xFF)
            guard count <= consoleBytesPerMessage, w[0] >> 9 == 0 else { return nil }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count)
            for i in 0..<count { bytes.append(UInt8(truncatingIfNeeded: w[1 + i / 8] >> UInt64((i % 8) * 8))) }
            return .console(bytes: bytes, isEnd: w[0] & (1 << 8) != 0)
        case .ping: return .ping(token: w[0])
        case .pong: return .pong(token: w[0])
        case .statusRequest: return .statusRequest
        case .statusReply:
            guard w[0] <= UInt64(UInt32.max) else { return nil }
            return .statusReply(CoreStatus(apicID: UInt32(w[0]), ticks: w[1], totalFrames: w[2], freeFrames: w[3], heapBytes: w[4]))
        case .runTests:
            var live = CoreSet()
            for i in 0..<7 { live.words[i] = w[i] }
            return .runTests(live)
        case .testReply:
            guard w[0] < 1 << 32, w[1] < 1 << 32 else { return nil }
            return .testReply(TestReport(passed: Int(w[0]), failed: Int(w[1]), blockAddress: w[2], shareStart: w[3], shareEnd: w[4]))
        case .panicRequest: return .panicRequest
        }
    }
}
