import XCTest
@testable import PCI

/// The capability list and MSI-X: found where a device puts them, and a list the device
/// garbles (pointers into the header, loops, endless chains, BAR indicators past 5) is
/// cut with a problem, never followed.
final class PCICapabilitiesTests: XCTestCase {
    let address = PCIAddress(bus: 0, device: 3, function: 0)!

    /// A function whose capability list is `entries` (offset, id, next), with status bit 4
    /// set unless `listed` is false, and the list's head at 0x34.
    func space(head: UInt8, entries: [(offset: UInt8, id: UInt8, next: UInt8)], listed: Bool = true,
               extra: [(offset: UInt8, value: UInt32)] = []) -> FakeSpace {
        var space = FakeSpace()
        space.add(address, vendor: 0x1AF4, device: 0x1000, classCode: 2, subclass: 0)
        var registers = space.functions[address]!
        if listed { registers[1] |= PCICapabilities.listBit }
        registers[0x34 / 4] = UInt32(head)
        for entry in entries { registers[Int(entry.offset) / 4] = UInt32(entry.id) | UInt32(entry.next) << 8 }
        for word in extra { registers[Int(word.offset) / 4] = word.value }
        space.functions[address] = registers
        return space
    }

    /// QEMU's virtio-net-pci: MSI-X at 0x98 (3 vectors, table in BAR 1 at 0, PBA in BAR 1
    /// at 0x800), then vendor capabilities.
    var virtioNet: FakeSpace {
        space(head: 0x98, entries: [(0x98, 0x11, 0x84), (0x84, 0x09, 0x70), (0x70, 0x09, 0x60), (0x60, 0x09, 0x50), (0x50, 0x09, 0x40),
                                    (0x40, 0x09, 0x00)],
              extra: [(0x98, 0x0002_8411), (0x9C, 0x0000_0001), (0xA0, 0x0000_0801)])
    }

    func testTheListIsWalkedInOrderAndMSIXIsFound() {
        var space = virtioNet
        let (entries, problem) = PCICapabilities.list(of: address, in: &space)
        XCTAssertNil(problem)
        XCTAssertEqual(entries.map(\.offset), [0x98, 0x84, 0x70, 0x60, 0x50, 0x40])
        XCTAssertEqual(entries.first?.id, PCICapability.msixID)
        let (msix, problems) = PCICapabilities.msix(of: address, in: &space)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(msix, MSIXCapability(offset: 0x98, tableSize: 3, tableBAR: 1, tableOffset: 0, pendingBAR: 1, pendingOffset: 0x800))
    }

    func testTheScanRecordsMSIX() {
        var space = virtioNet
        let (functions, problems) = PCIEnumeration.scan(&space)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(functions.first?.msix?.tableBAR, 1)
        var plain = FakeSpace()
        plain.add(address, vendor: 0x8086, device: 0x100E, classCode: 2, subclass: 0)
        XCTAssertNil(PCIEnumeration.scan(&plain).functions.first?.msix)
    }

    func testNoListWithoutTheStatusBit() {
        var space = space(head: 0x98, entries: [(0x98, 0x11, 0)], listed: false)
        XCTAssertEqual(PCICapabilities.list(of: address, in: &space).0, [])
        XCTAssertNil(PCICapabilities.msix(of: address, in: &space).0)
    }

    func testAPointerIntoTheHeaderCutsTheList() {
        var space = space(head: 0x50, entries: [(0x50, 0x09, 0x10)])
        let (entries, problem) = PCICapabilities.list(of: address, in: &space)
        XCTAssertEqual(entries.map(\.offset), [0x50])
        XCTAssertEqual(problem, .pointerOutOfBounds(0x10))
        var head = self.space(head: 0x3C, entries: [])
        XCTAssertEqual(PCICapabilities.list(of: address, in: &head).1, .pointerOutOfBounds(0x3C))
    }

    func testALoopIsCutWhereItClosesAndAnMSIXBeforeItStillCounts() {
        // (MSI-X's table dword at 0x44 is zero; its PBA dword is the MSI entry at 0x48,
        // which points back to 0x40.)
        var space = space(head: 0x40, entries: [(0x40, 0x11, 0x48), (0x48, 0x05, 0x40)])
        let (entries, problem) = PCICapabilities.list(of: address, in: &space)
        XCTAssertEqual(entries.map(\.offset), [0x40, 0x48])
        XCTAssertEqual(problem, .loop(at: 0x40))
        let (msix, problems) = PCICapabilities.msix(of: address, in: &space)
        XCTAssertEqual(problems, [.loop(at: 0x40)])
        XCTAssertEqual(msix?.tableSize, 1)
        var selfLoop = self.space(head: 0x80, entries: [(0x80, 0x09, 0x80)])
        XCTAssertEqual(PCICapabilities.list(of: address, in: &selfLoop).1, .loop(at: 0x80))
    }

    func testTheLowBitsOfAPointerAreDropped() {
        var space = space(head: 0x43, entries: [(0x40, 0x09, 0x53), (0x50, 0x09, 0)])
        XCTAssertEqual(PCICapabilities.list(of: address, in: &space).0.map(\.offset), [0x40, 0x50])
    }

    func testABARIndicatorPastFiveIsRefused() {
        var badTable = space(head: 0x40, entries: [(0x40, 0x11, 0)], extra: [(0x40, 0x0000_0011), (0x44, 0x0000_0006), (0x48, 1)])
        XCTAssertNil(PCICapabilities.msix(of: address, in: &badTable).0)
        XCTAssertEqual(PCICapabilities.msix(of: address, in: &badTable).1, [.badBARIndicator(offset: 0x40, indicator: 6)])
        var badPending = space(head: 0x40, entries: [(0x40, 0x11, 0)], extra: [(0x40, 0x0000_0011), (0x44, 0), (0x48, 0x107)])
        XCTAssertEqual(PCICapabilities.msix(of: address, in: &badPending).1, [.badBARIndicator(offset: 0x40, indicator: 7)])
    }

    func testAnMSIXEntryWhoseFieldsWouldPassTheEndIsRefused() {
        var space = space(head: 0xF8, entries: [(0xF8, 0x11, 0)])
        let (msix, problems) = PCICapabilities.msix(of: address, in: &space)
        XCTAssertNil(msix)
        XCTAssertEqual(problems, [.pointerOutOfBounds(0xF8)])
    }

    func testEnablingAndDisablingTouchesOnlyMessageControlsBits() {
        var space = virtioNet
        // The function mask set, as a device may come up.
        space.functions[address]![0x98 / 4] |= MSIXCapability.functionMaskBit
        let msix = PCICapabilities.msix(of: address, in: &space).0!
        XCTAssertTrue(space.setMSIX(of: address, at: msix, enabled: true))
        XCTAssertEqual(space.read(address, offset: 0x98), 0x0002_8411 | MSIXCapability.enableBit)
        XCTAssertTrue(space.setMSIX(of: address, at: msix, enabled: false))
        XCTAssertEqual(space.read(address, offset: 0x98), 0x0002_8411)
    }

    /// Random configuration spaces (seeded, so a failure replays): the walk ends, takes
    /// at most 48 entries, each once, each inside 0x40–0xFF and dword-aligned; an MSI-X it
    /// finds names BARs 0–5 and 1–2048 entries.
    func testRandomSpacesNeverLeadTheWalkAstray() {
        var seed: UInt64 = 0x5EED_0C0F_FEE0_0011
        func next() -> UInt64 {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            return seed
        }
        for _ in 0..<2000 {
            var space = FakeSpace()
            space.add(address, vendor: 0x1AF4, device: 0x1000, classCode: 2, subclass: 0)
            var registers = space.functions[address]!
            for index in 1..<64 where index != 2 && index != 3 { registers[index] = UInt32(truncatingIfNeeded: next()) }
            // Mostly small pointers inside the space, so lists are long and loop often.
            for index in 16..<64 where next() % 2 == 0 {
                registers[index] = registers[index] & 0xFFFF_00FF | UInt32(0x40 + next() % 0xC0) << 8 | (next() % 3 == 0 ? 0x11 : 0)
            }
            registers[1] |= PCICapabilities.listBit
            space.functions[address] = registers
            let (entries, _) = PCICapabilities.list(of: address, in: &space)
            XCTAssertLessThanOrEqual(entries.count, PCICapabilities.entryLimit)
            XCTAssertEqual(Set(entries.map(\.offset)).count, entries.count)
            for entry in entries { XCTAssert(entry.offset >= 0x40 && entry.offset % 4 == 0) }
            if let msix = PCICapabilities.msix(of: address, in: &space).0 {
                XCTAssert(msix.tableBAR < 6 && msix.pendingBAR < 6)
                XCTAssert((1...2048).contains(msix.tableSize))
                XCTAssertEqual(msix.tableOffset % 8, 0)
            }
        }
    }
}
