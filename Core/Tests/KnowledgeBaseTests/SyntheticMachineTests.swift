import Basics
import CoreTestSupport
import XCTest
@testable import KnowledgeBase

final class SyntheticMachineTests: XCTestCase {
    func testShapes() {
        for (kb, packages, perPackage) in [(KnowledgeBase.intel2x4, 2, 4), (.amd4x4, 4, 4), (.amd8x4, 8, 4)] {
            XCTAssertEqual(kb.cores.count, packages * perPackage)
            XCTAssertEqual(kb.coreIDs, (0..<packages * perPackage).map { CoreID($0) })
            XCTAssertEqual(kb.packages, Array(0..<packages))
            for package in 0..<packages {
                XCTAssertEqual(kb.cores(inPackage: package), (package * perPackage..<(package + 1) * perPackage).map { CoreID($0) })
            }
            XCTAssertEqual(Set(kb.cores.map { $0.apicID }).count, kb.cores.count)
            // Every pair of different cores is measured, and symmetrically.
            for a in kb.coreIDs {
                XCTAssertNil(kb.latency(from: a, to: a))
                for b in kb.coreIDs where b != a {
                    XCTAssertNotNil(kb.latency(from: a, to: b))
                    XCTAssertEqual(kb.latency(from: a, to: b), kb.latency(from: b, to: a))
                }
            }
        }
    }

    func testAPICIDsLookLikeCPUID() {
        // Six cores per package need three core bits: package 1 starts at APIC ID 8.
        let kb = KnowledgeBase.synthetic(packages: 2, coresPerPackage: 6, latencies: SyntheticLatencies(samePackage: 100, byHops: [300]))
        XCTAssertEqual(kb.cores.map { $0.apicID.rawValue }, [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13])
        XCTAssertEqual(kb.facts(of: CoreID(7))?.place, CorePlace(package: 1, core: 1, thread: 0))
        XCTAssertEqual(kb.facts(of: CoreID(7))?.caches.last, CacheFact(level: 3, kind: .unified, sharingGroup: 1))
        XCTAssertEqual(kb.facts(of: CoreID(7))?.numaNode, 1)
    }

    func testPaperLatencyClasses() {
        let intel = KnowledgeBase.intel2x4
        XCTAssertEqual(intel.latency(from: CoreID(0), to: CoreID(3)), 180)
        XCTAssertEqual(intel.latency(from: CoreID(0), to: CoreID(4)), 570)
        let amd4 = KnowledgeBase.amd4x4
        XCTAssertEqual(amd4.latency(from: CoreID(0), to: CoreID(1)), 450)
        XCTAssertEqual(amd4.latency(from: CoreID(0), to: CoreID(4)), 545)
        XCTAssertEqual(amd4.latency(from: CoreID(0), to: CoreID(8)), 560)
        XCTAssertEqual(amd4.latency(from: CoreID(0), to: CoreID(12)), 545)
        let amd8 = KnowledgeBase.amd8x4
        XCTAssertEqual(amd8.latency(from: CoreID(0), to: CoreID(1)), 520)
        XCTAssertEqual(amd8.latency(from: CoreID(0), to: CoreID(16)), 600)
        XCTAssertEqual(amd8.latency(from: CoreID(0), to: CoreID(8)), 618)
        XCTAssertEqual(amd8.latency.largestMeasured, 618)
    }

    func testEightPackageInterconnect() {
        let links = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 0), (0, 4), (1, 5), (2, 6), (3, 7)]
        let hops = KnowledgeBase.packageHops(count: 8, links: links)
        for a in 0..<8 {
            XCTAssertEqual(hops[a][a], 0)
            XCTAssertEqual(hops[a].filter { $0 == 1 }.count, 3, "three HyperTransport links per package")
            XCTAssertEqual(hops[a].max(), 2, "nothing farther than two hops")
        }
    }

    func testHopCounting() {
        XCTAssertEqual(KnowledgeBase.packageHops(count: 3, links: []), [[0, 1, 1], [1, 0, 1], [1, 1, 0]])
        XCTAssertEqual(KnowledgeBase.packageHops(count: 4, links: [(0, 1), (1, 2), (2, 3), (3, 0)])[0], [0, 1, 2, 1])
        // Unconnected packages are `count` hops away; links out of range or to self are ignored.
        XCTAssertEqual(KnowledgeBase.packageHops(count: 3, links: [(0, 1), (2, 2), (1, 9), (-1, 0)]),
                       [[0, 1, 3], [1, 0, 3], [3, 3, 0]])
        XCTAssertEqual(KnowledgeBase.packageHops(count: 0, links: []), [])
    }

    func testRoundTripByHops() {
        let latencies = SyntheticLatencies(samePackage: 100, byHops: [200, 300])
        XCTAssertEqual((0...4).map { latencies.roundTrip(hops: $0) }, [100, 200, 300, 300, 300])
        XCTAssertEqual(SyntheticLatencies(samePackage: 100, byHops: []).roundTrip(hops: 2), 100)
    }

    func testDegenerateSizes() {
        let latencies = SyntheticLatencies(samePackage: 100, byHops: [])
        XCTAssertEqual(KnowledgeBase.synthetic(packages: 0, coresPerPackage: 4, latencies: latencies).cores, [])
        XCTAssertEqual(KnowledgeBase.synthetic(packages: 3, coresPerPackage: -1, latencies: latencies).cores, [])
        XCTAssertEqual(KnowledgeBase.synthetic(packages: -2, coresPerPackage: 2, latencies: latencies).packages, [])
    }

    func testIntelSharesL2AndHasNoNUMA() {
        let intel = KnowledgeBase.intel2x4
        XCTAssertEqual(intel.facts(of: CoreID(0))?.caches.map { $0.level }, [1, 1, 2])
        XCTAssertEqual(intel.cores.compactMap { $0.numaNode }, [])
        XCTAssertEqual(KnowledgeBase.amd4x4.facts(of: CoreID(0))?.caches.map { $0.level }, [1, 1, 2, 3])
    }
}
