// What the per-core trace records (docs/tracing.md): the kinds of event, declared once
// for the kernel, the user library (a monitor records its own through the `trace`
// system call) and the host tool that reads the buffers.

/// A trace event's kind. The kernel records them all; a domain may record only those
/// `isRecordableByDomains` says, through the `trace` system call, and the kernel stamps
/// the time, the core and the domain itself.
public enum TraceEventKind: UInt16, CaseIterable, Sendable {
    /// A message went into a ring (a: the receiving core, with the tag in bits 16–31;
    /// b: its sequence number on that ring, from 1).
    case messageSent = 1
    /// A message came out of a ring (a: the sending core and the tag, as above; b: its
    /// sequence number).
    case messageReceived
    /// A domain entered the kernel by `syscall` (a: the call's number, b: for an
    /// invocation its operation).
    case systemCallEntry
    /// The kernel answered it (a: the number, b: the status).
    case systemCallExit
    /// The kernel gave the core to a domain.
    case domainEntered
    /// The domain left the core (a: why, `TraceLeaveReason`).
    case domainLeft
    /// The kernel entered the domain's dispatcher by upcall (a: the `UpcallReason`).
    case upcall
    /// This core sent an interprocessor interrupt (a: the target core, b: the vector).
    case interprocessorInterrupt
    /// An interrupt came (a: the vector).
    case interrupt
    /// A monitor took a step of a protocol (a: the message or request tag, b: its own
    /// detail: a token, a ticket, a domain).
    case protocolStep
    /// A program's own mark (a and b are its own).
    case mark

    /// What a domain may record itself.
    public var isRecordableByDomains: Bool {
        switch self {
        case .messageSent, .messageReceived, .protocolStep, .mark: return true
        default: return false
        }
    }
}

/// A message event's `a`: the other core in bits 0–15, the tag in bits 16–31.
public enum TraceMessageWord {
    public static func make(peer: Int, tag: UInt16) -> UInt64 {
        UInt64(UInt16(truncatingIfNeeded: peer)) | UInt64(tag) << 16
    }

    public static func peer(_ word: UInt64) -> Int { Int(word & 0xFFFF) }
    public static func tag(_ word: UInt64) -> UInt16 { UInt16(truncatingIfNeeded: word >> 16) }
}

/// Which rings a message event is about (the event's `channel`).
public enum TraceChannel: UInt16, CaseIterable, Sendable {
    /// The CPU drivers' links.
    case kernelLink = 0
    /// The monitors' rings.
    case monitorRing
}

/// Why a domain left its core (`domainLeft`'s a).
public enum TraceLeaveReason: UInt64, CaseIterable, Sendable {
    case systemCall = 0, yield, wait, interrupt, fault, exit
}
