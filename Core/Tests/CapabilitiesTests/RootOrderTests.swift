// Roots are checked for overlap against their neighbours in the ordered root index
// (`rootsByAddress`), not against every root: the check must still find an overlap
// with any root among many, through the neighbour below as well as the one above, with
// roots of any type in the same space, and free a root's place when it dies.

import XCTest
import CoreTestSupport
import Basics
@testable import Capabilities

final class RootOrderTests: XCTestCase {
    var fixture = Fixture()
    var space: CSpace!
    /// Two-page frame roots at every fourth page from `base`: a two-page gap after each.
    static let base: UInt64 = 0x100_0000
    static let roots = 100

    static func page(_ index: Int) -> UInt64 { UInt64(Int(base) + index * 0x1000) }

    override func setUp() {
        space = try! fixture.core.createCSpace(at: PhysicalAddress(0x80_0000), slotCount: 256)
        // Made out of address order, so the index cannot just append.
        for k in (0..<Self.roots).map({ ($0 * 37) % Self.roots }) {
            try! fixture.core.createRoot(.frame, base: Self.page(4 * k), size: 0x2000, at: .root(UInt32(k + 1)), in: space)
        }
        fixture.assertSound()
    }

    func create(_ type: CapabilityType, at page: Int, pages: Int, slot: UInt32 = 200) throws(CapabilityError) {
        try fixture.core.createRoot(type, base: Self.page(page), size: UInt64(pages) * 0x1000, at: .root(slot), in: space)
    }

    func assertInUse(_ type: CapabilityType, at page: Int, pages: Int, line: UInt = #line) {
        XCTAssertThrowsError(try create(type, at: page, pages: pages), line: line) { error in
            XCTAssertEqual(error as? CapabilityError, .regionInUse, line: line)
        }
    }

    func testOverlapWithAnyRootIsFound() {
        for k in [0, 1, 48, 50, 98, 99] {
            assertInUse(.frame, at: 4 * k, pages: 1)                // the root's first page
            assertInUse(.frame, at: 4 * k + 1, pages: 1)            // its second: the root below the new one
            assertInUse(.frame, at: 4 * k, pages: 4)                // it and the gap after
            if k % 2 == 0 && k < Self.roots - 1 {
                assertInUse(.frame, at: 4 * k, pages: 8)            // it, the gap and the next
            }
            assertInUse(.physicalRAM, at: 4 * k, pages: 4)          // another type, same space
        }
        assertInUse(.frame, at: 0, pages: 4 * Self.roots)           // covering all of them
        fixture.assertSound()
    }

    func testGapsAndOtherSpacesAreFree() throws {
        for (index, k) in [0, 42, Self.roots - 1].enumerated() {
            try create(.frame, at: 4 * k + 2, pages: 2, slot: UInt32(201 + index))   // touches both neighbours
        }
        try create(.frame, at: -1, pages: 1, slot: 250)                          // just below the first
        try fixture.core.createRoot(.irq, base: 64, size: 16, at: .root(251), in: space)
        fixture.assertSound()
    }

    func testDeadRootLeavesTheIndex() throws {
        try fixture.core.delete(.root(51), in: space)                // the root at page 200
        fixture.assertSound()
        try create(.frame, at: 200, pages: 2)
        assertInUse(.frame, at: 205, pages: 1)                      // its neighbour still counts
        fixture.assertSound()
    }
}
