// The interface between the kernel and user programs, declared once and built into
// both (Hubris' `abi` crate is the model): what a program sees is decided here, and the
// kernel's rules map onto it. This module needs nothing else, so user programs can link
// it without the kernel's capability code.

/// The status of a capability invocation (RAX on return), one per refusal, stable.
///
/// 0 is success; 16 and up: refused while decoding the arguments; 32 and up: refused by
/// the capability rules; 48 and up: same-core messages; 56 and up: the capability rules
/// of map and unmap.
public enum InvocationStatus: UInt64, CaseIterable, Sendable {
    case success = 0
    // Decoding.
    case unknownOperation = 16, badAddress, unknownType, countTooLarge, unknownRights
    // The capability rules (`CapabilityError` in the Capabilities module).
    case invalidRoot = 32, invalidSlot, notACNode, slotEmpty, slotOccupied, wrongType, insufficientRights
    case retypeNotAllowed, sizeNotAllowed, invalidCount, misaligned, regionInUse, regionExhausted
    case notBadgeable, alreadyBadged
    // Same-core messages.
    case endpointFull = 48, endpointEmpty, notEndpointOwner, badBuffer, noReceiver, tooManyEndpoints
    // Map and unmap.
    case entryOutOfRange = 56, entryReserved, entryOccupied, entryEmpty, alreadyMapped, pageSizeMismatch
}
