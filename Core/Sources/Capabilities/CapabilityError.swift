// Every reason a capability operation refuses. Operations decode and validate first and
// report exactly one of these before they change anything, so a refused operation leaves
// the core's capability state as it was. The kernel passes the case on to user code as
// its error code.

public enum CapabilityError: Error, Equatable, Sendable {
    /// The CSpace's root CNode no longer exists (its last capability was deleted).
    case invalidRoot
    /// A slot index lies past the end of its CNode, or a run of slots runs past it.
    case invalidSlot
    /// The first level of a two-level address does not hold a CNode capability.
    case notACNode
    /// The slot holds no capability.
    case slotEmpty
    /// The destination slot already holds a capability.
    case slotOccupied
    /// The capability's type is not one the operation accepts (payload: the type found).
    case wrongType(CapabilityType)
    /// The capability lacks a right the operation needs.
    case insufficientRights
    /// The source type cannot be retyped into the target type.
    case retypeNotAllowed(from: CapabilityType, to: CapabilityType)
    /// The size argument is not one the target type allows (not a power of two, not a
    /// multiple of 4 KiB, too small, too large, or nonzero for a fixed-size type).
    case sizeNotAllowed
    /// The object count is zero, negative or above `CoreCapabilities.maximumRetypeCount`.
    case invalidCount
    /// The requested place is not aligned as the new objects must be.
    case misaligned
    /// The requested place starts below the source's watermark (children use that part),
    /// or a new root overlaps an existing root.
    case regionInUse
    /// The objects would run past the end of the source object (or of their space).
    case regionExhausted
    /// Mint asked for a badge on a type that carries none.
    case notBadgeable
    /// Mint asked for a badge on a capability that already has one.
    case alreadyBadged
    /// A table entry index of 512 or more.
    case entryOutOfRange
    /// An entry user mappings may not use: the PML4's slot 0 (the kernel's) and upper half.
    case entryReserved
    /// Map into an entry that already maps something.
    case entryOccupied
    /// Unmap of an entry that maps nothing.
    case entryEmpty
    /// Map of a capability copy that is mapped already (double mapping: map another copy).
    case alreadyMapped
    /// Map of a frame into a page-table entry that is not exactly one 4 KiB page.
    case pageSizeMismatch
    /// An argument names something outside the capability's range (a core a notify
    /// capability does not cover).
    case outsideRange
    /// Revoke or retype of an object whose copies or descendants may live on other
    /// cores: only the monitors can, by protocol (ask the monitor).
    case sharedAcrossCores
}
