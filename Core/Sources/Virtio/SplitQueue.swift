// A virtqueue as the driver keeps it: the split ring of virtio's legacy interface
// (virtio 1.0, §2.4 and §4.1.5, "legacy interfaces"), in memory the driver owns and the
// device reads and writes. Three parts, each written by one side:
//
//   descriptor table  16 bytes × size: address, length, flags, next (driver writes)
//   available ring    flags, index, size × descriptor id, (event) (driver writes)
//   used ring         flags, index, size × (id, length), (event) (device writes),
//                     at the next 4 KiB boundary (the legacy interface's alignment)
//
// The driver gives a buffer to the device by writing a descriptor and putting its id in
// the available ring, then advancing the available index; the device hands it back by
// putting (id, bytes written) in the used ring and advancing the used index.
//
// Everything the device writes is untrusted: a used index that moves further than the
// driver has buffers out, an id that names no descriptor or one the device does not
// hold, a length past the buffer. The driver never reads its descriptors back; it keeps
// its own record of which buffer each id stands for and how long it is, and checks every
// used entry against it, so a device writing garbage cannot make the driver read or
// write outside its buffers. Each buffer is one descriptor (no chains): a received
// frame and its header fit in one.
//
// Memory ordering: descriptors and ring entries are written before the available index
// is stored with release ordering; the used index is loaded with acquire ordering before
// the entries it covers are read. On x86-64 these are plain moves that the compiler may
// not reorder or cache, which is what a device running beside the driver needs.
import Synchronization

/// Where the three parts lie in a queue of `size` entries, legacy layout.
public struct SplitQueueLayout: Equatable, Sendable {
    /// Entries: a power of two, at most 32768 (the device says how many).
    public let size: Int

    /// The legacy interface puts the used ring at this alignment, and the queue's address
    /// is given to the device in units of it.
    public static let alignment = 4096

    public init?(size: Int) {
        guard size > 0, size <= 32768, size & (size - 1) == 0 else { return nil }
        self.size = size
    }

    public var descriptorOffset: Int { 0 }
    public var availableOffset: Int { 16 * size }
    /// After the available ring's flags, index, entries and event word, aligned.
    public var usedOffset: Int { Self.alignedUp(availableOffset + 6 + 2 * size) }
    /// The whole queue: the used ring's flags, index, entries and event word, aligned.
    public var byteCount: Int { usedOffset + Self.alignedUp(6 + 8 * size) }

    static func alignedUp(_ value: Int) -> Int { (value + alignment - 1) & ~(alignment - 1) }
}

/// What the device may do with a buffer.
public enum BufferDirection: Sendable {
    /// The device reads it (a frame to send).
    case toDevice
    /// The device writes it (room for a received frame).
    case fromDevice
}

/// A buffer the device handed back: the driver's own index for it and the bytes the
/// device wrote into it (0 for a buffer it only read), at most the buffer's length.
public struct UsedBuffer: Equatable, Sendable {
    public let buffer: Int
    public let length: Int
}

/// A used entry no correct device writes. The entry is skipped; a buffer it names
/// that the device did hold comes back in `buffer`, for the driver to use again.
public enum VirtqueueFault: Error, Equatable, Sendable {
    /// The id is not one of the queue's descriptors.
    case idOutOfRange(id: UInt32)
    /// The id names a descriptor the device does not hold (never given, or given back).
    case idNotHeld(id: UInt32)
    /// The device says it wrote more than the buffer holds.
    case lengthTooLong(buffer: Int, length: UInt32)
    /// The used index moved further than the buffers the device holds: nothing on this
    /// queue is taken from the device again.
    case usedIndexTooFar(moved: UInt16, held: Int)
}

/// The driver's side of one split virtqueue over memory it owns (`SplitQueueLayout.byteCount`
/// bytes at `memory`, zeroed, at the physical address the device was given).
public struct SplitQueue {
    public let layout: SplitQueueLayout
    let memory: UnsafeMutableRawPointer
    /// What each descriptor id stands for while the device holds it: the driver's buffer
    /// index, its length, and whether the device may write it.
    var held: [(buffer: Int, length: UInt32, deviceWrites: Bool)?]
    var free: [UInt16]
    /// The available index as the driver last published it.
    var nextAvailable: UInt16 = 0
    /// The used index up to which entries were taken.
    var lastUsed: UInt16 = 0
    /// Set when the device moved the used index impossibly far.
    public private(set) var isBroken = false

    /// Buffers given to the device and taken back in good order, and used entries refused.
    public private(set) var given = 0
    public private(set) var taken = 0
    public private(set) var refused = 0

    public init(layout: SplitQueueLayout, memory: UnsafeMutableRawPointer) {
        self.layout = layout
        self.memory = memory
        held = Array(repeating: nil, count: layout.size)
        free = (0..<layout.size).reversed().map { UInt16($0) }
    }

    /// How many buffers the device holds now.
    public var heldCount: Int { layout.size - free.count }

    /// Gives the device buffer `buffer` (the driver's own index for it) of `length` bytes
    /// at physical address `address`. False if every descriptor is in use or the queue is
    /// broken. The device learns of it at the next `notify` of the queue.
    public mutating func give(buffer: Int, address: UInt64, length: UInt32, direction: BufferDirection) -> Bool {
        guard !isBroken, let id = free.popLast() else { return false }
        let descriptor = memory + layout.descriptorOffset + 16 * Int(id)
        descriptor.storeBytes(of: address.littleEndian, toByteOffset: 0, as: UInt64.self)
        descriptor.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt32.self)
        // Flag 2: the device writes this buffer; no flag 1, so no chain.
        descriptor.storeBytes(of: UInt16(direction == .fromDevice ? 2 : 0).littleEndian, toByteOffset: 12, as: UInt16.self)
        descriptor.storeBytes(of: UInt16(0), toByteOffset: 14, as: UInt16.self)
        held[Int(id)] = (buffer, length, direction == .fromDevice)
        let slot = Int(nextAvailable) & (layout.size - 1)
        (memory + layout.availableOffset + 4 + 2 * slot).storeBytes(of: id.littleEndian, as: UInt16.self)
        nextAvailable &+= 1
        index(at: layout.availableOffset + 2).pointee.store(nextAvailable.littleEndian, ordering: .releasing)
        given += 1
        return true
    }

    /// The next buffer the device handed back, nil if none; throws for an entry no
    /// correct device writes (and goes on with the next entry at the next call).
    public mutating func takeUsed() throws(VirtqueueFault) -> UsedBuffer? {
        guard !isBroken else { return nil }
        let published = UInt16(littleEndian: index(at: layout.usedOffset + 2).pointee.load(ordering: .acquiring))
        let moved = published &- lastUsed
        guard moved != 0 else { return nil }
        guard Int(moved) <= heldCount else {
            isBroken = true
            refused += 1
            throw .usedIndexTooFar(moved: moved, held: heldCount)
        }
        let slot = Int(lastUsed) & (layout.size - 1)
        let entry = memory + layout.usedOffset + 4 + 8 * slot
        let id = UInt32(littleEndian: entry.loadUnaligned(as: UInt32.self))
        let length = UInt32(littleEndian: entry.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        lastUsed &+= 1
        guard id < UInt32(layout.size) else {
            refused += 1
            throw .idOutOfRange(id: id)
        }
        guard let record = held[Int(id)] else {
            refused += 1
            throw .idNotHeld(id: id)
        }
        held[Int(id)] = nil
        free.append(UInt16(id))
        // What a device says it wrote into a buffer it was only to read says nothing the
        // driver uses, so only a written buffer's length is checked (and kept).
        guard !record.deviceWrites || length <= record.length else {
            refused += 1
            throw .lengthTooLong(buffer: record.buffer, length: length)
        }
        taken += 1
        return UsedBuffer(buffer: record.buffer, length: record.deviceWrites ? Int(length) : 0)
    }

    func index(at offset: Int) -> UnsafeMutablePointer<Atomic<UInt16>> {
        (memory + offset).assumingMemoryBound(to: Atomic<UInt16>.self)
    }
}
