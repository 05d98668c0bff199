import XCTest
import CoreTestSupport
import Basics
@testable import PageTables

final class PageTableEntryTests: XCTestCase {
    func testFlagBitsAreAtTheSDMPositions() {
        // Intel SDM Vol. 3A Tables 4-14…4-20.
        XCTAssertEqual(PageFlags.present.rawValue, 1 << 0)
        XCTAssertEqual(PageFlags.writable.rawValue, 1 << 1)
        XCTAssertEqual(PageFlags.user.rawValue, 1 << 2)
        XCTAssertEqual(PageFlags.writeThrough.rawValue, 1 << 3)
        XCTAssertEqual(PageFlags.cacheDisable.rawValue, 1 << 4)
        XCTAssertEqual(PageFlags.accessed.rawValue, 1 << 5)
        XCTAssertEqual(PageFlags.dirty.rawValue, 1 << 6)
        XCTAssertEqual(PageFlags.largePage.rawValue, 1 << 7)
        XCTAssertEqual(PageFlags.global.rawValue, 1 << 8)
        XCTAssertEqual(PageFlags.noExecute.rawValue, 1 << 63)
    }

    func testLevels() {
        XCTAssertEqual(PageTableLevel.pml4.coverage, 512 << 30)
        XCTAssertEqual(PageTableLevel.pdpt.coverage, 1 << 30)
        XCTAssertEqual(PageTableLevel.pageDirectory.coverage, 2 << 20)
        XCTAssertEqual(PageTableLevel.pageTable.coverage, 4096)
        XCTAssertEqual(PageTableLevel.allCases.filter(\.allowsLargePages), [.pdpt, .pageDirectory])
        XCTAssertEqual(PageTableLevel.pml4.next, .pdpt)
        XCTAssertEqual(PageTableLevel.pdpt.next, .pageDirectory)
        XCTAssertEqual(PageTableLevel.pageDirectory.next, .pageTable)
        XCTAssertNil(PageTableLevel.pageTable.next)
    }

    func testCanonicalAddresses() {
        for raw: UInt64 in [0, 0x7FFF_FFFF_FFFF, 0xFFFF_8000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 0x1234_5678] {
            XCTAssertTrue(VirtualAddress(raw).isCanonical, String(raw, radix: 16))
        }
        for raw: UInt64 in [0x8000_0000_0000, 0xFFFF_7FFF_FFFF_FFFF, 0x0001_0000_0000_0000, 0x8000_0000_0000_0000] {
            XCTAssertFalse(VirtualAddress(raw).isCanonical, String(raw, radix: 16))
        }
    }

    func testIndexExtraction() {
        let address = VirtualAddress(pml4: 0x1A3, pdpt: 0x055, pageDirectory: 0x1FF, pageTable: 0x001, offset: 0xABC)
        XCTAssertEqual(address.rawValue, 0xFFFF_D195_7FE0_1ABC)
        XCTAssertTrue(address.isCanonical)
        XCTAssertEqual(address.index(at: .pml4), 0x1A3)
        XCTAssertEqual(address.index(at: .pdpt), 0x055)
        XCTAssertEqual(address.index(at: .pageDirectory), 0x1FF)
        XCTAssertEqual(address.index(at: .pageTable), 0x001)
        XCTAssertEqual(address.pageOffset, 0xABC)
        XCTAssertEqual(VirtualAddress(pml4: 1, pdpt: 0, pageDirectory: 0, pageTable: 0).rawValue, 1 << 39)

        var random = SeededGenerator(seed: 3)
        for _ in 0..<1000 {
            let indices = (0..<4).map { _ in Int(random.next() % 512) }
            let offset = Int(random.next() % 4096)
            let v = VirtualAddress(pml4: indices[0], pdpt: indices[1], pageDirectory: indices[2],
                                   pageTable: indices[3], offset: offset)
            XCTAssertTrue(v.isCanonical)
            XCTAssertEqual([v.index(at: .pml4), v.index(at: .pdpt), v.index(at: .pageDirectory),
                            v.index(at: .pageTable)], indices)
            XCTAssertEqual(v.pageOffset, offset)
        }
    }

    func testFourKiBPageEntry() throws {
        let entry = try PageTableEntry(address: PhysicalAddress(0x0000_0012_3456_7000),
                                       flags: [.present, .writable, .noExecute, .global], level: .pageTable)
        XCTAssertEqual(entry.rawValue, 0x8000_0012_3456_7103)
        XCTAssertTrue(entry.isPresent)
        XCTAssertEqual(entry.address, PhysicalAddress(0x12_3456_7000))
        XCTAssertEqual(entry.flags, [.present, .writable, .noExecute, .global])
        XCTAssertEqual(entry.address(at: .pageTable), PhysicalAddress(0x12_3456_7000))
        XCTAssertTrue(entry.mapsPage(at: .pageTable))
        XCTAssertFalse(PageTableEntry.empty.isPresent)
    }

    func testPATMovesWithThePageSize() throws {
        // 4 KiB page: PAT is bit 7.
        let small = try PageTableEntry(address: PhysicalAddress(0x5000), flags: [.present, .pat], level: .pageTable)
        XCTAssertEqual(small.rawValue, 0x5000 | 1 << 7 | 1)
        XCTAssertEqual(small.flags(at: .pageTable), [.present, .pat])
        XCTAssertEqual(small.address(at: .pageTable), PhysicalAddress(0x5000))
        // 2 MiB page: PS is bit 7, PAT is bit 12, the address starts at bit 21.
        let large = try PageTableEntry(address: PhysicalAddress(0x4060_0000),
                                       flags: [.present, .largePage, .pat, .cacheDisable], level: .pageDirectory)
        XCTAssertEqual(large.rawValue, 0x4060_0000 | 1 << 12 | 1 << 7 | 1 << 4 | 1)
        XCTAssertEqual(large.address, PhysicalAddress(0x4060_0000))
        XCTAssertEqual(large.address(at: .pageDirectory), PhysicalAddress(0x4060_0000))
        XCTAssertEqual(large.flags, [.present, .largePage, .pat, .cacheDisable])
        XCTAssertEqual(large.flags(at: .pageDirectory), [.present, .largePage, .pat, .cacheDisable])
        XCTAssertTrue(large.mapsPage(at: .pageDirectory))
        // 1 GiB page.
        let huge = try PageTableEntry(address: PhysicalAddress(3 << 30), flags: [.present, .largePage, .pat],
                                      level: .pdpt)
        XCTAssertEqual(huge.address(at: .pdpt), PhysicalAddress(3 << 30))
        XCTAssertEqual(huge.flags(at: .pdpt), [.present, .largePage, .pat])
        // A table pointer has no PAT bit; bit 12 there is an address bit.
        XCTAssertThrowsError(try PageTableEntry(address: PhysicalAddress(0x1000), flags: [.present, .pat],
                                                level: .pageDirectory))
        let table = try PageTableEntry(address: PhysicalAddress(0x1000), flags: [.present], level: .pageDirectory)
        XCTAssertEqual(table.flags(at: .pageDirectory), [.present])
        XCTAssertEqual(table.address(at: .pageDirectory), PhysicalAddress(0x1000))
        XCTAssertFalse(table.mapsPage(at: .pageDirectory))
    }

    func testMisalignedAndOversizedAddressesAreRejected() {
        func expect(_ error: PageTableError, _ address: UInt64, _ flags: PageFlags, _ level: PageTableLevel,
                    line: UInt = #line) {
            XCTAssertThrowsError(try PageTableEntry(address: PhysicalAddress(address), flags: flags, level: level),
                                 line: line) { XCTAssertEqual($0 as? PageTableError, error, line: line) }
        }
        expect(.misaligned, 0x1001, [.present], .pageTable)
        expect(.misaligned, 0x1800, [.present], .pml4)
        expect(.misaligned, 0x20_1000, [.present, .largePage], .pageDirectory)
        expect(.misaligned, 0x20_0000, [.present, .largePage], .pdpt)
        expect(.addressTooLarge, 1 << 52, [.present], .pageTable)
        expect(.addressTooLarge, 1 << 63, [.present], .pdpt)
        expect(.largePageNotAllowed, 0, [.present, .largePage], .pml4)
        expect(.largePageNotAllowed, 0, [.present, .largePage], .pageTable)
        XCTAssertEqual(try PageTableEntry(address: PhysicalAddress(0x000F_FFFF_FFFF_F000), flags: [.present],
                                          level: .pageTable).address, PhysicalAddress(0x000F_FFFF_FFFF_F000))
    }

    func testEncodeDecodeRoundTrips() throws {
        var random = SeededGenerator(seed: 99)
        let leafFlags: [PageFlags] = [.present, .writable, .user, .writeThrough, .cacheDisable, .accessed, .dirty,
                                      .global, .pat, .noExecute]
        for _ in 0..<2000 {
            let level = PageTableLevel.allCases[Int(random.next() % 4)]
            let large = level.allowsLargePages && random.next() % 2 == 0
            let leaf = level == .pageTable || large
            var flags: PageFlags = large ? [.largePage] : []
            for flag in leafFlags where random.next() % 2 == 0 && (leaf || flag != .pat) { flags.insert(flag) }
            let alignment = large ? level.coverage : 4096
            let address = PhysicalAddress((random.next() & 0x000F_FFFF_FFFF_F000) & ~(alignment - 1))
            let entry = try PageTableEntry(address: address, flags: flags, level: level)
            XCTAssertEqual(entry.address(at: level), address)
            XCTAssertEqual(entry.flags(at: level), flags)
            XCTAssertEqual(entry.isPresent, flags.contains(.present))
            XCTAssertEqual(entry.mapsPage(at: level), leaf)
            XCTAssertEqual(PageTableEntry(rawValue: entry.rawValue), entry)
            if !(level == .pageTable && flags.contains(.pat)) {
                XCTAssertEqual(entry.address, address)
                XCTAssertEqual(entry.flags, flags)
            }
        }
    }
}

