import Basics
import CoreTestSupport
import XCTest
@testable import KnowledgeBase

final class LatencyMatrixTests: XCTestCase {
    func testSetAndGet() {
        var matrix = LatencyMatrix(count: 3)
        XCTAssertNil(matrix[CoreID(0), CoreID(1)])
        matrix[CoreID(0), CoreID(1)] = 200
        matrix.set(from: CoreID(1), to: CoreID(0), 210)
        XCTAssertEqual(matrix[CoreID(0), CoreID(1)], 200)
        XCTAssertEqual(matrix[CoreID(1), CoreID(0)], 210)
        XCTAssertNil(matrix[CoreID(0), CoreID(2)])
        matrix[CoreID(0), CoreID(1)] = nil
        XCTAssertNil(matrix[CoreID(0), CoreID(1)])
        matrix.setBothWays(CoreID(1), CoreID(2), 0)
        XCTAssertEqual(matrix[CoreID(2), CoreID(1)], 0)
        XCTAssertEqual(matrix[CoreID(1), CoreID(2)], 0)
    }

    func testOutOfRangeIsIgnored() {
        var matrix = LatencyMatrix(count: 2)
        matrix[CoreID(2), CoreID(0)] = 5
        matrix[CoreID(-1), CoreID(0)] = 5
        XCTAssertNil(matrix[CoreID(2), CoreID(0)])
        XCTAssertNil(matrix[CoreID(0), CoreID(-1)])
        XCTAssertEqual(LatencyMatrix(count: -4).count, 0)
        XCTAssertEqual(matrix, LatencyMatrix(count: 2))
    }

    func testTheLargestValueStaysAMeasurement() {
        var matrix = LatencyMatrix(count: 2)
        matrix[CoreID(0), CoreID(1)] = UInt64.max
        XCTAssertEqual(matrix[CoreID(0), CoreID(1)], UInt64.max - 1)
    }

    func testExtremes() {
        var matrix = LatencyMatrix(count: 3)
        XCTAssertNil(matrix.largestMeasured)
        XCTAssertNil(matrix.smallestMeasuredBetweenCores)
        matrix[CoreID(0), CoreID(0)] = 1  // a core to itself is not "between cores"
        matrix[CoreID(0), CoreID(2)] = 300
        matrix[CoreID(2), CoreID(1)] = 90
        XCTAssertEqual(matrix.largestMeasured, 300)
        XCTAssertEqual(matrix.smallestMeasuredBetweenCores, 90)
    }
}

final class KnowledgeBaseQueryTests: XCTestCase {
    private let amd = KnowledgeBase.amd8x4
    private let intel = KnowledgeBase.intel2x4

    func testPackages() {
        XCTAssertEqual(amd.packages, Array(0..<8))
        XCTAssertEqual(amd.cores(inPackage: 2), [8, 9, 10, 11].map { CoreID($0) })
        XCTAssertEqual(amd.cores(inPackage: 8), [])
        XCTAssertEqual(amd.package(of: CoreID(31)), 7)
        XCTAssertNil(amd.package(of: CoreID(32)))
        XCTAssertEqual(intel.packages, [0, 1])
    }

    func testCacheSharing() {
        XCTAssertEqual(amd.coresSharingCache(with: CoreID(5), level: 3), [4, 5, 6, 7].map { CoreID($0) })
        XCTAssertEqual(amd.coresSharingCache(with: CoreID(5), level: 2), [CoreID(5)])
        XCTAssertEqual(amd.coresSharingCache(with: CoreID(5), level: 1), [CoreID(5)])
        XCTAssertEqual(amd.coresSharingCache(with: CoreID(5), level: 4), [])
        XCTAssertEqual(amd.coresSharingCache(with: CoreID(99), level: 3), [])
        XCTAssertEqual(intel.coresSharingCache(with: CoreID(6), level: 2), [4, 5, 6, 7].map { CoreID($0) })
        XCTAssertEqual(intel.coresSharingCache(with: CoreID(6), level: 3), [])
    }

    func testInstructionCachesDoNotCountAsSharing() {
        let shared = CacheFact(level: 1, kind: .instruction, sharingGroup: 0)
        let kb = KnowledgeBase(cores: [
            CoreFacts(core: CoreID(0), apicID: APICID(0), place: CorePlace(package: 0, core: 0, thread: 0), caches: [shared]),
            CoreFacts(core: CoreID(1), apicID: APICID(1), place: CorePlace(package: 0, core: 0, thread: 1), caches: [shared]),
        ])
        XCTAssertEqual(kb.coresSharingCache(with: CoreID(0), level: 1), [])
    }

    func testNearestCores() {
        // Package 0's HyperTransport neighbours in the synthetic 8×4 are packages 1, 7 and 4.
        let oneHop = [4, 5, 6, 7, 16, 17, 18, 19, 28, 29, 30, 31]
        let twoHops = (4..<32).filter { !oneHop.contains($0) }
        XCTAssertEqual(amd.nearestCores(to: CoreID(0)), ([1, 2, 3] + oneHop + twoHops).map { CoreID($0) })
        XCTAssertEqual(intel.nearestCores(to: CoreID(5)), [4, 6, 7, 0, 1, 2, 3].map { CoreID($0) })
    }

    func testNearestCoresPutsUnmeasuredLast() {
        var kb = KnowledgeBase.synthetic(packages: 1, coresPerPackage: 4, latencies: SyntheticLatencies(samePackage: 100, byHops: []))
        kb.latency[CoreID(0), CoreID(1)] = nil
        kb.latency[CoreID(0), CoreID(3)] = 50
        XCTAssertEqual(kb.nearestCores(to: CoreID(0)), [3, 2, 1].map { CoreID($0) })
        XCTAssertEqual(kb.latency(from: CoreID(0), to: CoreID(3)), 50)
        XCTAssertNil(kb.latency(from: CoreID(0), to: CoreID(1)))
    }

    func testNUMANodes() {
        XCTAssertEqual(amd.numaNode(of: CoreID(9)), 2)
        XCTAssertNil(intel.numaNode(of: CoreID(1)))
        XCTAssertNil(amd.numaNode(of: CoreID(40)))

        var kb = intel
        kb.assignNUMANodes([(apicID: APICID(0), domain: 3), (apicID: APICID(5), domain: 1), (apicID: APICID(5), domain: 9)])
        XCTAssertEqual(kb.cores.map { $0.numaNode }, [3, nil, nil, nil, nil, 1, nil, nil])
    }

    func testCoresAreKeptInIDOrderAndFoundByID() {
        func facts(_ id: Int, package: Int) -> CoreFacts {
            CoreFacts(core: CoreID(id), apicID: APICID(UInt32(id) * 2), place: CorePlace(package: package, core: id, thread: 0), caches: [])
        }
        let kb = KnowledgeBase(cores: [facts(7, package: 1), facts(0, package: 0), facts(3, package: 1)])
        XCTAssertEqual(kb.coreIDs, [0, 3, 7].map { CoreID($0) })
        XCTAssertEqual(kb.facts(of: CoreID(7))?.apicID, APICID(14))
        XCTAssertNil(kb.facts(of: CoreID(1)))
        XCTAssertEqual(kb.latency.count, 8)
        XCTAssertEqual(kb.cores(inPackage: 1), [CoreID(3), CoreID(7)])
        XCTAssertEqual(kb.packages, [0, 1])
    }

    func testBuiltFromCPUIDRecords() {
        // The two-socket machine of the CPUID tests, cores numbered in MADT order.
        let apicIDs: [UInt32] = [0, 4, 1, 5, 2, 6, 3, 7]
        var kb = KnowledgeBase(cores: apicIDs.enumerated().map { index, apic in
            CoreFacts(core: CoreID(index), topology: CPUIDTopology(CPUIDFixture.twoSocketNoSMT(apicID: apic)))
        })
        kb.assignNUMANodes(apicIDs.map { (apicID: APICID($0), domain: $0 >> 2) })
        XCTAssertEqual(kb.cores(inPackage: 1), [1, 3, 5, 7].map { CoreID($0) })
        XCTAssertEqual(kb.coresSharingCache(with: CoreID(2), level: 3), [0, 2, 4, 6].map { CoreID($0) })
        XCTAssertEqual(kb.numaNode(of: CoreID(3)), 1)
        XCTAssertEqual(kb.facts(of: CoreID(3))?.place, CorePlace(package: 1, core: 1, thread: 0))
    }
}
