import XCTest
@testable import Virtio

/// The device's side of a queue, written as a device would: it reads the available ring
/// and the descriptors, and writes used entries and the used index — or whatever garbage
/// a test wants it to write.
final class FakeDevice {
    let layout: SplitQueueLayout
    let memory: UnsafeMutableRawPointer
    var nextAvailable: UInt16 = 0
    var nextUsed: UInt16 = 0

    init(_ layout: SplitQueueLayout) {
        self.layout = layout
        memory = UnsafeMutableRawPointer.allocate(byteCount: layout.byteCount, alignment: SplitQueueLayout.alignment)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: layout.byteCount)
    }

    deinit { memory.deallocate() }

    func load16(_ offset: Int) -> UInt16 { UInt16(littleEndian: memory.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }

    /// The next descriptor the driver made available: id, address, length, flags.
    func takeAvailable() -> (id: UInt16, address: UInt64, length: UInt32, flags: UInt16)? {
        guard load16(layout.availableOffset + 2) != nextAvailable else { return nil }
        let id = load16(layout.availableOffset + 4 + 2 * (Int(nextAvailable) % layout.size))
        nextAvailable &+= 1
        let descriptor = layout.descriptorOffset + 16 * Int(id)
        return (id, memory.loadUnaligned(fromByteOffset: descriptor, as: UInt64.self),
                memory.loadUnaligned(fromByteOffset: descriptor + 8, as: UInt32.self), load16(descriptor + 12))
    }

    /// Writes a used entry and publishes it.
    func use(id: UInt32, length: UInt32) {
        let entry = layout.usedOffset + 4 + 8 * (Int(nextUsed) % layout.size)
        memory.storeBytes(of: id.littleEndian, toByteOffset: entry, as: UInt32.self)
        memory.storeBytes(of: length.littleEndian, toByteOffset: entry + 4, as: UInt32.self)
        nextUsed &+= 1
        setUsedIndex(nextUsed)
    }

    func setUsedIndex(_ index: UInt16) {
        memory.storeBytes(of: index.littleEndian, toByteOffset: layout.usedOffset + 2, as: UInt16.self)
    }
}

final class SplitQueueTests: XCTestCase {
    func testLegacyLayoutOfQEMUsQueues() {
        // 256 entries, as QEMU's network device has: descriptors 4 KiB, the available ring
        // to 4614 bytes, so the used ring at 8 KiB, three pages in all.
        let layout = SplitQueueLayout(size: 256)!
        XCTAssertEqual(layout.availableOffset, 4096)
        XCTAssertEqual(layout.usedOffset, 8192)
        XCTAssertEqual(layout.byteCount, 12288)
        XCTAssertEqual(SplitQueueLayout(size: 8)!.usedOffset, 4096)
        XCTAssertEqual(SplitQueueLayout(size: 8)!.byteCount, 8192)
        XCTAssertNil(SplitQueueLayout(size: 0))
        XCTAssertNil(SplitQueueLayout(size: 12))
        XCTAssertNil(SplitQueueLayout(size: 65536))
    }

    func testGivenBuffersReachTheDeviceAndComeBackWithTheirLengths() throws {
        let device = FakeDevice(SplitQueueLayout(size: 8)!)
        var queue = SplitQueue(layout: device.layout, memory: device.memory)
        XCTAssertTrue(queue.give(buffer: 5, address: 0x10_0000, length: 2048, direction: .fromDevice))
        XCTAssertTrue(queue.give(buffer: 6, address: 0x10_0800, length: 60, direction: .toDevice))
        let first = try XCTUnwrap(device.takeAvailable())
        XCTAssertEqual(first.address, 0x10_0000)
        XCTAssertEqual(first.length, 2048)
        XCTAssertEqual(first.flags, 2, "the device may write a receive buffer")
        let second = try XCTUnwrap(device.takeAvailable())
        XCTAssertEqual(second.address, 0x10_0800)
        XCTAssertEqual(second.flags, 0)
        XCTAssertNil(device.takeAvailable())
        XCTAssertNil(try queue.takeUsed())

        device.use(id: UInt32(second.id), length: 0)
        device.use(id: UInt32(first.id), length: 74)
        XCTAssertEqual(try queue.takeUsed(), UsedBuffer(buffer: 6, length: 0))
        XCTAssertEqual(try queue.takeUsed(), UsedBuffer(buffer: 5, length: 74))
        XCTAssertNil(try queue.takeUsed())
        XCTAssertEqual(queue.heldCount, 0)
        XCTAssertEqual(queue.given, 2)
        XCTAssertEqual(queue.taken, 2)
    }

    func testAFullQueueRefusesMore() {
        let device = FakeDevice(SplitQueueLayout(size: 4)!)
        var queue = SplitQueue(layout: device.layout, memory: device.memory)
        for buffer in 0..<4 { XCTAssertTrue(queue.give(buffer: buffer, address: 0, length: 1, direction: .fromDevice)) }
        XCTAssertFalse(queue.give(buffer: 4, address: 0, length: 1, direction: .fromDevice))
    }

    func testIndicesWrapPast65535() throws {
        let device = FakeDevice(SplitQueueLayout(size: 4)!)
        var queue = SplitQueue(layout: device.layout, memory: device.memory)
        for round in 0..<70_000 {
            XCTAssertTrue(queue.give(buffer: round % 3, address: UInt64(round), length: 100, direction: .fromDevice))
            let given = try XCTUnwrap(device.takeAvailable())
            XCTAssertEqual(given.address, UInt64(round))
            device.use(id: UInt32(given.id), length: UInt32(round % 101))
            XCTAssertEqual(try queue.takeUsed(), UsedBuffer(buffer: round % 3, length: round % 101))
        }
    }

    // MARK: A device that writes garbage

    func testAnIDPastTheTableIsRefusedAndTheNextEntryStillCounts() throws {
        let device = FakeDevice(SplitQueueLayout(size: 8)!)
        var queue = SplitQueue(layout: device.layout, memory: device.memory)
        XCTAssertTrue(queue.give(buffer: 1, address: 0x1000, length: 2048, direction: .fromDevice))
        XCTAssertTrue(queue.give(buffer: 2, address: 0x2000, length: 2048, direction: .fromDevice))
        let given = try XCTUnwrap(device.takeAvailable())
        device.use(id: 8, length: 10)
        device.use(id: UInt32(given.id), length: 10)
        XCTAssertThrowsError(try queue.takeUsed()) { XCTAssertEqual($0 as? VirtqueueFault, .idOutOfRange(id: 8)) }
        XCTAssertEqual(try queue.takeUsed(), UsedBuffer(buffer: 1, length: 10))
        XCTAssertEqual(queue.refused, 1)
    }

    func testAnIDTheDeviceDoesNotHoldIsRefused() throws {
        let device = FakeDevice(SplitQueueLayout(size: 8)!)
        var queue = SplitQueue(layout: device.layout, memory: device.memory)
        XCTAssertTrue(queue.give(buffer: 1, address: 0x1000, length: 2048, direction: .fromDevice))
        XCTAssertTrue(queue.give(buffer: 2, address: 0x2000, length: 2048, direction: .fromDevice))
        let given = try XCTUnwrap(device.takeAvailable())
        device.use(id: UInt32(given.id), length: 10)
        device.use(id: UInt32(given.id), length: 10)        // the same buffer twice
        XCTAssertEqual(try queue.takeUsed(), UsedBuffer(buffer: 1, length: 10))
        XCTAssertThrowsError(try queue.takeUsed()) { XCTAssertEqual($0 as? VirtqueueFault, .idNotHeld(id: UInt32(given.id))) }
        XCTAssertEqual(queue.heldCount, 1)
    }

    func testALengthPastTheBufferIsRefusedAndTheBufferComesBack() throws {
        let device = FakeDevice(SplitQueueLayout(size: 8)!)
        var queue = SplitQueue(layout: device.layout, memory: device.memory)
        XCTAssertTrue(queue.give(buffer: 3, address: 0x1000, length: 2048, direction: .fromDevice))
        let given = try XCTUnwrap(device.takeAvailable())
        device.use(id: UInt32(given.id), length: 2049)
        XCTAssertThrowsError(try queue.takeUsed()) {
            XCTAssertEqual($0 as? VirtqueueFault, .lengthTooLong(buffer: 3, length: 2049))
        }
        XCTAssertEqual(queue.heldCount, 0, "the buffer is the driver's again, to give once more")
    }

    func testALengthOnABufferTheDeviceOnlyReadsIsIgnored() throws {
        let device = FakeDevice(SplitQueueLayout(size: 8)!)
        var queue = SplitQueue(layout: device.layout, memory: device.memory)
        XCTAssertTrue(queue.give(buffer: 0, address: 0x1000, length: 60, direction: .toDevice))
        let given = try XCTUnwrap(device.takeAvailable())
        device.use(id: UInt32(given.id), length: 0xFFFF_FFFF)
        XCTAssertEqual(try queue.takeUsed(), UsedBuffer(buffer: 0, length: 0))
    }

    func testAUsedIndexPastWhatTheDeviceHoldsBreaksTheQueue() throws {
        let device = FakeDevice(SplitQueueLayout(size: 8)!)
        var queue = SplitQueue(layout: device.layout, memory: device.memory)
        XCTAssertTrue(queue.give(buffer: 0, address: 0x1000, length: 64, direction: .fromDevice))
        device.setUsedIndex(0x8000)
        XCTAssertThrowsError(try queue.takeUsed()) {
            XCTAssertEqual($0 as? VirtqueueFault, .usedIndexTooFar(moved: 0x8000, held: 1))
        }
        XCTAssertTrue(queue.isBroken)
        XCTAssertNil(try queue.takeUsed())
        XCTAssertFalse(queue.give(buffer: 1, address: 0x2000, length: 64, direction: .fromDevice))
    }

    /// Random used entries and indices: whatever the device writes, every buffer that
    /// comes back is one the device held, with a length inside it, and no buffer comes
    /// back twice for one giving.
    func testRandomGarbageNeverYieldsABufferTheDeviceDidNotHold() {
        var seed: UInt64 = 0x5EED_0013
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        for _ in 0..<200 {
            let device = FakeDevice(SplitQueueLayout(size: 16)!)
            var queue = SplitQueue(layout: device.layout, memory: device.memory)
            var outstanding: [Int: Int] = [:]            // buffer → times given and not back
            let lengths = (0..<32).map { _ in UInt32(next() % 4096) }
            for step in 0..<400 {
                if next() % 2 == 0 {
                    let buffer = Int(next() % 32)
                    let direction: BufferDirection = next() % 2 == 0 ? .fromDevice : .toDevice
                    if queue.give(buffer: buffer, address: UInt64(buffer) << 12, length: lengths[buffer], direction: direction) {
                        outstanding[buffer, default: 0] += 1
                    }
                } else {
                    switch next() % 4 {
                    case 0: device.setUsedIndex(UInt16(truncatingIfNeeded: next()))
                    case 1: device.use(id: UInt32(truncatingIfNeeded: next()), length: UInt32(truncatingIfNeeded: next()))
                    default: device.use(id: UInt32(next() % 16), length: UInt32(next() % 4200))
                    }
                }
                do {
                    while let used = try queue.takeUsed() {
                        XCTAssertGreaterThan(outstanding[used.buffer, default: 0], 0, "step \(step)")
                        outstanding[used.buffer, default: 0] -= 1
                        XCTAssertLessThanOrEqual(used.length, Int(lengths[used.buffer]))
                    }
                } catch .lengthTooLong(let buffer, _) {
                    XCTAssertGreaterThan(outstanding[buffer, default: 0], 0)
                    outstanding[buffer, default: 0] -= 1
                } catch {}
                XCTAssertEqual(queue.heldCount, outstanding.values.reduce(0, +))
            }
        }
    }
}
