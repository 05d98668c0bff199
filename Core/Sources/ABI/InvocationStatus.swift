// The interface between the kernel and user programs, declared once and built into
// both (Hubris' `abi` crate is the model): what a program sees is decided here, and the
// kernel's rules map onto it. This module needs nothing else, so user programs can link
// it without the kernel's capability code.

/// The status of a capability invocation (RAX on return), one per refusal, stable.
///
/// 0 is success; 16 and up: refused while decoding the arguments; 32 and up: refused by
/// the capability rules; 48 and up: same-core messages; 56 and up: the capability rules
/// of map and unmap; 72 and up: interrupts to user domains; 80: capabilities shared across cores.
public enum InvocationStatus: UInt64, CaseIterable, Sendable {
    case success = 0
    // Decoding.
    case unknownOperation = 16, badAddress, unknownType, countTooLarge, unknownRights
    /// A port access of a width other than 1, 2 or 4, or a value that does not fit it.
    case badWidth = 21
    // The capability rules (`CapabilityError` in the Capabilities module).
    case invalidRoot = 32, invalidSlot, notACNode, slotEmpty, slotOccupied, wrongType, insufficientRights
    case retypeNotAllowed, sizeNotAllowed, invalidCount, misaligned, regionInUse, regionExhausted
    case notBadgeable, alreadyBadged
    // Same-core messages.
    case endpointFull = 48, endpointEmpty, notEndpointOwner, badBuffer, noReceiver, tooManyEndpoints
    /// The sender has as many capabilities in flight (waiting in messages) as its quota,
    /// which grows with its memory.
    case tooManyInFlight = 54
    /// A call's words went, but the message waiting for it carries a capability, which
    /// only receive (given a slot for it) takes: the message stays first in the queue.
    case capabilityWaiting = 55
    // Map and unmap.
    case entryOutOfRange = 56, entryReserved, entryOccupied, entryEmpty, alreadyMapped, pageSizeMismatch
    // Ranges (notify).
    case outsideRange = 62
    // The kernel's services (spawn, kill, knowledge).
    case noSuchProgram = 63, noSuchDomain, outOfMemory, noKnowledge, bufferTooSmall, notAKernelCommand
    // Interrupts (connect, disconnect): the IRQ is already delivered somewhere, is not
    // connected by the caller, this machine has no I/O APIC for it, or this core has no
    // interrupt vector left.
    case alreadyConnected = 72, notConnected, noInterruptController, noFreeVector
    /// Revoke or retype of a capability whose copies or descendants may be on other
    /// cores: only the monitors do that, by protocol (the user library asks its monitor).
    case sharedAcrossCores = 80
    /// Delete, revoke or retype by a domain that runs on other cores too (a spanning
    /// domain, docs/spanning.md): memory it let go of could still be reached through
    /// another core's TLB, so what it holds stays held until it ends.
    case spanningDomain = 81
    /// A shootdown that a core neither acknowledged nor was known to have stopped for
    /// within its bound (a core that hangs without panicking): the change is made, but
    /// that core may still hold the old translation (docs/shootdown.md).
    case timedOut = 82
    /// No file of that name in the boot image (`bootFile`).
    case noSuchFile = 83
}

/// A refusal, as typed functions in the user library throw it (`success` is never thrown).
extension InvocationStatus: Error {}

extension InvocationStatus: CustomStringConvertible {
    /// The case's name and number, as programs print it: `slotEmpty (35)`.
    public var description: String { name + " (" + String(rawValue) + ")" }

    /// The case's name (written out: Embedded Swift has no reflection).
    public var name: String {
        switch self {
        case .success: return "success"
        case .unknownOperation: return "unknownOperation"
        case .badAddress: return "badAddress"
        case .unknownType: return "unknownType"
        case .countTooLarge: return "countTooLarge"
        case .unknownRights: return "unknownRights"
        case .badWidth: return "badWidth"
        case .invalidRoot: return "invalidRoot"
        case .invalidSlot: return "invalidSlot"
        case .notACNode: return "notACNode"
        case .slotEmpty: return "slotEmpty"
        case .slotOccupied: return "slotOccupied"
        case .wrongType: return "wrongType"
        case .insufficientRights: return "insufficientRights"
        case .retypeNotAllowed: return "retypeNotAllowed"
        case .sizeNotAllowed: return "sizeNotAllowed"
        case .invalidCount: return "invalidCount"
        case .misaligned: return "misaligned"
        case .regionInUse: return "regionInUse"
        case .regionExhausted: return "regionExhausted"
        case .notBadgeable: return "notBadgeable"
        case .alreadyBadged: return "alreadyBadged"
        case .endpointFull: return "endpointFull"
        case .endpointEmpty: return "endpointEmpty"
        case .notEndpointOwner: return "notEndpointOwner"
        case .badBuffer: return "badBuffer"
        case .noReceiver: return "noReceiver"
        case .tooManyEndpoints: return "tooManyEndpoints"
        case .tooManyInFlight: return "tooManyInFlight"
        case .capabilityWaiting: return "capabilityWaiting"
        case .entryOutOfRange: return "entryOutOfRange"
        case .entryReserved: return "entryReserved"
        case .entryOccupied: return "entryOccupied"
        case .entryEmpty: return "entryEmpty"
        case .alreadyMapped: return "alreadyMapped"
        case .pageSizeMismatch: return "pageSizeMismatch"
        case .outsideRange: return "outsideRange"
        case .noSuchProgram: return "noSuchProgram"
        case .noSuchDomain: return "noSuchDomain"
        case .outOfMemory: return "outOfMemory"
        case .noKnowledge: return "noKnowledge"
        case .bufferTooSmall: return "bufferTooSmall"
        case .notAKernelCommand: return "notAKernelCommand"
        case .alreadyConnected: return "alreadyConnected"
        case .notConnected: return "notConnected"
        case .noInterruptController: return "noInterruptController"
        case .noFreeVector: return "noFreeVector"
        case .sharedAcrossCores: return "sharedAcrossCores"
        case .spanningDomain: return "spanningDomain"
        case .timedOut: return "timedOut"
        case .noSuchFile: return "noSuchFile"
        }
    }
}
