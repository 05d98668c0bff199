import XCTest
@testable import Network

final class EthernetSwitchTests: XCTestCase {
    let device = EthernetAddress(rawValue: 0x5254_0012_3456)
    let gateway = EthernetAddress(rawValue: 0x5255_0A00_0202)

    func frame(to destination: EthernetAddress, from source: EthernetAddress, bytes: Int = 60) -> [UInt8] {
        destination.bytes + source.bytes + [0x08, 0x00] + [UInt8](repeating: 0xAB, count: bytes - 14)
    }

    func route(_ table: EthernetSwitch, _ frame: [UInt8], from: SwitchPort) -> Result<[SwitchPort], SwitchDrop> {
        frame.withUnsafeBytes { table.route($0, from: from) }
    }

    func makeSwitch() -> EthernetSwitch {
        var table = EthernetSwitch(ports: 3)
        table.attach(EthernetSwitch.address(ofClient: 0, device: device), at: 0)
        table.attach(EthernetSwitch.address(ofClient: 2, device: device), at: 2)
        return table
    }

    func testClientAddressesAreDistinctAndNotTheDevices() {
        let addresses = (0..<8).map { EthernetSwitch.address(ofClient: $0, device: device) }
        XCTAssertEqual(Set(addresses.map { $0.rawValue }).count, 8)
        XCTAssertFalse(addresses.contains(device))
        XCTAssertEqual(addresses[0].description, "52:54:00:12:34:57")
    }

    func testFramesFromTheDeviceGoToTheClientTheyName() {
        let table = makeSwitch()
        let second = EthernetSwitch.address(ofClient: 2, device: device)
        XCTAssertEqual(route(table, frame(to: second, from: gateway), from: .device), .success([.client(2)]))
        XCTAssertEqual(route(table, frame(to: device, from: gateway), from: .device), .failure(.noClient))
        XCTAssertEqual(route(table, frame(to: .broadcast, from: gateway), from: .device), .success([.client(0), .client(2)]))
        // Multicast (the group bit) counts as broadcast.
        XCTAssertEqual(route(table, frame(to: EthernetAddress(rawValue: 0x0100_5E00_0001), from: gateway), from: .device),
                       .success([.client(0), .client(2)]))
    }

    func testFramesFromAClient() {
        let table = makeSwitch()
        let first = EthernetSwitch.address(ofClient: 0, device: device)
        let second = EthernetSwitch.address(ofClient: 2, device: device)
        XCTAssertEqual(route(table, frame(to: gateway, from: first), from: .client(0)), .success([.device]))
        XCTAssertEqual(route(table, frame(to: second, from: first), from: .client(0)), .success([.client(2)]))
        XCTAssertEqual(route(table, frame(to: .broadcast, from: first), from: .client(0)), .success([.device, .client(2)]))
        XCTAssertEqual(route(table, frame(to: first, from: first), from: .client(0)), .success([]))
    }

    func testAClientCannotPoseAsAnother() {
        var table = makeSwitch()
        let first = EthernetSwitch.address(ofClient: 0, device: device)
        XCTAssertEqual(route(table, frame(to: gateway, from: gateway), from: .client(0)), .failure(.spoofed))
        XCTAssertEqual(route(table, frame(to: gateway, from: first), from: .client(2)), .failure(.spoofed))
        XCTAssertEqual(route(table, frame(to: gateway, from: first), from: .client(1)), .failure(.spoofed), "no client there")
        XCTAssertEqual(route(table, frame(to: gateway, from: first), from: .client(9)), .failure(.spoofed), "no such port")
        table.detach(0)
        XCTAssertEqual(route(table, frame(to: gateway, from: first), from: .client(0)), .failure(.spoofed), "detached")
        XCTAssertEqual(route(table, frame(to: first, from: gateway), from: .device), .failure(.noClient))
    }

    func testRuntsAreDropped() {
        let table = makeSwitch()
        for length in 0..<14 {
            let bytes = [UInt8](repeating: 0xFF, count: length)
            XCTAssertEqual(route(table, bytes, from: .device), .failure(.runt))
            XCTAssertEqual(route(table, bytes, from: .client(0)), .failure(.runt))
        }
    }

    func testRandomFramesNeverRouteBackOrToEmptyPorts() {
        var table = makeSwitch()
        var seed: UInt64 = 0x1234_5678
        func next() -> UInt64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
        for round in 0..<20_000 {
            if round % 1000 == 0 { next() & 1 == 0 ? table.detach(Int(next() % 3)) : table.attach(EthernetSwitch.address(ofClient: 1, device: device), at: 1) }
            let bytes = (0..<Int(next() % 80)).map { _ in UInt8(truncatingIfNeeded: next()) }
            let from: SwitchPort = next() % 4 == 0 ? .device : .client(Int(next() % 4))
            guard case .success(let ports) = route(table, bytes, from: from) else { continue }
            XCTAssertFalse(ports.contains(from))
            for case .client(let port) in ports { XCTAssertNotNil(table.clients[port]) }
        }
    }
}
