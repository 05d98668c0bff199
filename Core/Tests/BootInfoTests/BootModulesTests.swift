import XCTest
import Basics
import CoreTestSupport
@testable import BootInfo

/// The PVH module list (where QEMU's -initrd lands): read, and refused when it lies.
final class BootModulesTests: XCTestCase {
    let listAddress: UInt64 = 0x9000

    func modules(count: UInt32, list: [(UInt64, UInt64)]?) -> Result<[PhysicalRange], BootInfoError> {
        var memory: [UInt64: [UInt8]] = [
            StartInfoBuilder.startInfoAddress: StartInfoBuilder.startInfo(modules: count, moduleList: listAddress),
        ]
        if let list {
            var bytes: [UInt8] = []
            for (address, size) in list {
                bytes.appendLittleEndian(address)
                bytes.appendLittleEndian(size)
                bytes.appendLittleEndian(UInt64(0))
                bytes.appendLittleEndian(UInt64(0))
            }
            memory[listAddress] = bytes
        }
        let fixture = FixtureMemory(memory)
        return Result { () throws(BootInfoError) -> [PhysicalRange] in
            try PVHStartInfo.parse(at: PhysicalAddress(StartInfoBuilder.startInfoAddress), memory: fixture).modules(memory: fixture)
        }
    }

    func testReadsTheModules() throws {
        XCTAssertEqual(try modules(count: 2, list: [(0x10_0000, 0x2000), (0x20_0000, 5)]).get(),
                       [range(0x10_0000, 0x10_2000), range(0x20_0000, 0x20_0005)])
        XCTAssertEqual(try modules(count: 0, list: nil).get(), [])
    }

    func testRefusesLyingModuleLists() {
        XCTAssertEqual(modules(count: 2, list: nil), .failure(.unreadable(PhysicalAddress(listAddress))))
        XCTAssertEqual(modules(count: 3, list: [(1, 1)]), .failure(.unreadable(PhysicalAddress(listAddress))))
        XCTAssertEqual(modules(count: 1000, list: [(1, 1)]), .failure(.tooManyModules(1000)))
        XCTAssertEqual(modules(count: 1, list: [(UInt64.max - 10, 100)]), .failure(.moduleOverflows(index: 0)))
    }
}
