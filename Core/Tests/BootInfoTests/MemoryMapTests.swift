import Basics
import CoreTestSupport
import XCTest
@testable import BootInfo

final class MemoryMapTests: XCTestCase {
    private func map(_ memory: FixtureMemory) throws(BootInfoError) -> [MemoryMapEntry] {
        try PVHStartInfo.parse(at: PhysicalAddress(StartInfoBuilder.startInfoAddress), memory: memory).memoryMap(memory: memory)
    }

    private func assertError(_ memory: FixtureMemory, _ expected: BootInfoError, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let entries = try map(memory)
            XCTFail("expected \(expected), got \(entries)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    private func entry(_ start: UInt64, _ end: UInt64, _ kind: MemoryKind) -> MemoryMapEntry {
        MemoryMapEntry(range: range(start, end), kind: kind)
    }

    func testQEMULikeMap() throws {
        let memory = StartInfoBuilder.machine([
            (0, 0x9_FC00, 1), (0x9_FC00, 0x400, 2), (0xF_0000, 0x1_0000, 2),
            (0x10_0000, 0x7EE_0000, 1), (0x7FE_0000, 0x2_0000, 2), (0xFFFC_0000, 0x4_0000, 2),
        ])
        let entries = try map(memory)
        XCTAssertEqual(entries.count, 6)
        XCTAssertEqual(entries.usableRanges, [range(0, 0x9_F000), range(0x10_0000, 0x7FE_0000)])
    }

    func testTheDeviceWindowLiesAboveEverythingTheMapNames() {
        // QEMU's pc machine with 512 MiB.
        let small: [MemoryMapEntry] = [entry(0, 0x9_FC00, .usable), entry(0x9_FC00, 0xA_0000, .reserved), entry(0xF_0000, 0x10_0000, .reserved),
                                       entry(0x10_0000, 0x1FFE_0000, .usable), entry(0x1FFE_0000, 0x2000_0000, .reserved),
                                       entry(0xFEFF_C000, 0xFF00_0000, .reserved), entry(0xFFFC_0000, 0x1_0000_0000, .reserved)]
        XCTAssertEqual(small.deviceWindowBelow4GiB, range(0x2000_0000, 0xFEC0_0000))
        // With 4 GiB, low RAM ends at 3 GiB and the rest lies above 4 GiB.
        let large = [entry(0x10_0000, 0xC000_0000, .usable), entry(0x1_0000_0000, 0x1_4000_0000, .usable)]
        XCTAssertEqual(large.deviceWindowBelow4GiB, range(0xC000_0000, 0xFEC0_0000))
        // An entry ending mid-page pushes the start to the next page; one that reaches
        // the I/O APIC leaves no window.
        XCTAssertEqual([entry(0, 0x10_0000, .usable), entry(0, 0x2000_0010, .acpiNonVolatile)].deviceWindowBelow4GiB,
                       range(0x2000_1000, 0xFEC0_0000))
        XCTAssertNil([entry(0x10_0000, 0xFED0_0000, .usable)].deviceWindowBelow4GiB)
        XCTAssertNil([MemoryMapEntry]().deviceWindowBelow4GiB)
        XCTAssertNil([entry(0xF_0000, 0x10_0000, .reserved)].deviceWindowBelow4GiB)
    }

    func testKinds() throws {
        let memory = StartInfoBuilder.machine([
            (0x1000, 1, 1), (0x2000, 1, 2), (0x3000, 1, 3), (0x4000, 1, 4), (0x5000, 1, 5), (0x6000, 1, 7), (0x7000, 1, 0),
        ])
        XCTAssertEqual(try map(memory).map(\.kind),
                       [.usable, .reserved, .acpiReclaimable, .acpiNonVolatile, .unusable, .other(7), .other(0)])
    }

    func testSortedAndZeroSizeDropped() throws {
        let memory = StartInfoBuilder.machine([(0x5000, 0x1000, 1), (0x1000, 0, 2), (0x1000, 0x2000, 1), (0x1000, 0x1000, 2)])
        XCTAssertEqual(try map(memory), [
            entry(0x1000, 0x2000, .reserved), entry(0x1000, 0x3000, .usable), entry(0x5000, 0x6000, .usable),
        ])
    }

    func testEntryEndingAtTopOfAddressSpaceIsFine() throws {
        let memory = StartInfoBuilder.machine([(0xFFFF_FFFF_FFFF_0000, 0xFFFF, 2)])
        XCTAssertEqual(try map(memory), [entry(0xFFFF_FFFF_FFFF_0000, UInt64.max, .reserved)])
    }

    func testOverflowingEntry() {
        let memory = StartInfoBuilder.machine([(0x1000, 0x1000, 1), (0xFFFF_FFFF_FFFF_0000, 0x1_0000, 1)])
        assertError(memory, .entryOverflows(index: 1))
    }

    func testNoEntries() {
        assertError(StartInfoBuilder.machine([]), .noMemoryMap)
    }

    func testZeroMapAddress() {
        let memory = FixtureMemory([StartInfoBuilder.startInfoAddress: StartInfoBuilder.startInfo(memoryMap: 0, memoryMapEntries: 3)])
        assertError(memory, .noMemoryMap)
    }

    func testUnreadableMap() {
        let memory = FixtureMemory([StartInfoBuilder.startInfoAddress: StartInfoBuilder.startInfo(memoryMap: 0xDEAD_0000, memoryMapEntries: 3)])
        assertError(memory, .unreadable(PhysicalAddress(0xDEAD_0000)))
    }

    func testMapShorterThanItsCount() {
        let memory = StartInfoBuilder.machine([(0x1000, 0x1000, 1)])
        memory.place(StartInfoBuilder.startInfo(memoryMapEntries: 2), at: StartInfoBuilder.startInfoAddress)
        assertError(memory, .unreadable(PhysicalAddress(StartInfoBuilder.memoryMapAddress)))
    }

    func testHugeEntryCount() {
        let memory = StartInfoBuilder.machine([(0x1000, 0x1000, 1)])
        memory.place(StartInfoBuilder.startInfo(memoryMapEntries: 0xFFFF_FFFF), at: StartInfoBuilder.startInfoAddress)
        assertError(memory, .tooManyEntries(0xFFFF_FFFF))
        memory.place(StartInfoBuilder.startInfo(memoryMapEntries: 1025), at: StartInfoBuilder.startInfoAddress)
        assertError(memory, .tooManyEntries(1025))
    }

    func testMaximumEntryCount() throws {
        let entries = (0..<1024).map { (address: UInt64($0) * 0x2000, size: UInt64(0x1000), type: UInt32(1)) }
        XCTAssertEqual(try map(StartInfoBuilder.machine(entries)).count, 1024)
    }

    // usableRanges

    func testReservedInsideUsableWins() {
        let entries = [entry(0x10_0000, 0x20_0000, .usable), entry(0x15_0800, 0x15_1000, .reserved)]
        XCTAssertEqual(entries.usableRanges, [range(0x10_0000, 0x15_0000), range(0x15_1000, 0x20_0000)])
    }

    func testReservedOverlappingEdges() {
        let entries = [
            entry(0x0, 0x1_0000, .reserved), entry(0x8000, 0x4_0000, .usable), entry(0x3_F000, 0x5_0000, .acpiNonVolatile),
        ]
        XCTAssertEqual(entries.usableRanges, [range(0x1_0000, 0x3_F000)])
    }

    func testReservedCoveringUsable() {
        let entries = [entry(0x1000, 0x3000, .usable), entry(0x0, 0x10_0000, .unusable)]
        XCTAssertEqual(entries.usableRanges, [])
    }

    func testEveryNonUsableKindIsSubtracted() {
        let kinds: [MemoryKind] = [.reserved, .acpiReclaimable, .acpiNonVolatile, .unusable, .other(7)]
        for kind in kinds {
            let entries = [entry(0, 0x4000, .usable), entry(0x1000, 0x2000, kind)]
            XCTAssertEqual(entries.usableRanges, [range(0, 0x1000), range(0x2000, 0x4000)], "\(kind)")
        }
    }

    func testOverlappingAndAdjacentUsableMerge() {
        let entries = [
            entry(0x3000, 0x5000, .usable), entry(0x1000, 0x2800, .usable), entry(0x2800, 0x3800, .usable),
            entry(0x9000, 0xA000, .usable),
        ]
        XCTAssertEqual(entries.usableRanges, [range(0x1000, 0x5000), range(0x9000, 0xA000)])
    }

    func testUnalignedRangesShrinkToWholePages() {
        let entries = [
            entry(0x1001, 0x3FFF, .usable),  // only page 0x2000 is whole
            entry(0x5001, 0x5FFF, .usable),  // no whole page
            entry(0x7000, 0x9000, .usable), entry(0x7FFF, 0x8001, .reserved),  // pages 0x7000 and 0x8000 both touched
        ]
        XCTAssertEqual(entries.usableRanges, [range(0x2000, 0x3000)])
    }

    func testOneReservedRangeAcrossSeveralUsable() {
        let entries = [
            entry(0x0, 0x2000, .usable), entry(0x3000, 0x5000, .usable), entry(0x6000, 0x8000, .usable),
            entry(0x1000, 0x7000, .reserved),
        ]
        XCTAssertEqual(entries.usableRanges, [range(0x0, 0x1000), range(0x7000, 0x8000)])
    }

    func testUsableAtTopOfAddressSpace() {
        let entries = [entry(0xFFFF_FFFF_FFFF_0000, UInt64.max, .usable)]
        XCTAssertEqual(entries.usableRanges, [range(0xFFFF_FFFF_FFFF_0000, 0xFFFF_FFFF_FFFF_F000)])
    }
}
