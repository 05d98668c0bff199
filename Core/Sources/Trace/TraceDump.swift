// Reading a core's trace buffer back from its bytes (`TraceBuffer` has the layout).
// The bytes come from outside the program that reads them (a guest's memory), so every
// field is checked: a header that is not a trace buffer is an error naming what is
// wrong; a buffer cut short gives the events that are there and says how many are
// missing; an event of a kind nobody records is skipped and counted.
import ABI
import Basics

public struct TraceDump: Equatable, Sendable {
    public var core: Int
    public var cyclesPerMicrosecond: UInt64
    /// The events still in the buffer, oldest first.
    public var events: [TraceEvent]
    /// Events overwritten when the buffer wrapped.
    public var lost: UInt64
    /// Events the header counts that the bytes did not reach (a buffer cut short).
    public var missing: Int
    /// Events of no known kind, skipped.
    public var malformed: Int

    public init(core: Int, cyclesPerMicrosecond: UInt64, events: [TraceEvent], lost: UInt64 = 0, missing: Int = 0, malformed: Int = 0) {
        self.core = core
        self.cyclesPerMicrosecond = cyclesPerMicrosecond
        self.events = events
        self.lost = lost
        self.missing = missing
        self.malformed = malformed
    }

    public enum Failure: Error, Equatable, Sendable {
        case tooShort, notATrace, unknownVersion(UInt32), badCapacity(UInt64)
    }

    public static func decode(_ bytes: [UInt8]) throws(Failure) -> TraceDump {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(Failure) in try decode(ByteReader(raw)) } }
        return try result.get()
    }

    static func decode(_ reader: ByteReader) throws(Failure) -> TraceDump {
        guard let magic = reader.load(UInt64.self, at: 0), let core = reader.load(UInt32.self, at: 8),
              let version = reader.load(UInt32.self, at: 12), let capacity = reader.load(UInt64.self, at: 16),
              let written = reader.load(UInt64.self, at: 24), let rate = reader.load(UInt64.self, at: 32),
              reader.count >= TraceLayout.headerBytes else { throw .tooShort }
        guard magic == TraceLayout.magic else { throw .notATrace }
        guard version == TraceLayout.version else { throw .unknownVersion(version) }
        guard capacity > 0, capacity <= UInt64(Int32.max) / UInt64(TraceEvent.bytes) else { throw .badCapacity(capacity) }
        let held = Int(min(written, capacity))
        let first = written > capacity ? Int(written % capacity) : 0
        var dump = TraceDump(core: Int(core), cyclesPerMicrosecond: rate, events: [], lost: written - UInt64(held),
                             missing: 0, malformed: 0)
        for n in 0..<held {
            let offset = TraceLayout.headerBytes + (first + n) % Int(capacity) * TraceEvent.bytes
            guard let timestamp = reader.load(UInt64.self, at: offset), let kind = reader.load(UInt16.self, at: offset + 8),
                  let channel = reader.load(UInt16.self, at: offset + 10), let domain = reader.load(UInt32.self, at: offset + 12),
                  let a = reader.load(UInt64.self, at: offset + 16), let b = reader.load(UInt64.self, at: offset + 24) else {
                dump.missing += 1
                continue
            }
            guard let known = TraceEventKind(rawValue: kind) else {
                dump.malformed += 1
                continue
            }
            dump.events.append(TraceEvent(timestamp: timestamp, kind: known, channel: channel, domain: domain, a: a, b: b))
        }
        return dump
    }
}
