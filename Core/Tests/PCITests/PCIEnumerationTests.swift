import XCTest
@testable import PCI

/// Configuration space as a table: absent functions answer all ones; a BAR answers a
/// write of all ones with its size mask, as hardware does.
struct FakeSpace: PCIConfigurationSpace {
    var functions: [PCIAddress: [UInt32]] = [:]
    /// Per function and BAR register: the size it decodes (0: the register is unused).
    var sizes: [PCIAddress: [Int: UInt64]] = [:]
    var writes = 0

    mutating func add(_ address: PCIAddress, vendor: UInt16, device: UInt16, classCode: UInt8, subclass: UInt8,
                      headerType: UInt8 = 0, bars: [Int: (value: UInt32, size: UInt64)] = [:], interrupt: UInt32 = 0,
                      secondaryBus: UInt8 = 0) {
        var registers = [UInt32](repeating: 0, count: 64)
        registers[0] = UInt32(vendor) | UInt32(device) << 16
        registers[2] = UInt32(classCode) << 24 | UInt32(subclass) << 16
        registers[3] = UInt32(headerType) << 16
        registers[15] = interrupt
        registers[6] = UInt32(secondaryBus) << 8
        for (index, bar) in bars { registers[4 + index] = bar.value }
        functions[address] = registers
        sizes[address] = bars.mapValues { $0.size }
    }

    mutating func read(_ address: PCIAddress, offset: UInt8) -> UInt32 {
        functions[address]?[Int(offset / 4)] ?? 0xFFFF_FFFF
    }

    mutating func write(_ address: PCIAddress, offset: UInt8, value: UInt32) {
        guard var registers = functions[address] else { return }
        writes += 1
        let register = Int(offset / 4)
        let index = register - 4
        if (0..<6).contains(index), value == 0xFFFF_FFFF {
            // The size mask of this register (a 64-bit BAR's upper half counts too).
            let original = registers[register]
            if let size = sizes[address]?[index] {
                let mask = ~(size &- 1)
                let low = original & 1 == 1 ? UInt32(truncatingIfNeeded: mask) & 0xFFFF_FFFC | 1 : UInt32(truncatingIfNeeded: mask) & 0xFFFF_FFF0 | original & 0xF
                registers[register] = low
            } else if let size = sizes[address]?[index - 1], registers[register - 1] >> 1 & 3 == 2 {
                registers[register] = UInt32(truncatingIfNeeded: ~(size &- 1) >> 32)
            } else {
                registers[register] = 0
            }
        } else {
            registers[register] = value
        }
        functions[address] = registers
    }
}

final class PCIEnumerationTests: XCTestCase {
    func at(_ bus: UInt8, _ device: UInt8, _ function: UInt8 = 0) -> PCIAddress { PCIAddress(bus: bus, device: device, function: function)! }

    /// QEMU's `pc` machine, roughly: host bridge, ISA bridge (multifunction, with IDE), a
    /// NIC with a memory and an I/O BAR, a 64-bit prefetchable BAR, and a bridge to bus 1.
    var machine: FakeSpace {
        var space = FakeSpace()
        space.add(at(0, 0), vendor: 0x8086, device: 0x1237, classCode: 0x06, subclass: 0x00)
        space.add(at(0, 1), vendor: 0x8086, device: 0x7000, classCode: 0x06, subclass: 0x01, headerType: 0x80)
        space.add(at(0, 1, 1), vendor: 0x8086, device: 0x7010, classCode: 0x01, subclass: 0x01, bars: [4: (0xC041, 16)])
        space.add(at(0, 3), vendor: 0x8086, device: 0x100E, classCode: 0x02, subclass: 0x00,
                  bars: [0: (0xFEBC_0000, 0x2_0000), 1: (0xC001, 64)], interrupt: 0x01_0B)
        space.add(at(0, 4), vendor: 0x1AF4, device: 0x1000, classCode: 0x02, subclass: 0x00,
                  bars: [2: (0x0000_000C | 0xE000_0000, 0x4000)])
        space.functions[at(0, 4)]![7] = 0x0000_0001                     // upper half of the 64-bit BAR 2
        space.add(at(0, 5), vendor: 0x1B36, device: 0x0001, classCode: 0x06, subclass: 0x04, headerType: 1, secondaryBus: 1)
        space.add(at(1, 0), vendor: 0x1AF4, device: 0x1001, classCode: 0x01, subclass: 0x00)
        return space
    }

    func testTheScanFindsEveryFunctionAndSizesItsBars() throws {
        var space = machine
        let before = space.functions
        let (functions, problems) = PCIEnumeration.scan(&space)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(functions.map(\.address), [at(0, 0), at(0, 1), at(0, 1, 1), at(0, 3), at(0, 4), at(0, 5), at(1, 0)])
        XCTAssertEqual(functions.map(\.kind), ["host bridge", "ISA bridge", "IDE controller", "Ethernet controller",
                                               "Ethernet controller", "PCI bridge", "storage controller"])
        let nic = try XCTUnwrap(functions.first { $0.device == 0x100E })
        XCTAssertEqual(nic.bars, [PCIBarRegister(index: 0, bar: .memory(base: 0xFEBC_0000, size: 0x2_0000, is64Bit: false, prefetchable: false)),
                                  PCIBarRegister(index: 1, bar: .io(base: 0xC000, size: 64))])
        XCTAssertEqual([nic.interruptPin, nic.interruptLine], [1, 11])
        let virtio = try XCTUnwrap(functions.first { $0.device == 0x1000 })
        XCTAssertEqual(virtio.bars, [PCIBarRegister(index: 2, bar: .memory(base: 0x1_E000_0000, size: 0x4000, is64Bit: true, prefetchable: true))])
        XCTAssertEqual(functions.first { $0.isBridge }?.secondaryBus, 1)
        // Sizing put every BAR back as it was.
        XCTAssertEqual(space.functions, before)
        XCTAssertGreaterThan(space.writes, 0)
    }

    func testBridgesThatLoopAreNotFollowed() {
        var space = machine
        space.add(at(1, 2), vendor: 0x1B36, device: 0x0001, classCode: 0x06, subclass: 0x04, headerType: 1, secondaryBus: 0)
        space.add(at(1, 3), vendor: 0x1B36, device: 0x0001, classCode: 0x06, subclass: 0x04, headerType: 1, secondaryBus: 1)
        let (functions, problems) = PCIEnumeration.scan(&space)
        XCTAssertEqual(functions.count, 9)                               // each found once
        XCTAssertEqual(problems, ["01:02.0: bridge names bus 0, already scanned; not followed",
                                  "01:03.0: bridge names bus 1, already scanned; not followed"])
    }

    func testGarbageIsReportedNotFollowed() {
        var space = FakeSpace()
        space.add(at(0, 0), vendor: 0x8086, device: 0x1237, classCode: 0x06, subclass: 0x00, headerType: 0x7F)
        space.add(at(0, 1), vendor: 0x1234, device: 0x1111, classCode: 0x02, subclass: 0x00,
                  bars: [0: (0x0000_0002, 0x1000), 2: (0x0, 0x3000)], interrupt: 0x09_00)
        space.add(at(0, 2), vendor: 0x1234, device: 0x2222, classCode: 0x02, subclass: 0x00, bars: [5: (0x4, 0x1000)])
        let (functions, problems) = PCIEnumeration.scan(&space)
        XCTAssertEqual(functions.map(\.address), [at(0, 1), at(0, 2)])
        XCTAssertEqual(functions[0].interruptPin, 0)
        XCTAssertEqual(functions[0].bars, [])
        XCTAssertEqual(functions[1].bars, [])
        XCTAssertEqual(problems, [
            "00:00.0: header type 127 is not one this scan reads",
            "00:01.0: interrupt pin 9 does not exist; taken as none",
            "00:01.0: BAR 0 has memory type 1, which no device uses; ignored",
            "00:01.0: BAR 2 sizes to 12288 bytes, not a power of two; ignored",
            "00:02.0: BAR 5 is 64-bit but has no upper half; ignored",
        ])
    }

    func testAddressesAndTheirConfigurationWords() {
        XCTAssertNil(PCIAddress(bus: 0, device: 32, function: 0))
        XCTAssertNil(PCIAddress(bus: 0, device: 0, function: 8))
        XCTAssertEqual(at(2, 31, 7).description, "02:1f.7")
        XCTAssertEqual(at(1, 3, 2).configurationAddress(offset: 0x3E), 0x8001_1A3C)
    }
}
