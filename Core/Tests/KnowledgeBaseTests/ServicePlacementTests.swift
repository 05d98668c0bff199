import XCTest
import Basics
@testable import KnowledgeBase

final class ServicePlacementTests: XCTestCase {
    func testOneCoreHasOnlyCoreZero() {
        XCTAssertEqual(ServicePlacement.core(among: [CoreID(0)]), CoreID(0))
        XCTAssertEqual(ServicePlacement.core(among: []), CoreID(0))
    }

    func testTheLastCoreOtherThanCoreZero() {
        XCTAssertEqual(ServicePlacement.core(among: [CoreID(0), CoreID(1)]), CoreID(1))
        XCTAssertEqual(ServicePlacement.core(among: (0..<4).map { CoreID($0) }), CoreID(3))
    }

    func testStaysOnNodeZero() {
        // amd4x4: each package its own node, cores 0–3 on node 0.
        XCTAssertEqual(ServicePlacement.core(in: .amd4x4), CoreID(3))
        XCTAssertEqual(ServicePlacement.core(in: .amd8x4), CoreID(3))
        // No SRAT: every core counts as node 0.
        XCTAssertEqual(ServicePlacement.core(in: .intel2x4), CoreID(7))
    }

    func testAClientGoesElsewhereWhenItCan() {
        XCTAssertEqual(ServicePlacement.client(of: CoreID(0), among: [CoreID(0), CoreID(1)]), CoreID(1))
        XCTAssertEqual(ServicePlacement.client(of: CoreID(1), among: [CoreID(0), CoreID(1)]), CoreID(0))
        XCTAssertEqual(ServicePlacement.client(of: CoreID(0), among: [CoreID(0)]), CoreID(0))
    }
}
