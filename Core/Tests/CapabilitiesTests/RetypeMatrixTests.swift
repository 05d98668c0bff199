// The whole retype matrix: every source type × every target type, against a table of
// expectations written here independently of the module's type table.

import XCTest
import CoreTestSupport
@testable import Capabilities

final class RetypeMatrixTests: XCTestCase {
    /// Which sources each target may be retyped from, as the design says.
    static let allowedSources: [CapabilityType: Set<CapabilityType>] = [
        .null: [],
        .physicalRAM: [.physicalRAM],
        .frame: [.physicalRAM, .frame],
        .deviceFrame: [.deviceFrame],
        .cnode: [.physicalRAM],
        .pml4: [.physicalRAM],
        .pdpt: [.physicalRAM],
        .pageDirectory: [.physicalRAM],
        .pageTable: [.physicalRAM],
        .dispatcher: [.physicalRAM],
        .endpoint: [.physicalRAM],
        .irq: [.irq],
        .ioPortRange: [.ioPortRange],
        .kernel: [],
        .notify: [.notify],
    ]

    /// A size argument each target accepts, and the extent it gives.
    static let validSize: [CapabilityType: (argument: UInt64, extent: UInt64)] = [
        .null: (0, 0), .kernel: (0, 0),
        .physicalRAM: (4096, 4096), .frame: (8192, 8192), .deviceFrame: (4096, 4096),
        .cnode: (16, 1024),
        .pml4: (0, 4096), .pdpt: (0, 4096), .pageDirectory: (0, 4096), .pageTable: (0, 4096),
        .dispatcher: (0, 4096), .endpoint: (0, 256),
        .irq: (1, 1), .ioPortRange: (8, 8), .notify: (1, 1),
    ]

    /// A fixture whose root slot 10 holds a capability of `type` (empty for null).
    func source(_ type: CapabilityType) -> Fixture {
        var fixture = Fixture()
        let slot = CapabilityAddress.root(10)
        let space = fixture.space
        switch type {
        case .null: break
        case .physicalRAM: try! fixture.core.copy(Fixture.ram, to: slot, in: space)
        case .deviceFrame: try! fixture.core.copy(Fixture.device, to: slot, in: space)
        case .ioPortRange: try! fixture.core.copy(Fixture.ports, to: slot, in: space)
        case .irq: try! fixture.core.copy(Fixture.interrupts, to: slot, in: space)
        case .notify: try! fixture.core.copy(Fixture.notify, to: slot, in: space)
        case .kernel: try! fixture.core.copy(Fixture.kernel, to: slot, in: space)
        case .frame:
            _ = try! fixture.core.retype(Fixture.ram, to: .frame, size: 0x1_0000, count: 1, into: slot, in: space)
        case .cnode:
            _ = try! fixture.core.retype(Fixture.ram, to: .cnode, size: 64, count: 1, into: slot, in: space)
        default:
            _ = try! fixture.core.retype(Fixture.ram, to: type, size: 0, count: 1, into: slot, in: space)
        }
        return fixture
    }

    func testEverySourceAgainstEveryTarget() {
        var allowed = 0
        for sourceType in CapabilityType.allCases {
            for target in CapabilityType.allCases {
                var fixture = source(sourceType)
                let size = Self.validSize[target]!
                let destination = CapabilityAddress.root(20)
                let expected: CapabilityError?
                if sourceType == .null {
                    expected = .slotEmpty
                } else if Self.allowedSources[target]!.contains(sourceType) {
                    expected = nil
                } else {
                    expected = .retypeNotAllowed(from: sourceType, to: target)
                }
                let space = fixture.space
                if let expected {
                    fixture.assertRefused(expected) { core throws(CapabilityError) in
                        _ = try core.retype(.root(10), to: target, size: size.argument, count: 2,
                                            into: destination, in: space)
                    }
                } else {
                    allowed += 1
                    let parent = fixture.identify(.root(10))
                    let result = try? fixture.core.retype(.root(10), to: target, size: size.argument,
                                                          count: 2, into: destination, in: fixture.space)
                    XCTAssertNotNil(result, "\(sourceType) → \(target)")
                    for k in 0 ..< 2 {
                        let made = fixture.identify(.root(20 + UInt32(k)))
                        XCTAssertEqual(made.type, target, "\(sourceType) → \(target)")
                        XCTAssertEqual(made.size, size.extent, "\(sourceType) → \(target)")
                        XCTAssertEqual(made.base, parent.base + UInt64(k) * size.extent, "\(sourceType) → \(target)")
                    }
                    XCTAssertEqual(result?.needsClearing, sourceType == .physicalRAM && target != .physicalRAM)
                }
                fixture.assertSound()
            }
        }
        XCTAssertEqual(allowed, Self.allowedSources.values.map(\.count).reduce(0, +))
    }

    /// The table above and the module's rows agree on everything else a type declares.
    func testTypeRowsAreConsistent() {
        for type in CapabilityType.allCases {
            let rules = type.rules
            if case .fixed(let bytes) = rules.size {
                XCTAssertEqual(bytes & (bytes - 1), 0, "\(type): fixed sizes are powers of two")
            }
            XCTAssertEqual(rules.isRetypeTarget, !Self.allowedSources[type]!.isEmpty)
            XCTAssertEqual(rules.isBadgeable, type == .endpoint || type == .notify, "\(type)")
            XCTAssertEqual(rules.mapping == .page, type == .frame || type == .deviceFrame, "\(type)")
        }
        XCTAssertEqual(CapabilityType.pageTable.installsInto, .pageDirectory)
        XCTAssertEqual(CapabilityType.pageDirectory.installsInto, .pdpt)
        XCTAssertEqual(CapabilityType.pdpt.installsInto, .pml4)
        XCTAssertNil(CapabilityType.pml4.installsInto)
        XCTAssertEqual(CapabilityType.pml4.rules.mapping, .table(level: 4))
        XCTAssertEqual(CapabilityType.pageTable.rules.mapping, .table(level: 1))
    }
}
