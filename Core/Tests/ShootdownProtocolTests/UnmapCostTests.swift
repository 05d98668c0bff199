import XCTest
import Basics
import KnowledgeBase
import ShootdownSimulation

/// The unmap cost figures (the paper's Fig. 6) from the simulator.
final class UnmapCostTests: XCTestCase {
    /// Every tree reaches every core once: n − 1 invalidates and n − 1 acknowledgements.
    /// Unicast and broadcast are one hop down and one up; the per-package trees two each
    /// once the cores span packages.
    func testMessagesAndHopsOfEachTree() {
        for row in UnmapCost.table(on: .amd8x4) {
            for kind in MulticastKind.allCases {
                XCTAssertEqual(row.figures(of: kind).messages, 2 * (row.cores - 1), "\(kind) at \(row.cores)")
            }
            XCTAssertEqual(row.figures(of: .unicast).hops, 2)
            XCTAssertEqual(row.figures(of: .broadcast).hops, 2)
            XCTAssertEqual(row.figures(of: .numaAware).hops, row.cores > 4 ? 4 : 2, "at \(row.cores)")
        }
    }

    /// The paper's order at 32 cores on its machine: NUMA-aware cheapest, then
    /// per-package, and both far below unicast and broadcast.
    func testTheNUMAAwareTreeIsCheapestAt32Cores() throws {
        let row = try XCTUnwrap(UnmapCost.table(on: .amd8x4, coreCounts: [32]).first)
        let cycles = MulticastKind.allCases.map { row.figures(of: $0).cycles }
        print("32 cores, cycles \(MulticastKind.allCases): \(cycles)")
        XCTAssertLessThan(row.figures(of: .numaAware).cycles, row.figures(of: .perPackage).cycles)
        XCTAssertLessThan(row.figures(of: .perPackage).cycles * 2, row.figures(of: .unicast).cycles)
        XCTAssertLessThan(row.figures(of: .perPackage).cycles * 2, row.figures(of: .broadcast).cycles)
    }

    /// Issue 12: the NUMA-aware tree's critical path grows no faster than the logarithm
    /// of the core count, at every count from 2 to 64 the machines have.
    func testTheNUMAAwareCriticalPathGrowsLogarithmically() {
        for machine in UnmapCost.Machine.allCases {
            for cores in machine.coreCounts {
                let hops = UnmapCost.figures(cores: cores, tree: .numaAware, knowledge: machine.knowledge(cores: cores)).hops
                XCTAssertGreaterThan(hops, 0, "\(machine) at \(cores): the run broke a rule")
                XCTAssertLessThanOrEqual(Double(hops), 2 * log2(Double(cores)) + 2, "\(machine) at \(cores) cores: \(hops) hops")
            }
        }
    }
}
