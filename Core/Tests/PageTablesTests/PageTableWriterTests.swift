import XCTest
import CoreTestSupport
import Basics
@testable import PageTables

/// Table frames from a host buffer standing in for physical memory at `base`. New
/// frames are filled with garbage, so a writer that forgot to clear them would fail.
struct BufferFrames: PageTableFrameSource {
    let buffer: UnsafeMutableRawPointer
    let base: UInt64
    let capacity: Int
    var handedOut = 0

    mutating func allocateTableFrame() -> PhysicalAddress? {
        guard handedOut < capacity else { return nil }
        let address = PhysicalAddress(base + UInt64(handedOut) * 4096)
        handedOut += 1
        pointer(to: address).initializeMemory(as: UInt8.self, repeating: 0xA5, count: 4096)
        return address
    }

    func pointer(to address: PhysicalAddress) -> UnsafeMutableRawPointer {
        precondition(address.rawValue >= base && address.rawValue < base + UInt64(capacity) * 4096)
        return buffer + Int(address.rawValue - base)
    }
}

final class PageTableWriterTests: XCTestCase {
    let capacity = 64
    var buffer: UnsafeMutableRawPointer!
    var frames: BufferFrames!

    override func setUp() {
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4096, alignment: 4096)
        frames = BufferFrames(buffer: buffer, base: 0x7000_0000, capacity: capacity)
    }

    override func tearDown() { buffer.deallocate() }

    /// The test's own page walk (Intel SDM Vol. 3A §4.5.4), independent of the writer:
    /// the physical address, the leaf's raw entry and the page size, or nil.
    func walk(_ root: PhysicalAddress, _ virtual: UInt64) -> (UInt64, UInt64, UInt64)? {
        var table = root.rawValue
        for (shift, largeAllowed) in [(39, false), (30, true), (21, true), (12, false)] {
            let index = Int((virtual >> UInt64(shift)) & 0x1FF)
            let entry = frames.pointer(to: PhysicalAddress(table)).load(fromByteOffset: index * 8, as: UInt64.self)
            guard entry & 1 != 0 else { return nil }
            let size: UInt64 = 1 << UInt64(shift)
            if shift == 12 || (largeAllowed && entry & 0x80 != 0) {
                let base = entry & 0x000F_FFFF_FFFF_F000 & ~(size - 1)
                return (base | (virtual & (size - 1)), entry, size)
            }
            XCTAssertEqual(entry & 0x3, 0x3, "tables are present and writable")
            table = entry & 0x000F_FFFF_FFFF_F000
        }
        return nil
    }

    func testIdentityMapUsesLargePagesAndResolvesEveryAddress() throws {
        let writer = try PageTableWriter(frames: &frames)
        XCTAssertEqual(frames.handedOut, 1)
        // 0…64 MiB + 12 KiB: 32 large pages and a 4 KiB tail.
        let size: UInt64 = 64 << 20 + 3 * 4096
        try writer.map(virtual: VirtualAddress(0), physical: PhysicalAddress(0), byteCount: size,
                       flags: [.writable, .global], frames: &frames)
        XCTAssertEqual(frames.handedOut, 4)  // PML4, PDPT, directory, one page table
        var v: UInt64 = 0
        while v < size {
            let (physical, entry, pageSize) = try XCTUnwrap(walk(writer.root, v + 123))
            XCTAssertEqual(physical, v + 123)
            XCTAssertEqual(pageSize, v < 64 << 20 ? 2 << 20 : 4096)
            XCTAssertEqual(entry & 0x103, 0x103)  // present, writable, global
            XCTAssertEqual(writer.translate(VirtualAddress(v + 123), frames: frames)?.address,
                           PhysicalAddress(v + 123))
            v += 4096
        }
        XCTAssertNil(walk(writer.root, size))
        XCTAssertNil(writer.translate(VirtualAddress(size), frames: frames))
    }

    func testUncachedDeviceMapping() throws {
        let writer = try PageTableWriter(frames: &frames)
        let flags: PageFlags = [.writable, .cacheDisable, .writeThrough, .noExecute]
        try writer.map(virtual: VirtualAddress(0xFEE0_0000), physical: PhysicalAddress(0xFEE0_0000), byteCount: 4096,
                       flags: flags, frames: &frames)
        let (physical, entry, pageSize) = try XCTUnwrap(walk(writer.root, 0xFEE0_0030))
        XCTAssertEqual(physical, 0xFEE0_0030)
        XCTAssertEqual(pageSize, 4096)
        XCTAssertEqual(entry, 0x8000_0000_FEE0_001B)
        let translation = try XCTUnwrap(writer.translate(VirtualAddress(0xFEE0_0030), frames: frames))
        XCTAssertEqual(translation, Translation(address: PhysicalAddress(0xFEE0_0030), flags: flags.union(.present),
                                                level: .pageTable))
    }

    func testHigherHalfWithGiBPagesAndMixedAlignment() throws {
        let writer = try PageTableWriter(frames: &frames)
        let high = VirtualAddress(0xFFFF_8000_0000_0000)
        try writer.map(virtual: high, physical: PhysicalAddress(0), byteCount: 2 << 30, flags: [.writable],
                       largest: .oneGiB, frames: &frames)
        XCTAssertEqual(frames.handedOut, 2)  // PML4 and one PDPT
        XCTAssertEqual(walk(writer.root, high.rawValue + (3 << 29))?.0, 3 << 29)
        XCTAssertEqual(walk(writer.root, high.rawValue + (3 << 29))?.2, 1 << 30)

        // Virtual 2 MiB-aligned but physical not: only 4 KiB pages.
        try writer.map(virtual: VirtualAddress(0x4000_0000), physical: PhysicalAddress(0x1234_5000),
                       byteCount: 4 << 20, flags: [.user], frames: &frames)
        for offset: UInt64 in [0, 0x1000, 0x1F_F000, 0x3F_FFFF] {
            let (physical, entry, size) = try XCTUnwrap(walk(writer.root, 0x4000_0000 + offset))
            XCTAssertEqual(physical, 0x1234_5000 + offset)
            XCTAssertEqual(size, 4096)
            XCTAssertEqual(entry & 0x7, 0x5)  // present, user, read-only
        }
        XCTAssertEqual(frames.handedOut, 2 + 1 + 1 + 2)  // a PDPT, a directory, two page tables
        // The user bit is set on the path to a user page (U/S is ANDed over the levels).
        let pml4e = frames.pointer(to: writer.root).load(as: UInt64.self)
        XCTAssertEqual(pml4e & 0x4, 0x4)
    }

    func testConflictsAndBadArgumentsChangeNothing() throws {
        let writer = try PageTableWriter(frames: &frames)
        try writer.map(virtual: VirtualAddress(0x20_0000), physical: PhysicalAddress(0x20_0000), byteCount: 2 << 20,
                       flags: [.writable], frames: &frames)
        let tables = frames.handedOut
        let snapshot = Array(UnsafeRawBufferPointer(start: buffer, count: capacity * 4096))

        func expect(_ error: PageTableError, _ virtual: UInt64, _ physical: UInt64, _ size: UInt64,
                    flags: PageFlags = [.writable], line: UInt = #line) {
            XCTAssertThrowsError(try writer.map(virtual: VirtualAddress(virtual), physical: PhysicalAddress(physical),
                                                byteCount: size, flags: flags, frames: &frames), line: line) {
                XCTAssertEqual($0 as? PageTableError, error, line: line)
            }
            XCTAssertEqual(frames.handedOut, tables, line: line)
            XCTAssertTrue(Array(UnsafeRawBufferPointer(start: buffer, count: capacity * 4096)) == snapshot, line: line)
        }
        expect(.alreadyMapped, 0x3F_F000, 0x100_0000, 0x2000)        // overlaps the end of the large page
        expect(.alreadyMapped, 0, 0, 4 << 20)                        // covers it
        expect(.misaligned, 0x1000_0800, 0, 4096)
        expect(.misaligned, 0x1000_0000, 0x800, 4096)
        expect(.invalidArgument, 0x1000_0000, 0, 0)
        expect(.invalidArgument, 0x1000_0000, 0, 100)
        expect(.invalidArgument, 0x1000_0000, 0, 4096, flags: [.largePage])
        expect(.nonCanonical, 0x8000_0000_0000, 0, 4096)
        expect(.nonCanonical, 0x7FFF_FFFF_F000, 0, 0x2000)           // runs into the hole
        expect(.nonCanonical, 0xFFFF_FFFF_FFFF_F000, 0, 0x2000)      // wraps around
        expect(.addressTooLarge, 0x1000_0000, 1 << 52, 4096)
        expect(.addressTooLarge, 0x1000_0000, (1 << 52) - 4096, 0x2000)
    }

    func testRunningOutOfFramesIsReported() throws {
        var few = BufferFrames(buffer: buffer, base: 0x7000_0000, capacity: 2)
        let writer = try PageTableWriter(frames: &few)
        XCTAssertThrowsError(try writer.map(virtual: VirtualAddress(0), physical: PhysicalAddress(0), byteCount: 4096,
                                            flags: [], frames: &few)) {
            XCTAssertEqual($0 as? PageTableError, .outOfMemory)
        }
        var none = BufferFrames(buffer: buffer, base: 0x7000_0000, capacity: 0)
        XCTAssertThrowsError(try PageTableWriter(frames: &none)) {
            XCTAssertEqual($0 as? PageTableError, .outOfMemory)
        }
    }
}
