// The channel as lwIP's network interface (docs/network.md): frames this side sends go
// into its own ring of shared pages, which the peer maps read-only, and a descriptor
// message per batch of up to eight tells the peer their lengths (FrameLink in Core
// places them and checks every message). Frames the peer announces are copied out of
// its pages into lwIP's receive queue, and a release tells the peer how far it may
// reuse its ring. Whatever the peer writes, in its pages or in the channel, this side
// reads only within the peer's ring, and a message no correct peer sends drops the link.
import SwordfishUser
import UserRuntimeC
import FrameLink
import LwIP

final class ChannelLink {
    /// Pages of each side's ring, and where both rings are mapped (PML4 entry 5: this
    /// side's pages, then the peer's).
    static let pages = 8
    static let window: UInt64 = 5 << 39
    /// Root slots: the page table's three, this side's RAM, its frames, the peer's frames.
    static let tableSlots: UInt32 = 8
    static let ramSlot: UInt32 = 11
    static let ownFrames: UInt32 = 13
    static let peerFrames: UInt32 = ownFrames + UInt32(pages)
    /// The message kind that carries a page of a ring while the link is set up.
    static let pageKind: UInt64 = 0x50

    let connection: Connection
    var sender: FrameSender
    var receiver: FrameReceiver
    let ownRing: UnsafeMutableRawPointer
    let peerRing: UnsafeRawPointer
    var batch = FrameBatch()
    var outbox: [[UInt64]] = []
    /// Why the link was dropped, if it was.
    private(set) var failure: String?
    private(set) var peerClosed = false
    private(set) var framesSent = 0, framesReceived = 0, framesDropped = 0
    /// How long a send waits for the peer to release room, in counter cycles.
    static let patience: UInt64 = 20_000_000_000

    /// Allocates and maps this side's ring, sends its pages to the peer and maps the
    /// peer's (read-only) as they come.
    init(_ connection: Connection) throws(LinkSetupError) {
        self.connection = connection
        let ring = FrameRing(capacity: Self.pages * 4096)
        sender = FrameSender(ring: ring)
        receiver = FrameReceiver(ring: ring)
        ownRing = UnsafeMutableRawPointer(bitPattern: UInt(Self.window))!
        peerRing = UnsafeRawPointer(bitPattern: UInt(Self.window + UInt64(Self.pages * 4096)))!
        let ram = Capability(slot: Self.ramSlot)
        let table: Capability
        // The memory service hands out pieces of 64 KiB: retyped into 16 frames, of
        // which the ring keeps the first `pages` (the others' slots are the peer's).
        let size: UInt64
        do throws(MonitorStatus) { size = try Monitor.allocate(UInt64(Self.pages * 4096), into: ram).size } catch {
            throw LinkSetupError(what: "no memory for the ring: \(error)")
        }
        let frames = Int(size / 4096)
        guard frames >= Self.pages, frames <= 2 * Self.pages else { throw LinkSetupError(what: "a piece of \(size) bytes") }
        do throws(MonitorStatus) {
            try Monitor.retype(ram, into: (0..<frames).map { Capability(slot: Self.ownFrames + UInt32($0)) })
        } catch {
            throw LinkSetupError(what: "retyping the ring's memory: \(error)")
        }
        for extra in Self.pages..<frames { _ = try? Capability(slot: Self.ownFrames + UInt32(extra)).delete() }
        do throws(InvocationStatus) {
            table = try makePageTable(from: .ram, into: Self.tableSlots, pml4Entry: 5)
            for page in 0..<Self.pages {
                try table.map(Capability(slot: Self.ownFrames + UInt32(page)), at: page, rights: [.read, .write])
            }
        } catch {
            throw LinkSetupError(what: "mapping the ring: \(error)")
        }
        // Both sides send first: the channel's ring holds all of them.
        var problem: String? = nil
        do throws(Connection.Failure) {
            for page in 0..<Self.pages {
                try connection.send([Self.pageKind, UInt64(page), 0], carrying: Capability(slot: Self.ownFrames + UInt32(page)))
            }
            for page in 0..<Self.pages {
                let frame = Capability(slot: Self.peerFrames + UInt32(page))
                let (words, carried) = try connection.receive(capabilityInto: frame)
                guard carried, words == [Self.pageKind, UInt64(page), 0], frame.type == .frame else {
                    problem = "the peer sent no page \(page) of its ring"
                    break
                }
                guard (try? table.map(frame, at: Self.pages + page, rights: [.read])) != nil else {
                    problem = "mapping the peer's page \(page)"
                    break
                }
            }
        } catch {
            problem = "exchanging rings: \(error)"
        }
        if let problem { throw LinkSetupError(what: problem) }
    }

    /// Where lwIP's frame of `length` bytes goes in the ring (then `commit`), or nil to
    /// drop it. With no room, it takes the peer's messages (releases) until there is,
    /// for up to `patience`.
    func reserve(_ length: Int) -> UnsafeMutableRawPointer? {
        guard failure == nil, length > 0, length <= FrameRing.maximumFrame else {
            framesDropped += 1
            return nil
        }
        let since = user_timestamp()
        while true {
            if let offset = sender.place(length) { return ownRing + offset }
            flush()
            pump(insideLwIP: true)
            guard failure == nil else { return nil }
            if user_timestamp() &- since > Self.patience {
                drop("the peer released no room for \(Self.patience) cycles")
                return nil
            }
        }
    }

    /// The frame `reserve` placed is written: its length goes into the batch.
    func commit(_ length: Int) {
        batch.append(length)
        framesSent += 1
        if batch.isFull {
            post(FrameLinkMessage.frames(batch).words)
            batch = FrameBatch()
        }
    }

    /// Sends a frame of the program's own (the vandal's).
    func transmit(_ frame: UnsafeRawPointer, _ length: Int) {
        guard let place = reserve(length) else { return }
        place.copyMemory(from: frame, byteCount: length)
        commit(length)
    }

    /// Sends `words` now, or after the ones waiting (at most `outboxLimit` of them: a
    /// peer that reads none of its messages drops the link, not this domain's memory).
    func post(_ words: [UInt64]) {
        guard failure == nil else { return }
        if outbox.isEmpty {
            do throws(Connection.Failure) { if try connection.trySend(words) { return } } catch { return drop("sending: \(error)") }
        }
        guard outbox.count < Self.outboxLimit else { return drop("the peer reads no messages") }
        outbox.append(words)
    }

    static let outboxLimit = 4096

    /// Sends the batch and whatever waits, as far as the channel has room.
    func flush() {
        if !batch.isEmpty {
            post(FrameLinkMessage.frames(batch).words)
            batch = FrameBatch()
        }
        var sent = 0
        do throws(Connection.Failure) {
            while sent < outbox.count, try connection.trySend(outbox[sent]) { sent += 1 }
        } catch {
            return drop("sending: \(error)")
        }
        if sent > 0 { outbox.removeFirst(sent) }
    }

    /// Takes the peer's messages: frames copied into lwIP's queue (from the main loop,
    /// only while the queue has room for a whole batch, so none is dropped; inside lwIP,
    /// where the queue cannot be emptied, a frame with no room is dropped rather than
    /// both sides waiting on each other), releases applied. True if anything came.
    @discardableResult
    func pump(insideLwIP: Bool = false) -> Bool {
        var any = false
        while failure == nil, insideLwIP || Int(swordfish_loop_queue_room()) >= FrameLinkMessage.framesPerMessage {
            let words: [UInt64]?
            do throws(Connection.Failure) { words = try connection.tryReceive() } catch { drop("receiving: \(error)"); break }
            guard let words else { break }
            any = true
            let message: FrameLinkMessage
            do throws(FrameLinkError) { message = try FrameLinkMessage(words: words) } catch { drop("the peer sent garbage (\(error))"); break }
            switch message {
            case .frames(let frames):
                for index in 0..<frames.count {
                    let length = frames.length(at: index)
                    let offset: Int
                    do throws(FrameLinkError) { offset = try receiver.take(length) } catch { drop("the peer sent garbage (\(error))"); return true }
                    framesReceived += 1
                    if swordfish_loop_queue(peerRing + offset, length) != 0 { framesDropped += 1 }
                }
            case .release(let position):
                do throws(FrameLinkError) { try sender.release(upTo: position) } catch { drop("the peer sent garbage (\(error))"); break }
            case .close:
                peerClosed = true
            }
        }
        if failure == nil, receiver.unacknowledged > 0 { post(FrameLinkMessage.release(receiver.acknowledge()).words) }
        return any
    }

    /// Tells the peer this side is done.
    func close() {
        flush()
        post(FrameLinkMessage.close.words)
        let since = user_timestamp()
        while failure == nil, !outbox.isEmpty, user_timestamp() &- since < Self.patience {
            flush()
            yield()
        }
    }

    /// Drops the link: the connection is closed and never read again.
    func drop(_ reason: String) {
        guard failure == nil else { return }
        failure = reason
        outbox.removeAll()
        connection.close()
    }
}

struct LinkSetupError: Error {
    var what: String
}

/// The link lwIP's interface writes into. (A C function pointer cannot capture; a
/// type's function does not.)
enum LwIPLink {
    nonisolated(unsafe) static var link: ChannelLink?

    static func attach(_ link: ChannelLink) {
        Self.link = link
        let reserve: swordfish_loop_reserve = { length in LwIPLink.link?.reserve(length) }
        let commit: swordfish_loop_commit = { length in LwIPLink.link?.commit(length) }
        swordfish_loop_attach(reserve, commit)
    }
}
