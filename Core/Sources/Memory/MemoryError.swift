// What can go wrong when memory is handed out, given back or planned. Every allocator
// operation that takes untrusted or possibly wrong input reports one of these instead
// of trapping, and changes nothing when it does.

public enum MemoryError: Error, Equatable, Sendable {
    /// The usable ranges given to a frame allocator were empty, not page-aligned,
    /// unsorted or overlapping.
    case invalidRanges
    /// No usable range is large enough to hold the frame allocator's bitmap.
    case noRoomForBitmap
    /// A count, size or alignment that is zero, negative or absurd.
    case invalidArgument
    /// The address is not a multiple of the frame size.
    case misaligned
    /// The frames lie (partly) outside the span the allocator manages.
    case outsideSpan
    /// The frames lie (partly) in a hole between usable ranges.
    case notUsable
    /// The frames hold the allocator's own bitmap, which is never freed.
    case allocatorMetadata
    /// The frames, or the heap block, are already free.
    case doubleFree
    /// Frames to take out of use are (partly) in use already.
    case notFree
    /// The pointer was not handed out by this heap (or its block is long gone).
    case notAHeapBlock
    /// There is not enough memory for what was asked (a memory plan whose cores
    /// would get less than the minimum share, or no room for the channel area).
    case notEnoughMemory
}
