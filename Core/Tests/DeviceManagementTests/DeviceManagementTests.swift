import XCTest
import CoreTestSupport
import PCI
@testable import DeviceManagement

/// QEMU's pc machine as devmgr sees it: bridges, the IDE controller, the display and
/// the transitional virtio network device.
func qemuFunctions() -> [PCIFunction] {
    func function(_ device: UInt8, _ fn: UInt8, _ vendor: UInt16, _ id: UInt16, _ code: UInt8, _ subclass: UInt8,
                  bars: [PCIBarRegister] = [], pin: UInt8 = 0, line: UInt8 = 0) -> PCIFunction {
        PCIFunction(address: PCIAddress(bus: 0, device: device, function: fn)!, vendor: vendor, device: id, classCode: code, subclass: subclass,
                    programmingInterface: 0, revision: 0, headerType: 0, bars: bars, interruptPin: pin, interruptLine: line, secondaryBus: nil)
    }
    return [
        function(0, 0, 0x8086, 0x1237, 6, 0),
        function(1, 0, 0x8086, 0x7000, 6, 1),
        function(1, 1, 0x8086, 0x7010, 1, 1, bars: [PCIBarRegister(index: 4, bar: .io(base: 0xC040, size: 16))]),
        function(2, 0, 0x1234, 0x1111, 3, 0, bars: [PCIBarRegister(index: 0, bar: .memory(base: 0xFD00_0000, size: 16 << 20, is64Bit: false, prefetchable: true))]),
        function(3, 0, 0x1AF4, 0x1000, 2, 0, bars: [PCIBarRegister(index: 0, bar: .io(base: 0xC000, size: 32)),
                                                    PCIBarRegister(index: 4, bar: .memory(base: 0xFE00_0000, size: 16384, is64Bit: true, prefetchable: true))],
                 pin: 1, line: 11),
    ]
}

final class DeviceRequestTests: XCTestCase {
    func testRequestsRoundTrip() throws {
        let requests: [DeviceRequest] = [
            .describe(index: 0), .describe(index: 4000), .bar(function: 3, position: 5),
            .claim(.device(vendor: 0x1AF4, device: 0x1000)), .claim(.address(PCIAddress(bus: 255, device: 31, function: 7)!)),
            .claim(.address(PCIAddress(bus: 0, device: 3, function: 0)!)), .claim(.classCode(2, subclass: 0)),
            .dmaMemory(bytes: 65536),
        ]
        for request in requests {
            XCTAssertEqual(try DeviceRequest(words: request.words), request)
        }
    }

    func testGarbageRequestsAreMalformed() {
        let garbage: [[UInt64]] = [
            [], [1], [1, 0], [1, 0, 0, 0], [0, 0, 0], [5, 0, 0], [0xFF, 0, 0],
            [1 | 1 << 8, 0, 0],                  // describe with a selector
            [1 | 1 << 16, 0, 0],                 // stray bits
            [1, 1 << 16, 0], [1, UInt64.max, 0], [1, 0, 1],
            [2, 0, 6], [2, 0, UInt64.max],
            [3, 0, 0],                           // claim without a selector kind
            [3 | 4 << 8, 0, 0], [3 | 1 << 8, 1 << 32, 0], [3 | 2 << 8, 1 << 16, 0], [3 | 3 << 8, 1 << 16, 0],
            [3 | 1 << 8, 0x1AF4_1000, 1],
            [4, 65536, 1], [4 | 1 << 8, 4096, 0],
        ]
        for words in garbage {
            XCTAssertThrowsError(try DeviceRequest(words: words), "\(words)") { error in
                XCTAssertEqual(error as? DeviceManagerRefusal, .malformed)
            }
        }
    }

    func testRandomWordsNeverDecodeToSomethingElse() {
        var random = SeededGenerator(seed: 13)
        var decoded = 0
        for _ in 0..<200_000 {
            var words = [random.next(), random.next(), random.next()]
            // Half of them close to a real request, so the decoder's checks are reached.
            if random.chance(50) { words[0] &= 0x3FF; words[1] &= random.chance(50) ? 0xFFFF : UInt64.max; words[2] = random.chance(80) ? 0 : words[2] & 7 }
            guard let request = try? DeviceRequest(words: words) else { continue }
            decoded += 1
            // Whatever decodes is exactly what encoding the request gives.
            XCTAssertEqual(request.words, words)
        }
        XCTAssertGreaterThan(decoded, 200)
    }

    func testAnswersRoundTrip() {
        for (index, function) in qemuFunctions().enumerated() {
            let summary = FunctionSummary(index: index, function: function, claimant: UInt64(index) << 32 | 7)
            XCTAssertEqual(FunctionSummary(words: summary.words), summary)
            XCTAssertEqual(summary.kind, function.kind)
            for register in function.bars {
                let bar = BarSummary(register: register, isHeld: index % 2 == 0)
                XCTAssertEqual(BarSummary(words: bar.words), bar)
            }
        }
        let resources: [DeviceResource] = [.ioPorts(bar: 0, base: 0xC000, count: 32), .deviceMemory(bar: 4, base: 0xFE00_0000, bytes: 16384),
                                           .interrupt(irq: 11), .dmaPage(page: 15, address: 0x20_F000)]
        for resource in resources { XCTAssertEqual(ResourceGrant(words: ResourceGrant(resource).words)?.resource, resource) }
        let memory = DMAMemorySummary(physicalBase: 0x20_0000, pages: 16)
        XCTAssertEqual(DMAMemorySummary(words: memory.words), memory)
        // An answer of another kind, or a refusal, is not read as this one.
        XCTAssertNil(FunctionSummary(words: memory.words))
        XCTAssertNil(ResourceGrant(words: refusalWords(.alreadyClaimed)))
        XCTAssertEqual(answerStatus(refusalWords(.alreadyClaimed)).refusal, .alreadyClaimed)
        XCTAssertEqual(answerStatus([0xEE, 0, 0]).refusal, .malformed)
        XCTAssertNil(ResourceGrant(words: [UInt64(DeviceAnswerKind.grant.rawValue) << 8 | 9 << 16, 0, 0]))
        XCTAssertNil(ResourceGrant(words: [UInt64(DeviceAnswerKind.grant.rawValue) << 8 | 3 << 16, 300, 0]))
    }
}

final class DeviceTableTests: XCTestCase {
    let netd: UInt64 = 5, other: UInt64 = 3, elsewhere: UInt64 = 1 << 32 | 3
    let virtio = PCIAddress(bus: 0, device: 3, function: 0)!

    func testClaimsAndSecondClaimsRefused() throws {
        var table = DeviceTable(functions: qemuFunctions())
        let index = try table.decideClaim(.device(vendor: 0x1AF4, device: 0x1000), by: netd)
        XCTAssertEqual(table.entries[index].function.address, virtio)
        table.claim(index, by: netd)
        XCTAssertThrowsError(try table.decideClaim(.device(vendor: 0x1AF4, device: 0x1000), by: other)) {
            XCTAssertEqual($0 as? DeviceManagerRefusal, .alreadyClaimed)
        }
        XCTAssertThrowsError(try table.decideClaim(.address(virtio), by: netd)) { XCTAssertEqual($0 as? DeviceManagerRefusal, .alreadyClaimed) }
        XCTAssertThrowsError(try table.decideClaim(.device(vendor: 0x1AF4, device: 0x1041), by: other)) {
            XCTAssertEqual($0 as? DeviceManagerRefusal, .noSuchFunction)
        }
        XCTAssertThrowsError(try table.decideClaim(.address(PCIAddress(bus: 7, device: 0, function: 0)!), by: other)) {
            XCTAssertEqual($0 as? DeviceManagerRefusal, .noSuchFunction)
        }
        XCTAssertEqual(try table.decideClaim(.classCode(3, subclass: 0), by: other), 3)
        // A domain on another core than devmgr may claim too, and is torn down alike.
        XCTAssertEqual(try table.decideClaim(.classCode(3, subclass: 0), by: elsewhere), 3)
        table.claim(3, by: elsewhere)
        XCTAssertEqual(table.claimants, [elsewhere, netd])
        var teardown = table.driverEnded(elsewhere, resetPort: virtioLegacyStatusPort)
        while let step = teardown.next { teardown.finished(step, succeeded: true) }
        XCTAssertTrue(teardown.isDone)
        table.release([3])
        XCTAssertEqual(table.claimants, [netd])
        XCTAssertEqual(try table.decideClaim(.classCode(3, subclass: 0), by: other), 3)
    }

    /// The number `wrongCore` had (8) is no refusal any more: an answer carrying it is
    /// read as malformed.
    func testTheRetiredWrongCoreNumberReadsAsMalformed() {
        XCTAssertNil(DeviceManagerRefusal(rawValue: 8))
        XCTAssertEqual(answerStatus([8, 0, 0]).refusal, .malformed)
    }

    func testDMAMemoryOnlyForAClaimantWithinLimits() throws {
        var table = DeviceTable(functions: qemuFunctions())
        XCTAssertThrowsError(try table.decideDMA(bytes: 65536, by: netd, pieceLimit: 65536)) { XCTAssertEqual($0 as? DeviceManagerRefusal, .notClaimed) }
        table.claim(4, by: netd)
        for bytes: UInt64 in [0, 4095, 65537, 1 << 40] {
            XCTAssertThrowsError(try table.decideDMA(bytes: bytes, by: netd, pieceLimit: 65536)) { XCTAssertEqual($0 as? DeviceManagerRefusal, .badSize) }
        }
        for key in 0..<UInt64(DeviceTable.piecesPerDomain) {
            try table.decideDMA(bytes: 4096, by: netd, pieceLimit: 65536)
            table.recordDMA(key: key, bytes: 4096, for: netd)
        }
        XCTAssertThrowsError(try table.decideDMA(bytes: 4096, by: netd, pieceLimit: 65536)) { XCTAssertEqual($0 as? DeviceManagerRefusal, .tooManyPieces) }
    }

    /// The device is stopped before the memory is offered, and the functions come back
    /// only after that.
    func testTeardownStopsTheDeviceBeforeFreeingMemory() throws {
        var table = DeviceTable(functions: qemuFunctions())
        table.claim(4, by: netd)
        table.recordDMA(key: 64, bytes: 65536, for: netd)
        table.recordDMA(key: 99, bytes: 4096, for: other)
        var teardown = table.driverEnded(netd, resetPort: virtioLegacyStatusPort)
        XCTAssertThrowsError(try table.decideClaim(.address(virtio), by: other)) { XCTAssertEqual($0 as? DeviceManagerRefusal, .alreadyClaimed) }
        XCTAssertEqual(table.bytes(of: [64]), 65536)
        var order: [TeardownStep] = []
        while let step = teardown.next {
            order.append(step)
            // Reporting a step other than the one offered changes nothing.
            teardown.finished(.freeMemory(pieces: [64]), succeeded: true)
            teardown.finished(step, succeeded: true)
        }
        XCTAssertEqual(order, [.stopBusMastering(virtio), .resetVirtio(virtio, port: 0xC012), .freeMemory(pieces: [64]), .release(functions: [4])])
        XCTAssertTrue(teardown.isDone)
        table.forget(pieces: [64])
        table.release([4])
        XCTAssertEqual(try table.decideClaim(.address(virtio), by: other), 4)
        XCTAssertEqual(table.pieces.map { $0.key }, [99])
    }

    /// A device that did not stop keeps its memory held and its function taken.
    func testAFailedStopQuarantinesTheMemory() {
        for failing in 0..<2 {
            var table = DeviceTable(functions: qemuFunctions())
            table.claim(4, by: netd)
            table.recordDMA(key: 64, bytes: 65536, for: netd)
            var teardown = table.driverEnded(netd, resetPort: virtioLegacyStatusPort)
            var offered: [TeardownStep] = [], count = 0
            while let step = teardown.next {
                offered.append(step)
                teardown.finished(step, succeeded: count != failing)
                count += 1
            }
            XCTAssertTrue(teardown.isQuarantined)
            XCTAssertFalse(offered.contains(.freeMemory(pieces: [64])))
            XCTAssertFalse(offered.contains(.release(functions: [4])))
        }
    }

    func testADriverWithoutMemoryOrDevicesIsReleasedAtOnce() {
        var table = DeviceTable(functions: qemuFunctions())
        var teardown = table.driverEnded(netd, resetPort: virtioLegacyStatusPort)
        XCTAssertEqual(teardown.next, .release(functions: []))
        teardown.finished(.release(functions: []), succeeded: true)
        XCTAssertNil(teardown.next)
        table.claim(2, by: other)
        teardown = table.driverEnded(other, resetPort: virtioLegacyStatusPort)
        XCTAssertEqual(teardown.next, .stopBusMastering(PCIAddress(bus: 0, device: 1, function: 1)!))
        teardown.finished(teardown.next!, succeeded: true)
        XCTAssertEqual(teardown.next, .release(functions: [2]))
    }

    func testVirtioResetPortNeedsALegacyBar() {
        let functions = qemuFunctions()
        XCTAssertEqual(virtioLegacyStatusPort(of: functions[4]), 0xC012)
        XCTAssertNil(virtioLegacyStatusPort(of: functions[2]))
        var small = functions[4]
        small.bars = [PCIBarRegister(index: 0, bar: .io(base: 0xC000, size: 16))]
        XCTAssertNil(virtioLegacyStatusPort(of: small))
        // A BAR at the top of the port space (the device's to choose) has no room for the registers.
        small.bars = [PCIBarRegister(index: 0, bar: .io(base: 0xFFF0, size: 32))]
        XCTAssertNil(virtioLegacyStatusPort(of: small))
    }
}
