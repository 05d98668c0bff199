// A connection as an Ethernet link (docs/network.md): frames this side sends go into its
// own ring of shared pages, which the peer maps read-only, and a descriptor message per
// batch of up to eight tells the peer their lengths (FrameLink in Core places them and
// checks every message). Frames the peer announces are handed to `deliver` straight
// from its pages (which copies them: the peer may change its pages at any time), and a
// release tells the peer how far it may reuse its ring. Whatever the peer writes, in its
// pages or in the channel, this side reads only within the peer's ring, and a message no
// correct peer sends drops the link, never the domain. A peer that ends takes its pages
// with it (its monitor revokes its memory), possibly while this side reads them: the
// read faults, and the link's fault handler maps a blank page of this side's there, so
// the read finishes (on zeros) and the link drops, never the domain.
//
// Used by both ends of every link: the IP loopback (`loopback`, lwIP at both ends), and
// netd's clients (`httpd`, lwIP) and netd itself (the switch, one link per client).
import SwordfishUser
import UserRuntimeC
import FrameLink

/// Where a link keeps its capabilities and maps its rings. Slots from `firstSlot` (in
/// the root CNode, or in the CNode in root slot `cnode`): the RAM, then this side's
/// frames (the piece retyped into up to 16; the ring keeps the first `pages`), then the
/// peer's `pages` frames in the slots of the extras, then a blank page of this side's
/// (for a peer's page that vanished). Pages: `table`'s entries from `firstEntry`, this
/// side's then the peer's, at `address`.
public struct LinkPlace {
    public let table: Capability
    public let firstEntry: Int
    public let address: UInt64
    public let cnode: UInt32?
    public let firstSlot: UInt32

    public init(table: Capability, firstEntry: Int, address: UInt64, cnode: UInt32?, firstSlot: UInt32) {
        self.table = table
        self.firstEntry = firstEntry
        self.address = address
        self.cnode = cnode
        self.firstSlot = firstSlot
    }

    func slot(_ index: Int) -> Capability {
        let slot = firstSlot + UInt32(index)
        if let cnode { return Capability(.leaf(cnode, slot)) }
        return Capability(slot: slot)
    }

    var ram: Capability { slot(0) }
    func ownFrame(_ page: Int) -> Capability { slot(1 + page) }
    func peerFrame(_ page: Int) -> Capability { slot(1 + ChannelLink.pages + page) }
    var blank: Capability { slot(1 + 2 * ChannelLink.pages) }

    /// Slots a link takes from `firstSlot`.
    public static let slotCount = 2 + 2 * ChannelLink.pages
}

public struct LinkSetupError: Error {
    public var what: String
}

public final class ChannelLink {
    /// Pages of each side's ring.
    public static let pages = 8
    /// The message kind that carries a page of a ring while the link is set up.
    static let pageKind: UInt64 = 0x50

    public let connection: Connection
    let place: LinkPlace
    var sender: FrameSender
    var receiver: FrameReceiver
    let ownRing: UnsafeMutableRawPointer
    let peerRing: UnsafeRawPointer
    public private(set) var batch = FrameBatch()
    public private(set) var outbox: [[UInt64]] = []
    /// Takes a frame the peer sent (in the peer's pages: copy it); false if it was dropped.
    let deliver: (UnsafeRawPointer, Int) -> Bool
    /// How many frames `deliver` can take now; the link reads a batch only with room for one.
    let room: () -> Int
    /// Why the link was dropped, if it was.
    public private(set) var failure: String?
    public private(set) var peerClosed = false
    public private(set) var framesSent = 0, framesReceived = 0, framesDropped = 0
    /// How long a waiting send waits for the peer to release room, in counter cycles.
    public static let patience: UInt64 = 20_000_000_000
    /// How long setting up waits for the peer's pages, in counter cycles.
    public static let setupPatience: UInt64 = 1 << 33
    /// When this side last asked whether the peer still runs.
    var lastAlive: UInt64 = 0
    /// Whether a read of the peer's pages faulted (they went with the peer).
    var peerPagesGone = false

    /// Allocates and maps this side's ring, sends its pages to the peer and maps the
    /// peer's (read-only) as they come.
    public init(_ connection: Connection, at place: LinkPlace, deliver: @escaping (UnsafeRawPointer, Int) -> Bool,
                room: @escaping () -> Int) throws(LinkSetupError) {
        self.connection = connection
        self.place = place
        self.deliver = deliver
        self.room = room
        let ring = FrameRing(capacity: Self.pages * 4096)
        sender = FrameSender(ring: ring)
        receiver = FrameReceiver(ring: ring)
        ownRing = UnsafeMutableRawPointer(bitPattern: UInt(place.address))!
        peerRing = UnsafeRawPointer(bitPattern: UInt(place.address + UInt64(Self.pages * 4096)))!
        lastAlive = user_timestamp()
        let ram = place.ram
        // The memory service hands out pieces of 64 KiB: retyped into 16 frames, of
        // which the ring keeps the first `pages` and the blank page the next (the
        // others' slots are the peer's).
        let size: UInt64
        do throws(MonitorStatus) { size = try Monitor.allocate(UInt64((Self.pages + 1) * 4096), into: ram).size } catch {
            throw LinkSetupError(what: "no memory for the ring: \(error)")
        }
        let frames = Int(size / 4096)
        guard frames > Self.pages, frames <= 2 * Self.pages else { throw LinkSetupError(what: "a piece of \(size) bytes") }
        do throws(MonitorStatus) {
            try Monitor.retype(ram, into: (0..<frames).map { place.ownFrame($0) })
        } catch {
            throw LinkSetupError(what: "retyping the ring's memory: \(error)")
        }
        do throws(InvocationStatus) { try place.ownFrame(Self.pages).copy(to: place.blank) } catch {
            throw LinkSetupError(what: "keeping a blank page: \(error)")
        }
        for extra in Self.pages..<frames { _ = try? place.ownFrame(extra).delete() }
        do throws(InvocationStatus) {
            for page in 0..<Self.pages {
                try place.table.map(place.ownFrame(page), at: place.firstEntry + page, rights: [.read, .write])
            }
        } catch {
            throw LinkSetupError(what: "mapping the ring: \(error)")
        }
        // Both sides send first: the channel's ring holds all of them.
        var problem: String? = nil
        do throws(Connection.Failure) {
            for page in 0..<Self.pages {
                try connection.send([Self.pageKind, UInt64(page), 0], carrying: place.ownFrame(page))
            }
            // A peer that sends no pages is given up on (a server must not wait for ever).
            let deadline = user_timestamp() &+ Self.setupPatience
            for page in 0..<Self.pages {
                let frame = place.peerFrame(page)
                var message = try connection.tryReceive(capabilityInto: frame)
                while message == nil, user_timestamp() < deadline {
                    yield()
                    message = try connection.tryReceive(capabilityInto: frame)
                }
                guard let (words, carried) = message else {
                    problem = "the peer sent no page \(page) of its ring in time"
                    break
                }
                guard carried, words == [Self.pageKind, UInt64(page), 0], frame.type == .frame else {
                    problem = "the peer sent no page \(page) of its ring"
                    break
                }
                guard (try? place.table.map(frame, at: place.firstEntry + Self.pages + page, rights: [.read])) != nil else {
                    problem = "mapping the peer's page \(page)"
                    break
                }
            }
        } catch {
            problem = "exchanging rings: \(error)"
        }
        if let problem { throw LinkSetupError(what: problem) }
        ChannelLink.live.append(self)
        if !ChannelLink.handlesFaults {
            ChannelLink.handlesFaults = true
            let previous = Thread.pageFaultHandler
            Thread.pageFaultHandler = { address in ChannelLink.blankVanishedPage(at: address) || previous?(address) == true }
        }
    }

    /// The links set up and not yet released, whose peers' pages may vanish.
    nonisolated(unsafe) static var live: [ChannelLink] = []
    nonisolated(unsafe) static var handlesFaults = false

    /// A page fault at `address`: if it is in a live link's view of its peer's ring,
    /// whose page went with the peer, maps the link's blank page there (the faulting
    /// read goes on, on zeros) and marks the link, which drops at its next look.
    static func blankVanishedPage(at address: UInt64) -> Bool {
        for link in live {
            let base = UInt64(UInt(bitPattern: link.peerRing))
            guard address >= base, address < base + UInt64(pages * 4096) else { continue }
            let page = Int((address - base) / 4096)
            let slot = link.place.peerFrame(page)
            // A page still held is not one that vanished: that fault is a real one.
            guard slot.type == .null else { return false }
            link.peerPagesGone = true
            do throws(InvocationStatus) {
                try link.place.blank.copy(to: slot)
                try link.place.table.map(slot, at: link.place.firstEntry + pages + page, rights: [.read])
            } catch {
                return false
            }
            return true
        }
        return false
    }

    /// Unmaps both rings, deletes the peer's frames and gives this side's memory back
    /// (the peer's mapping of it goes too): the place can take another link. The link
    /// must be dropped or closed first.
    public func release() {
        for entry in 0..<(2 * Self.pages) { _ = try? place.table.unmap(at: place.firstEntry + entry) }
        for page in 0..<Self.pages { _ = try? place.peerFrame(page).delete() }
        for page in 0..<Self.pages { _ = try? place.ownFrame(page).delete() }
        _ = try? place.blank.delete()
        ChannelLink.live.removeAll { $0 === self }
        if place.ram.type != .null {
            _ = try? Monitor.free(place.ram)
            _ = try? place.ram.delete()
        }
    }

    /// Where a frame of `length` bytes goes in the ring (then `commit`), or nil to drop
    /// it. With no room and `waiting`, it takes the peer's messages (releases) until
    /// there is, for up to `patience` (then the link drops); without, it takes them once.
    public func reserve(_ length: Int, waiting: Bool = true) -> UnsafeMutableRawPointer? {
        guard failure == nil, length > 0, length <= FrameRing.maximumFrame else {
            framesDropped += 1
            return nil
        }
        let since = user_timestamp()
        while true {
            if let offset = sender.place(length) { return ownRing + offset }
            flush()
            pump(ignoringRoom: true)
            guard failure == nil else { return nil }
            if !waiting {
                if let offset = sender.place(length) { return ownRing + offset }
                framesDropped += 1
                return nil
            }
            if user_timestamp() &- since > Self.patience {
                drop("the peer released no room for \(Self.patience) cycles")
                return nil
            }
        }
    }

    /// The frame `reserve` placed is written: its length goes into the batch.
    public func commit(_ length: Int) {
        batch.append(length)
        framesSent += 1
        if batch.isFull {
            post(FrameLinkMessage.frames(batch).words)
            batch = FrameBatch()
        }
    }

    /// Sends a frame of the program's own; false if it was dropped.
    @discardableResult
    public func transmit(_ frame: UnsafeRawPointer, _ length: Int, waiting: Bool = true) -> Bool {
        guard let place = reserve(length, waiting: waiting) else { return false }
        place.copyMemory(from: frame, byteCount: length)
        commit(length)
        return true
    }

    /// Sends `words` now, or after the ones waiting (at most `outboxLimit` of them: a
    /// peer that reads none of its messages drops the link, not this domain's memory).
    public func post(_ words: [UInt64]) {
        guard failure == nil else { return }
        if outbox.isEmpty {
            do throws(Connection.Failure) { if try connection.trySend(words) { return } } catch { return drop("sending: \(error)") }
        }
        guard outbox.count < Self.outboxLimit else { return drop("the peer reads no messages") }
        outbox.append(words)
    }

    static let outboxLimit = 4096

    /// Sends the batch and whatever waits, as far as the channel has room.
    public func flush() {
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

    /// Takes the peer's messages: frames handed to `deliver` (only while it has room for
    /// a whole batch, so none is dropped; with `ignoringRoom`, from inside a send where
    /// the receiver cannot be emptied, a frame with no room is dropped rather than both
    /// sides waiting on each other), releases applied. True if anything came.
    @discardableResult
    public func pump(ignoringRoom: Bool = false) -> Bool {
        var any = false
        while failure == nil, ignoringRoom || room() >= FrameLinkMessage.framesPerMessage {
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
                    if !deliver(peerRing + offset, length) { framesDropped += 1 }
                    if peerPagesGone {
                        drop("the peer ended: its pages went while this side read them")
                        return true
                    }
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

    /// Asks this core's monitor whether the peer still runs, at most every `every`
    /// cycles; a peer that ended drops the link ("peerEnded"). Polling a connection's
    /// rings cannot tell a peer that ended from one that is quiet.
    public func checkPeer(every: UInt64 = 1 << 29) {
        guard failure == nil, user_timestamp() &- lastAlive > every else { return }
        lastAlive = user_timestamp()
        if (try? Monitor.isAlive(connection.peer)) == false { drop("the peer ended") }
    }

    /// Takes this side's ring away from the peer (every other copy of its pages, on any
    /// core, and their mappings), as this side's end does: for the guest test of a peer
    /// whose pages go while it reads them. This side's own pages stay.
    public func withdrawPages() throws(MonitorStatus) {
        for page in 0..<Self.pages { try Monitor.revoke(place.ownFrame(page)) }
    }

    /// Sends the batch and every message waiting, yielding while the peer makes room
    /// (for up to `patience`). A program that ends after sending must do this first: on
    /// one core the peer may not have read the messages before, and `flush` leaves what
    /// finds no room in the outbox, which goes with the program.
    public func flushAll() {
        flush()
        let since = user_timestamp()
        while failure == nil, !outbox.isEmpty, user_timestamp() &- since < Self.patience {
            yield()
            flush()
        }
    }

    /// Tells the peer this side is done.
    public func close() {
        flush()
        post(FrameLinkMessage.close.words)
        flushAll()
    }

    /// Drops the link: the connection is closed and never read again.
    public func drop(_ reason: String) {
        guard failure == nil else { return }
        failure = reason
        outbox.removeAll()
        connection.close()
    }
}
