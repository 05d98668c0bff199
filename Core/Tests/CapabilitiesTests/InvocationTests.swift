import XCTest
import CoreTestSupport
import Basics
@testable import Capabilities

/// Invocations from untrusted words: every operation decodes, nonsense is refused
/// before any state is touched, and random words never crash or corrupt.
final class InvocationTests: XCTestCase {
    func testDecodesEveryOperation() throws {
        let slot = CapabilityAddress.root(5).encoded
        XCTAssertEqual(try Invocation.decode(operation: 0, 0, 0, 0, 0), .identify)
        XCTAssertEqual(try Invocation.decode(operation: 1, UInt64(CapabilityType.frame.rawValue), 4096, 2, slot),
                       .retype(to: .frame, size: 4096, count: 2, destination: .root(5)))
        XCTAssertEqual(try Invocation.decode(operation: 2, slot, 0, 0, 0), .copy(destination: .root(5)))
        XCTAssertEqual(try Invocation.decode(operation: 3, slot, UInt64(CapabilityRights.read.rawValue), 9, 0),
                       .mint(destination: .root(5), rights: .read, badge: 9))
        XCTAssertEqual(try Invocation.decode(operation: 4, 0, 0, 0, 0), .delete)
        XCTAssertEqual(try Invocation.decode(operation: 5, 0, 0, 0, 0), .revoke)
        XCTAssertEqual(try Invocation.decode(operation: 6, 1, 2, 3, CapabilityOperation.noCapability), .send(words: [1, 2, 3], capability: nil))
        XCTAssertEqual(try Invocation.decode(operation: 6, 1, 2, 3, slot), .send(words: [1, 2, 3], capability: .root(5)))
        XCTAssertEqual(try Invocation.decode(operation: 7, slot, 0x1000, 0, 0), .receive(destination: .root(5), buffer: 0x1000))
        XCTAssertEqual(try Invocation.decode(operation: 8, 0, 0, 0, 0), .wait)
        XCTAssertEqual(try Invocation.decode(operation: 9, 7, slot, UInt64(CapabilityRights.write.rawValue), 0),
                       .map(entry: 7, source: .root(5), rights: .write))
        XCTAssertEqual(try Invocation.decode(operation: 10, 7, 0, 0, 0), .unmap(entry: 7))
    }

    func testRefusesNonsenseBeforeTouchingState() {
        func refused(_ op: UInt64, _ a: [UInt64], _ expected: InvocationError, line: UInt = #line) {
            XCTAssertThrowsError(try Invocation.decode(operation: op, a[0], a[1], a[2], a[3]), line: line) {
                XCTAssertEqual($0 as? InvocationError, expected, line: line)
            }
        }
        let past = UInt64(CapabilityOperation.allCases.count)
        refused(past, [0, 0, 0, 0], .unknownOperation(past))
        refused(9, [3, 1 << 40, 0, 0], .badAddress)
        refused(9, [3, CapabilityAddress.root(5).encoded, 8, 0], .unknownRights(8))
        refused(6, [0, 0, 0, 1 << 40], .badAddress)
        refused(.max, [0, 0, 0, 0], .unknownOperation(.max))
        refused(1, [200, 4096, 1, 0], .unknownType(200))
        refused(1, [UInt64(CapabilityType.frame.rawValue), 4096, 100_000, 0], .countTooLarge)
        refused(3, [CapabilityAddress.root(1).encoded, 0xFF, 0, 0], .unknownRights(0xFF))
    }

    func testRandomInvocationsKeepTheInvariants() throws {
        var capabilities = CoreCapabilities()
        let cspace = try capabilities.createCSpace(at: PhysicalAddress(0x10_0000), slotCount: 64)
        try capabilities.createRoot(.physicalRAM, base: 0x100_0000, size: 1 << 20, at: .root(1), in: cspace)
        var seed: UInt64 = 0xF00D
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 11 }
        var succeeded = 0
        for step in 0..<20_000 {
            // Mostly plausible words (small slots, types, page multiples, counts), with
            // some garbage mixed in.
            let words = (0..<4).map { _ -> UInt64 in
                switch next() % 5 {
                case 0: return next()
                case 1: return 4096 << (next() % 6)
                default: return next() % 24
                }
            }
            // Slot 0 holds the CSpace's own CNode: deleting it would end the run early.
            let target = CapabilityAddress.root(UInt32(1 + next() % 23))
            guard let invocation = try? Invocation.decode(operation: next() % 12, words[0], words[1], words[2], words[3]) else { continue }
            if (try? invocation.perform(on: &capabilities, target: target, in: cspace)) != nil { succeeded += 1 }
            if step % 500 == 0 { XCTAssertEqual(capabilities.checkInvariants(), [], "step \(step)") }
        }
        XCTAssertEqual(capabilities.checkInvariants(), [])
        XCTAssertGreaterThan(succeeded, 100, "random invocations should also succeed sometimes")
    }
}
