// A channel between two domains on different cores: one page of the client's core's
// binding pool (BindingPool in the ABI), mapped by both, holding a ring each way: the
// same cache-line rings (Core/Sources/Channel) that the kernel and the monitors use, so
// a message crosses cores with no kernel on the path. The client gets its end from
// `Monitor.bind`; the server gets the page in a `BindOffer` message on the endpoint it
// registered and calls `UserChannel(offer:page:)`. Both ends poll; a message that no
// correct peer writes makes the receive throw, and the channel is not used again. While
// it waits, `receive` asks the monitor now and then whether the peer still runs, so a
// peer that ended (or was killed) is an error, not a hang.
@_exported import Channel
import UserRuntimeC

public struct UserChannel {
    var sender: RingSender
    var receiver: RingReceiver
    /// The other end's system-wide domain id.
    public let peer: UInt64
    /// The peer wrote something a correct peer cannot: nothing more is read or sent.
    public private(set) var broken: ChannelError?

    /// Why a blocking receive gave up.
    public enum Failure: Error, Equatable {
        /// The peer wrote what no correct peer writes.
        case corrupt(ChannelError)
        /// The peer no longer runs.
        case peerEnded
    }

    /// How long `receive` waits between asking whether the peer still runs, in TSC
    /// cycles (a fraction of a second at these machines' speeds).
    public static let patience: UInt64 = 500_000_000

    /// Payload words a message carries.
    public static let words = ChannelMessage.wordCount

    /// Maps `page` (a frame capability for a binding page) and takes the client's end
    /// (`isClient`: it sends on the first ring) or the server's.
    init(page: Capability, isClient: Bool, peer: UInt64) throws(MonitorStatus) {
        self.peer = peer
        let address = try ChannelWindow.map(page)
        let first = UnsafeMutableRawPointer(bitPattern: UInt(address))!
        let second = first + BindingPool.ringBytes
        let slots = Ring.slots(inBytes: BindingPool.ringBytes)
        sender = RingSender(region: isClient ? first : second, slots: slots)
        receiver = RingReceiver(region: isClient ? second : first, slots: slots)
    }

    /// The server's end, from a `BindOffer` whose page arrived in `page`.
    public init(offer words: [UInt64], page: Capability) throws(MonitorStatus) {
        guard words.count == MessageLayout.words, words[0] == BindOffer.marker, page.type == .frame else { throw .unknownRequest }
        try self.init(page: page, isClient: false, peer: words[1])
    }

    /// Sends `words` (up to `UserChannel.words`) with `tag`; false if the ring is full
    /// (the peer has not caught up) or the channel is broken.
    public mutating func trySend(tag: UInt16 = 1, _ words: [UInt64]) -> Bool {
        guard broken == nil else { return false }
        var message = ChannelMessage(tag: tag)
        for (index, word) in words.prefix(Self.words).enumerated() { message.words[index] = word }
        do throws(ChannelError) {
            return try sender.send(message)
        } catch {
            broken = error
            return false
        }
    }

    /// The next message, waiting (polling) until it comes; throws `peerEnded` once the
    /// peer no longer runs and nothing more is there.
    public mutating func receive() throws(Failure) -> (tag: UInt16, words: [UInt64]) {
        var since = user_timestamp()
        while true {
            do throws(ChannelError) {
                if let message = try tryReceive() { return message }
            } catch {
                throw .corrupt(error)
            }
            guard user_timestamp() &- since > Self.patience else { continue }
            if (try? Monitor.isAlive(peer)) == false, (try? tryReceive()) == nil { throw .peerEnded }
            since = user_timestamp()
        }
    }

    /// The next message's words and tag, if one is there.
    public mutating func tryReceive() throws(ChannelError) -> (tag: UInt16, words: [UInt64])? {
        if let broken { throw broken }
        let message: ChannelMessage?
        do throws(ChannelError) {
            message = try receiver.receive()
        } catch {
            broken = error
            throw error
        }
        guard let message else { return nil }
        receiver.publish()
        var words: [UInt64] = []
        for index in 0..<Self.words { words.append(message.words[index]) }
        return (message.tag, words)
    }
}

/// Where the library maps channel pages: the 2 MiB at 2 TiB (PML4 entry 4), its page
/// table in root slots 52–54, the pages' frames in 55–59 (five channels a domain).
enum ChannelWindow {
    static let base: UInt64 = 4 << 39
    static let tables: UInt32 = 52
    static let pages: ClosedRange<UInt32> = 55...59
    nonisolated(unsafe) static var table: Capability? = nil

    /// Moves `page` into the next free page slot and maps it; its address.
    static func map(_ page: Capability) throws(MonitorStatus) -> UInt64 {
        guard let slot = pages.first(where: { Capability(slot: $0).type == .null }) else { throw .busy }
        do throws(InvocationStatus) {
            if table == nil { table = try makePageTable(from: .ram, into: tables, pml4Entry: 4) }
            let frame = Capability(slot: slot)
            try page.copy(to: frame)
            try? page.delete()
            let entry = Int(slot - pages.lowerBound)
            try table!.map(frame, at: entry, rights: [.read, .write])
            return base + UInt64(entry) * BindingPool.pageBytes
        } catch {
            throw .outOfResources
        }
    }
}
