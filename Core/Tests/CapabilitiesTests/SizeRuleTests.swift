// Sizes, alignment, counts and placement: what retype and boot-time roots accept, and
// how the watermark moves.

import XCTest
import CoreTestSupport
import Basics
@testable import Capabilities

final class SizeRuleTests: XCTestCase {
    var fixture = Fixture()
    var space: CSpace { fixture.space }

    func refuse(_ error: CapabilityError, _ source: CapabilityAddress = Fixture.ram,
                to type: CapabilityType, size: UInt64, count: Int = 1, offset: UInt64? = nil,
                into destination: CapabilityAddress = .root(20),
                file: StaticString = #filePath, line: UInt = #line) {
        let space = space
        fixture.assertRefused(error, file: file, line: line) { core throws(CapabilityError) in
            _ = try core.retype(source, to: type, size: size, count: count, offset: offset,
                                into: destination, in: space)
        }
    }

    @discardableResult
    func retype(_ source: CapabilityAddress = Fixture.ram, to type: CapabilityType, size: UInt64,
                count: Int = 1, offset: UInt64? = nil, into destination: CapabilityAddress) -> Retyped? {
        let result = try? fixture.core.retype(source, to: type, size: size, count: count, offset: offset,
                                              into: destination, in: space)
        fixture.assertSound()
        return result
    }

    func testRAMSizesArePowersOfTwoOfAtLeastAPage() {
        for bad: UInt64 in [0, 1, 2048, 4095, 12288, 0x3000, 1 << 52, UInt64.max] {
            refuse(.sizeNotAllowed, to: .physicalRAM, size: bad)
        }
        refuse(.regionExhausted, to: .physicalRAM, size: 2 * Fixture.ramSize)
        XCTAssertNotNil(retype(to: .physicalRAM, size: Fixture.ramSize, into: .root(20)))
    }

    func testFramesAreMultiplesOfAPageAlignedToTheirLowestBit() {
        for bad: UInt64 in [0, 1, 4095, 4097, 6144, 1 << 52] {
            refuse(.sizeNotAllowed, to: .frame, size: bad)
        }
        // A 12 KiB frame needs only 4 KiB alignment; an 8 KiB frame needs 8 KiB.
        XCTAssertEqual(retype(to: .frame, size: 0x3000, offset: 0x1000, into: .root(20))?.base,
                       Fixture.ramBase + 0x1000)
        refuse(.misaligned, to: .frame, size: 0x2000, offset: 0x5000)
        // Without an offset the next 8 KiB frame goes to the first 8 KiB boundary above.
        XCTAssertEqual(retype(to: .frame, size: 0x2000, into: .root(21))?.base, Fixture.ramBase + 0x4000)
        // A 2 MiB frame out of a 4 MiB RAM block is 2 MiB aligned even after a small one.
        let big = try! fixture.core.createRoot(.physicalRAM, base: 0x80_0000, size: 0x40_0000,
                                               at: .root(30), in: space)
        XCTAssertNotNil(retype(.root(30), to: .frame, size: 0x1000, into: .root(31)))
        XCTAssertEqual(retype(.root(30), to: .frame, size: 0x20_0000, into: .root(32))?.base, 0xA0_0000)
        XCTAssertEqual(fixture.core.watermark(of: big), 0x40_0000)
    }

    func testDeviceFramesComeOnlyFromDeviceFrames() {
        refuse(.retypeNotAllowed(from: .physicalRAM, to: .deviceFrame), to: .deviceFrame, size: 4096)
        let made = retype(Fixture.device, to: .deviceFrame, size: 4096, count: 16, into: .root(20))
        XCTAssertEqual(made?.needsClearing, false)
        refuse(.regionExhausted, Fixture.device, to: .deviceFrame, size: 4096)
    }

    func testCNodeSizesAreSlotCounts() {
        for bad: UInt64 in [0, 1, 8, 15, 17, 48, 1 << 17] {
            refuse(.sizeNotAllowed, to: .cnode, size: bad)
        }
        XCTAssertNotNil(retype(to: .cnode, size: 16, into: .root(20)))
        XCTAssertEqual(fixture.identify(.root(20)).size, 16 * 64)
        XCTAssertEqual(fixture.identify(.root(20)).cnodeSlotCount, 16)
        XCTAssertNotNil(retype(to: .cnode, size: 4096, into: .root(21)))
        XCTAssertEqual(fixture.identify(.root(21)).base, Fixture.ramBase + 0x4_0000, "naturally aligned")
    }

    func testFixedSizeTypesTakeNoSize() {
        for type: CapabilityType in [.pml4, .pdpt, .pageDirectory, .pageTable, .dispatcher, .endpoint] {
            refuse(.sizeNotAllowed, to: type, size: 4096)
            refuse(.sizeNotAllowed, to: type, size: 1)
        }
        XCTAssertNotNil(retype(to: .endpoint, size: 0, count: 3, into: .root(20)))
        XCTAssertNotNil(retype(to: .pageTable, size: 0, into: .root(23)))
        // Endpoints are 256 bytes: three of them end at 768, the page table goes to 4 KiB.
        XCTAssertEqual(fixture.identify(.root(22)).base, Fixture.ramBase + 512)
        XCTAssertEqual(fixture.identify(.root(23)).base, Fixture.ramBase + 4096)
        refuse(.misaligned, to: .dispatcher, size: 0, offset: 0x1000 + 0x1000 + 512)
    }

    func testCounts() {
        for bad in [0, -1, Int.min, CoreCapabilities.maximumRetypeCount + 1, Int.max] {
            refuse(.invalidCount, to: .frame, size: 4096, count: bad)
        }
        // 512 pages are 2 MiB: more than the 1 MiB source.
        refuse(.regionExhausted, to: .frame, size: 4096, count: 512, into: .leaf(0, 0))
        // count × size overflows.
        refuse(.regionExhausted, Fixture.ports, to: .ioPortRange, size: UInt64.max, count: 2)
        refuse(.regionExhausted, Fixture.ports, to: .ioPortRange, size: 1 << 63, count: 2)
        // Exactly the whole source fits, and then nothing more.
        XCTAssertNotNil(retype(Fixture.smallRAM, to: .frame, size: 0x1000, count: 16, offset: 0, into: .root(20)))
        refuse(.regionExhausted, Fixture.smallRAM, to: .frame, size: 0x1000)
    }

    func testDestinationRuns() {
        // Run past the end of the 64-slot root CNode.
        refuse(.invalidSlot, to: .frame, size: 4096, count: 5, into: .root(60))
        refuse(.invalidSlot, to: .frame, size: 4096, into: .root(64))
        // One slot of the run is taken.
        refuse(.slotOccupied, to: .frame, size: 4096, count: 3, into: .root(6))
        // A leaf address through a slot that holds no CNode.
        refuse(.notACNode, to: .frame, size: 4096, into: .leaf(1, 0))
        refuse(.notACNode, to: .frame, size: 4096, into: .leaf(40, 0))
        // Into a leaf CNode.
        XCTAssertNotNil(retype(to: .cnode, size: 16, into: .root(20)))
        XCTAssertNotNil(retype(to: .frame, size: 4096, count: 16, into: .leaf(20, 0)))
        refuse(.invalidSlot, to: .frame, size: 4096, into: .leaf(20, 16))
        XCTAssertEqual(fixture.identify(.leaf(20, 15)).type, .frame)
    }

    func testPlacementAndWatermark() {
        let ram = fixture.object(Fixture.ram)
        XCTAssertEqual(fixture.core.watermark(of: ram), 0)
        XCTAssertNotNil(retype(to: .frame, size: 0x1000, offset: 0x8000, into: .root(20)))
        XCTAssertEqual(fixture.core.watermark(of: ram), 0x9000)
        // Below the watermark is refused even where it is free; an offset past the end, or
        // so large that it overflows, is exhaustion.
        refuse(.regionInUse, to: .frame, size: 0x1000, offset: 0)
        refuse(.regionInUse, to: .frame, size: 0x1000, offset: 0x8000)
        refuse(.regionExhausted, to: .frame, size: 0x1000, offset: Fixture.ramSize)
        refuse(.regionExhausted, to: .frame, size: 0x1000, offset: UInt64.max - 0x10)
        refuse(.misaligned, to: .frame, size: 0x1000, offset: 0x9001)
        XCTAssertNotNil(retype(to: .frame, size: 0x1000, into: .root(21)))
        XCTAssertEqual(fixture.identify(.root(21)).base, Fixture.ramBase + 0x9000)
        XCTAssertNotNil(retype(to: .frame, size: 0x1000, offset: 0xC000, into: .root(22)))

        // The top child's death lowers the watermark to the one below; the last child's
        // death frees the whole object.
        try! fixture.core.delete(.root(22), in: space)
        XCTAssertEqual(fixture.core.watermark(of: ram), 0xA000)
        try! fixture.core.delete(.root(20), in: space)
        XCTAssertEqual(fixture.core.watermark(of: ram), 0xA000, "a hole below the top is not reused")
        try! fixture.core.delete(.root(21), in: space)
        XCTAssertEqual(fixture.core.watermark(of: ram), 0)
        XCTAssertNotNil(retype(to: .physicalRAM, size: Fixture.ramSize, into: .root(20)))
    }

    func testWatermarkIsSharedByCopies() {
        try! fixture.core.copy(Fixture.ram, to: .root(40), in: space)
        XCTAssertNotNil(retype(to: .frame, size: 0x8000, into: .root(20)))
        refuse(.regionInUse, .root(40), to: .frame, size: 0x1000, offset: 0)
        XCTAssertEqual(retype(.root(40), to: .frame, size: 0x1000, into: .root(21))?.base,
                       Fixture.ramBase + 0x8000)
    }

    func testCountedUnitsNeedNoAlignment() {
        XCTAssertNotNil(retype(Fixture.ports, to: .ioPortRange, size: 8, offset: 0x3F8, into: .root(20)))
        XCTAssertEqual(fixture.identify(.root(20)).ioPorts, 0x3F8 ..< 0x400)
        refuse(.regionInUse, Fixture.ports, to: .ioPortRange, size: 1, offset: 0x60)
        XCTAssertNotNil(retype(Fixture.interrupts, to: .irq, size: 1, offset: 3, into: .root(21)))
        XCTAssertEqual(fixture.identify(.root(21)).interrupts, 35 ..< 36)
        refuse(.regionExhausted, Fixture.interrupts, to: .irq, size: 29, offset: 4)
        XCTAssertNotNil(retype(Fixture.notify, to: .notify, size: 1, count: 4, into: .root(22)))
        XCTAssertEqual(fixture.identify(.root(25)).cores, 3 ..< 4)
        refuse(.sizeNotAllowed, Fixture.notify, to: .notify, size: 0)
    }

    func testRoots() {
        let space = space
        // Overlapping another root of the same space; other spaces do not collide.
        fixture.assertRefused(.regionInUse) { core throws(CapabilityError) in
            try core.createRoot(.deviceFrame, base: Fixture.ramBase + 0xF_F000, size: 0x1000,
                                at: .root(20), in: space)
        }
        fixture.assertRefused(.regionInUse) { core throws(CapabilityError) in
            _ = try core.createCSpace(at: PhysicalAddress(Fixture.ramBase), slotCount: 16)
        }
        XCTAssertNoThrow(try fixture.core.createRoot(.irq, base: 0, size: 32, at: .root(20), in: space))
        XCTAssertEqual(fixture.identify(.root(20)), Capability(type: .irq, base: 0, size: 32, rights: [.read, .write], badge: 0))
        fixture.assertRefused(.misaligned) { core throws(CapabilityError) in
            try core.createRoot(.physicalRAM, base: 0x90_1000, size: 0x2000, at: .root(21), in: space)
        }
        fixture.assertRefused(.sizeNotAllowed) { core throws(CapabilityError) in
            try core.createRoot(.physicalRAM, base: 0x90_0000, size: 0x3000, at: .root(21), in: space)
        }
        fixture.assertRefused(.regionExhausted) { core throws(CapabilityError) in
            try core.createRoot(.ioPortRange, base: 0xFFFF, size: 2, at: .root(21), in: space)
        }
        fixture.assertRefused(.regionExhausted) { core throws(CapabilityError) in
            try core.createRoot(.kernel, base: 5, size: 0, at: .root(21), in: space)
        }
        fixture.assertRefused(.wrongType(.null)) { core throws(CapabilityError) in
            try core.createRoot(.null, base: 0, size: 0, at: .root(21), in: space)
        }
        fixture.assertRefused(.slotOccupied) { core throws(CapabilityError) in
            try core.createRoot(.frame, base: 0x90_0000, size: 0x1000, at: .root(20), in: space)
        }
        fixture.assertRefused(.invalidSlot) { core throws(CapabilityError) in
            _ = try core.createCSpace(at: PhysicalAddress(0x90_0000), slotCount: 16, selfSlot: 16)
        }
        XCTAssertNoThrow(try fixture.core.createRoot(.frame, base: 0x90_0000, size: 0x3000, at: .root(21), in: space))
        XCTAssertEqual(fixture.identify(.root(21)).size, 0x3000)
        fixture.assertSound()
    }

    func testNaturallyAlignedBlocks() {
        func blocks(_ start: UInt64, _ end: UInt64) -> [UInt64] {
            naturallyAlignedBlocks(of: PhysicalRange(start: PhysicalAddress(start), end: PhysicalAddress(end)))
                .map { $0.size }
        }
        XCTAssertEqual(blocks(0x1000, 0x10000), [0x1000, 0x2000, 0x4000, 0x8000])
        XCTAssertEqual(blocks(0x10_0000, 0x30_0000), [0x10_0000, 0x10_0000])
        XCTAssertEqual(blocks(0x800, 0x2800), [0x1000], "shrunk to whole pages")
        XCTAssertEqual(blocks(0, 0x3000), [0x2000, 0x1000])
        XCTAssertEqual(blocks(0x5000, 0x5000), [])
        var random = SeededGenerator(seed: 7)
        for _ in 0 ..< 500 {
            let start = random.next() % (1 << 40), end = start + random.next() % (1 << 34)
            let range = PhysicalRange(start: PhysicalAddress(start), end: PhysicalAddress(end))
            var cursor = range.start.alignedUp(to: 4096)
            for block in naturallyAlignedBlocks(of: range) {
                XCTAssertEqual(block.start, cursor)
                XCTAssertTrue(block.size.nonzeroBitCount == 1 && block.start.isAligned(to: block.size))
                XCTAssertTrue(CapabilityType.physicalRAM.rules.size.isValidExtent(block.size))
                cursor = block.end
            }
            XCTAssertEqual(cursor, max(range.end.alignedDown(to: 4096), range.start.alignedUp(to: 4096)))
        }
    }
}
