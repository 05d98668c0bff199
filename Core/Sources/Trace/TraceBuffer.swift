// A core's trace buffer: a header and a ring of fixed-size events in memory the core
// owns, written only by that core (its CPU driver, for itself and for the domains that
// record through the `trace` system call). When it is full the newest event overwrites
// the oldest, and the header's count of events ever written says how many were lost.
// The host tool reads the buffer as bytes (`TraceDump`) after the guest stopped.
//
// Layout, little-endian:
//
//   header (64 bytes)  0: magic "SFTRACE1"  8: core (32 bits)  12: version (32 bits)
//                      16: capacity in events  24: events ever written
//                      32: TSC cycles per microsecond  40–63: zero
//   events (32 each)   0: TSC  8: kind (16 bits)  10: channel (16 bits)
//                      12: domain (32 bits; `TraceEvent.kernel` for the kernel)
//                      16: a  24: b
import ABI

public struct TraceEvent: Equatable, Sendable {
    /// The domain of an event the kernel recorded for itself.
    public static let kernel = UInt32.max
    public static let bytes = 32

    public var timestamp: UInt64
    public var kind: TraceEventKind
    public var channel: UInt16
    public var domain: UInt32
    public var a: UInt64
    public var b: UInt64

    public init(timestamp: UInt64, kind: TraceEventKind, channel: UInt16 = 0, domain: UInt32 = TraceEvent.kernel,
                a: UInt64 = 0, b: UInt64 = 0) {
        self.timestamp = timestamp
        self.kind = kind
        self.channel = channel
        self.domain = domain
        self.a = a
        self.b = b
    }

    /// The other core of a message event.
    public var peer: Int { TraceMessageWord.peer(a) }
    /// The tag of a message event.
    public var tag: UInt16 { TraceMessageWord.tag(a) }
}

public enum TraceLayout {
    /// "SFTRACE1", little-endian.
    public static let magic: UInt64 = 0x3145_4341_5254_4653
    public static let version: UInt32 = 1
    public static let headerBytes = 64
}

/// The writer of one core's buffer.
public struct TraceBuffer {
    let base: UnsafeMutableRawPointer
    /// How many events it holds before it wraps.
    public let capacity: Int

    /// Lays out an empty buffer in `bytes` bytes at `region` (at least the header and
    /// one event) for `core`.
    public init?(region: UnsafeMutableRawPointer, bytes: Int, core: Int, cyclesPerMicrosecond: UInt64) {
        let capacity = (bytes - TraceLayout.headerBytes) / TraceEvent.bytes
        guard capacity > 0 else { return nil }
        self.base = region
        self.capacity = capacity
        _ = region.initializeMemory(as: UInt8.self, repeating: 0, count: TraceLayout.headerBytes)
        region.storeBytes(of: TraceLayout.magic.littleEndian, toByteOffset: 0, as: UInt64.self)
        region.storeBytes(of: UInt32(truncatingIfNeeded: core).littleEndian, toByteOffset: 8, as: UInt32.self)
        region.storeBytes(of: TraceLayout.version.littleEndian, toByteOffset: 12, as: UInt32.self)
        region.storeBytes(of: UInt64(capacity).littleEndian, toByteOffset: 16, as: UInt64.self)
        region.storeBytes(of: cyclesPerMicrosecond.littleEndian, toByteOffset: 32, as: UInt64.self)
    }

    /// Events ever written (more than `capacity` once it wrapped).
    public var written: UInt64 {
        UInt64(littleEndian: base.load(fromByteOffset: 24, as: UInt64.self))
    }

    /// The bytes the buffer spans, header included.
    public var bytes: Int { TraceLayout.headerBytes + capacity * TraceEvent.bytes }

    public func record(_ event: TraceEvent) {
        let count = written
        let slot = base + TraceLayout.headerBytes + Int(count % UInt64(capacity)) * TraceEvent.bytes
        slot.storeBytes(of: event.timestamp.littleEndian, toByteOffset: 0, as: UInt64.self)
        slot.storeBytes(of: event.kind.rawValue.littleEndian, toByteOffset: 8, as: UInt16.self)
        slot.storeBytes(of: event.channel.littleEndian, toByteOffset: 10, as: UInt16.self)
        slot.storeBytes(of: event.domain.littleEndian, toByteOffset: 12, as: UInt32.self)
        slot.storeBytes(of: event.a.littleEndian, toByteOffset: 16, as: UInt64.self)
        slot.storeBytes(of: event.b.littleEndian, toByteOffset: 24, as: UInt64.self)
        base.storeBytes(of: (count &+ 1).littleEndian, toByteOffset: 24, as: UInt64.self)
    }

    /// Empties it (a new trace starts).
    public func clear() {
        base.storeBytes(of: UInt64(0), toByteOffset: 24, as: UInt64.self)
    }

    /// The buffer's physical or virtual start, as its owner mapped it.
    public var address: UInt64 { UInt64(UInt(bitPattern: base)) }
}
