import XCTest
@testable import PCI

final class PCIPortSpaceTests: XCTestCase {
    /// Ports 0xCF8 and 0xCFC over a one-function configuration space.
    final class Ports {
        var selected: UInt32 = 0
        var registers = [UInt32](repeating: 0, count: 64)
        var refuses = false

        func read(_ port: UInt16) -> UInt32? {
            guard !refuses, port == PCIPortSpace.dataPort else { return nil }
            return registers[Int(selected & 0xFC) / 4]
        }

        func write(_ port: UInt16, _ value: UInt32) -> Bool {
            guard !refuses else { return false }
            if port == PCIPortSpace.addressPort { selected = value } else { registers[Int(selected & 0xFC) / 4] = value }
            return true
        }
    }

    func testAccessesGoThroughTheAddressPortThenTheDataPort() {
        let ports = Ports()
        ports.registers[1] = 0x0290_0003                 // status bits set, I/O and memory on
        var space = PCIPortSpace(read: ports.read, write: ports.write)
        let address = PCIAddress(bus: 0, device: 3, function: 0)!
        XCTAssertEqual(space.read(address, offset: 0x04), 0x0290_0003)
        XCTAssertEqual(ports.selected, 0x8000_1804)
        space.updateCommand(of: address, enable: .busMaster, disable: .interruptDisable)
        XCTAssertEqual(ports.registers[1], 0x0000_0007, "no one written into status, whose ones clear bits")
        XCTAssertEqual(space.command(of: address), [.ioSpace, .memorySpace, .busMaster])
    }

    func testARefusedAccessReadsAsAnAbsentFunction() {
        let ports = Ports()
        ports.refuses = true
        var space = PCIPortSpace(read: ports.read, write: ports.write)
        XCTAssertEqual(space.read(PCIAddress(bus: 0, device: 0, function: 0)!, offset: 0), 0xFFFF_FFFF)
    }
}
