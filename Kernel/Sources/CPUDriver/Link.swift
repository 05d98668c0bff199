// A link is this core's end of the two rings it shares with one other core: it sends
// on one and receives on the other. The rings live in the channel area that the
// bootstrap core set aside at boot; ring (i → j) is at a position both cores compute
// from i, j and the core count, so no allocator is shared. Sending never blocks: what
// does not fit in the ring waits in a per-link outbox (in this core's own memory) and
// goes out on a later poll, so two cores that send to each other at once cannot
// deadlock. Every send is followed by a notify IPI so a halted receiver wakes up. The
// outbox is bounded: a peer that stops reading (or makes this core answer faster than it
// reads) fills it, and from then on what does not fit is dropped and counted
// (`Link.outboxCapacity`, shown by the shell's `cores`), never kept without end.
import ABI
import Arch
import Basics
import KernelMessages
import Channel

struct Link {
    static let ringBytes = 4096
    /// Messages an outbox holds (64 bytes each: 256 KiB per link at most). Above the
    /// console's own limit (`Console.maxQueuedMessages`), so console lines are refused
    /// whole before the outbox drops pieces of them.
    static let outboxCapacity = 4096
    static var slots: Int { Ring.slots(inBytes: ringBytes) }

    let peer: CoreID
    let peerAPIC: APICID
    var sender: RingSender
    var receiver: RingReceiver
    var outbox = BoundedQueue<ChannelMessage>(capacity: Link.outboxCapacity)
    /// Set when the peer wrote something a correct CPU driver cannot: the link is dead.
    var broken: ChannelError? = nil

    /// The ring from core `from` to core `to` in an area laid out for `count` cores.
    static func ring(from: CoreID, to: CoreID, count: Int, area: UInt64) -> UnsafeMutableRawPointer {
        let index = UInt64(from.rawValue * count + to.rawValue)
        return UnsafeMutableRawPointer(bitPattern: UInt(area + index * UInt64(ringBytes)))!
    }

    /// The area holds every ring, then one cache line per ordered pair for the
    /// cache-line ping-pong floor (line i → j written by i only), then, from the next
    /// page, the monitors' rings: one page per ordered pair of the first
    /// `MonitorRingLayout.maximumCores` cores, which the kernel never touches after boot
    /// (the monitors map them; see MonitorDomain.swift).
    static func areaBytes(cores: Int) -> UInt64 {
        // One pool's worth of slack: each pool is one frame capability, which must be
        // aligned to its size.
        bindingPoolsOffset(cores: cores) + poolBytes + UInt64(min(cores, MonitorRingLayout.maximumCores)) * poolBytes
    }

    /// Computed, not stored: a lazily initialised static would be written by whichever
    /// core reads it first.
    static var poolBytes: UInt64 { UInt64(BindingPool.pagesPerCore) * BindingPool.pageBytes }

    /// After the monitors' rings, each monitor core's binding pool (`BindingPool`).
    static func bindingPoolsOffset(cores: Int) -> UInt64 {
        let monitors = min(cores, MonitorRingLayout.maximumCores)
        return monitorRingsOffset(cores: cores) + UInt64(monitors * monitors) * MonitorRingLayout.ringBytes
    }

    /// The physical address of page `page` of core `core`'s binding pool.
    static func bindingPage(core: Int, page: Int, count: Int, area: UInt64) -> UInt64 {
        let pools = (area + bindingPoolsOffset(cores: count) + poolBytes - 1) / poolBytes * poolBytes
        return pools + UInt64(core) * poolBytes + UInt64(page) * BindingPool.pageBytes
    }

    static func monitorRingsOffset(cores: Int) -> UInt64 {
        let kernel = UInt64(cores * cores * (ringBytes + Ring.lineSize))
        return (kernel + MonitorRingLayout.ringBytes - 1) / MonitorRingLayout.ringBytes * MonitorRingLayout.ringBytes
    }

    /// The physical page of the monitors' ring from `from` to `to` (both below
    /// `MonitorRingLayout.maximumCores`).
    static func monitorRing(from: Int, to: Int, count: Int, area: UInt64) -> UInt64 {
        let monitors = min(count, MonitorRingLayout.maximumCores)
        return area + monitorRingsOffset(cores: count) + UInt64(from * monitors + to) * MonitorRingLayout.ringBytes
    }

    static func floorLine(from: CoreID, to: CoreID, count: Int, area: UInt64) -> CacheLineFlag {
        let index = UInt64(from.rawValue * count + to.rawValue)
        let base = area + UInt64(count * count * ringBytes)
        return CacheLineFlag(UnsafeMutableRawPointer(bitPattern: UInt(base + index * UInt64(Ring.lineSize)))!)
    }

    init(from me: CoreID, to peer: CoreID, peerAPIC: APICID, count: Int, area: UInt64) {
        self.peer = peer
        self.peerAPIC = peerAPIC
        sender = RingSender(region: Link.ring(from: me, to: peer, count: count, area: area), slots: Link.slots)
        receiver = RingReceiver(region: Link.ring(from: peer, to: me, count: count, area: area), slots: Link.slots)
    }

    /// Sends `message` now if nothing is waiting and the ring has room, else queues it.
    mutating func send(_ message: ChannelMessage) {
        if !trySend(message) && broken == nil { outbox.append(message) }
    }

    /// Sends `message` only if it can go into the ring right now, behind nothing queued.
    mutating func trySend(_ message: ChannelMessage) -> Bool {
        guard broken == nil, outbox.isEmpty else { return false }
        do {
            guard try sender.send(message) else { return false }
            Tracing.message(.messageSent, peer: peer, tag: message.tag, sequence: sender.sent)
            return true
        } catch {
            broken = error
            return false
        }
    }

    /// Pushes waiting messages into the ring; true if any went out.
    @discardableResult
    mutating func flush() -> Bool {
        var sentAny = false
        while broken == nil, let next = outbox.first {
            do {
                guard try sender.send(next) else { break }
                Tracing.message(.messageSent, peer: peer, tag: next.tag, sequence: sender.sent)
            } catch {
                broken = error
                break
            }
            _ = outbox.removeFirst()
            sentAny = true
        }
        return sentAny
    }
}
