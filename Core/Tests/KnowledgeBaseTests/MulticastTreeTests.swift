import Basics
import CoreTestSupport
import XCTest
@testable import KnowledgeBase

let paperMachines: [(name: String, kb: KnowledgeBase)] = [
    ("2×4 Intel", .intel2x4), ("4×4 AMD", .amd4x4), ("8×4 AMD", .amd8x4),
]

final class MulticastTreeTests: XCTestCase {
    func testEveryTreeSpansEachCoreOnce() {
        for (name, kb) in paperMachines {
            for root in kb.coreIDs {
                for kind in MulticastKind.allCases {
                    let tree = kb.multicastTree(from: root, kind: kind)
                    XCTAssertEqual(tree.root, root)
                    XCTAssertEqual(tree.kind, kind)
                    XCTAssertTrue(tree.spansEachCoreOnce(coreCount: kb.cores.count), "\(name) \(kind) from \(root)")
                    XCTAssertEqual(Set(tree.coresReached), Set(kb.coreIDs))
                    XCTAssertEqual(tree.messageCount, kb.cores.count - 1)
                }
            }
        }
    }

    func testPerPackageTreesCrossEachRemotePackageOnceFromTheRoot() {
        for (name, kb) in paperMachines {
            for root in kb.coreIDs {
                for kind in [MulticastKind.perPackage, .numaAware] {
                    let tree = kb.multicastTree(from: root, kind: kind)
                    let rootPackage = kb.package(of: root)!
                    let remote = tree.children(of: root).filter { kb.package(of: $0) != rootPackage }
                    // Exactly one message into each other package, all of them from the root.
                    XCTAssertEqual(remote.map { kb.package(of: $0)! }.sorted(),
                                   kb.packages.filter { $0 != rootPackage }, "\(name) \(kind) from \(root)")
                    for sender in kb.coreIDs where sender != root {
                        for child in tree.children(of: sender) {
                            XCTAssertEqual(kb.package(of: child), kb.package(of: sender), "\(name) \(kind) from \(root)")
                        }
                    }
                    // Each forwarder reaches the rest of its package.
                    for forwarder in remote {
                        let package = kb.package(of: forwarder)!
                        XCTAssertEqual(Set(tree.children(of: forwarder) + [forwarder]), Set(kb.cores(inPackage: package)))
                    }
                    XCTAssertEqual(tree.depth, 2)
                }
            }
        }
    }

    func testSendOrder() {
        let kb = KnowledgeBase.amd8x4
        let latency = { (a: CoreID, b: CoreID) in kb.latency(from: a, to: b)! }
        for root in [CoreID(0), CoreID(13), CoreID(30)] {
            let aware = kb.multicastTree(from: root, kind: .numaAware)
            let plain = kb.multicastTree(from: root, kind: .perPackage)
            for sender in aware.coresReached {
                let sent = aware.children(of: sender).map { latency(sender, $0) }
                XCTAssertEqual(sent, sent.sorted(by: >), "numaAware sends farthest first")
            }
            for sender in plain.coresReached {
                let sent = plain.children(of: sender).map { latency(sender, $0) }
                XCTAssertEqual(sent, sent.sorted(), "perPackage sends nearest first")
            }
        }
        // From core 0: the four two-hop packages first (in ID order), then the one-hop
        // ones, then core 0's own package.
        XCTAssertEqual(kb.multicastTree(from: CoreID(0), kind: .numaAware).children(of: CoreID(0)),
                       [8, 12, 20, 24, 4, 16, 28, 1, 2, 3].map { CoreID($0) })
        XCTAssertEqual(kb.multicastTree(from: CoreID(0), kind: .perPackage).children(of: CoreID(0)),
                       [1, 2, 3, 4, 16, 28, 8, 12, 20, 24].map { CoreID($0) })
    }

    func testFlatTrees() {
        let kb = KnowledgeBase.intel2x4
        let unicast = kb.multicastTree(from: CoreID(5), kind: .unicast)
        XCTAssertEqual(unicast.children(of: CoreID(5)), [0, 1, 2, 3, 4, 6, 7].map { CoreID($0) })
        XCTAssertEqual(unicast.depth, 1)
        let broadcast = kb.multicastTree(from: CoreID(5), kind: .broadcast)
        XCTAssertEqual(broadcast.children(of: CoreID(5)), [4, 6, 7, 0, 1, 2, 3].map { CoreID($0) })
        XCTAssertEqual(broadcast.depth, 1)
    }

    func testParent() {
        let kb = KnowledgeBase.amd4x4
        let tree = kb.multicastTree(from: CoreID(6), kind: .numaAware)
        XCTAssertNil(tree.parent(of: CoreID(6)))
        for sender in kb.coreIDs {
            for child in tree.children(of: sender) { XCTAssertEqual(tree.parent(of: child), sender) }
        }
        XCTAssertNil(tree.parent(of: CoreID(50)))
    }

    func testSubsetOfCores() {
        let kb = KnowledgeBase.amd4x4
        let tree = kb.multicastTree(from: CoreID(0), to: [9, 10, 0, 9, 2, 99, -1].map { CoreID($0) }, kind: .perPackage)
        XCTAssertEqual(tree.children(of: CoreID(0)), [CoreID(2), CoreID(9)])
        XCTAssertEqual(tree.children(of: CoreID(9)), [CoreID(10)])
        XCTAssertEqual(Set(tree.coresReached), Set([0, 2, 9, 10].map { CoreID($0) }))
        XCTAssertFalse(tree.spansEachCoreOnce(coreCount: kb.cores.count))
    }

    func testOneCoreAndUnknownRoots() {
        let single = KnowledgeBase.synthetic(packages: 1, coresPerPackage: 1, latencies: SyntheticLatencies(samePackage: 100, byHops: []))
        for kind in MulticastKind.allCases {
            let tree = single.multicastTree(from: CoreID(0), kind: kind)
            XCTAssertTrue(tree.spansEachCoreOnce(coreCount: 1))
            XCTAssertEqual(tree.depth, 0)
            XCTAssertEqual(tree.coresReached, [CoreID(0)])
        }
        let amd = KnowledgeBase.amd4x4
        let fromNowhere = amd.multicastTree(from: CoreID(-3), kind: .numaAware)
        XCTAssertEqual(fromNowhere.coresReached, [])
        XCTAssertFalse(fromNowhere.spansEachCoreOnce(coreCount: 16))
        // An unknown (but valid) root still reaches everyone, one forwarder per package.
        let fromOutside = amd.multicastTree(from: CoreID(20), kind: .perPackage)
        XCTAssertEqual(fromOutside.children(of: CoreID(20)).count, 4)
        XCTAssertEqual(fromOutside.coresReached.count, 17)
    }

    func testSpansEachCoreOnceRejectsBadTrees() {
        func tree(_ children: [[Int]], root: Int = 0) -> MulticastTree {
            MulticastTree(kind: .unicast, root: CoreID(root), children: children.map { $0.map { CoreID($0) } })
        }
        XCTAssertTrue(tree([[1, 2], [3], [], []]).spansEachCoreOnce(coreCount: 4))
        XCTAssertFalse(tree([[1, 2], [], [], []]).spansEachCoreOnce(coreCount: 4), "core 3 missing")
        XCTAssertFalse(tree([[1, 2], [3], [3], []]).spansEachCoreOnce(coreCount: 4), "core 3 twice")
        XCTAssertFalse(tree([[1], [], [3], [2]]).spansEachCoreOnce(coreCount: 4), "2 and 3 detached")
        XCTAssertFalse(tree([[1, 2, 3], [0], [], []]).spansEachCoreOnce(coreCount: 4), "message to the root")
        XCTAssertFalse(tree([[1, 2, 3, 4], [], [], []]).spansEachCoreOnce(coreCount: 4), "core out of range")
        XCTAssertFalse(tree([[1, 2, -3], [], [], []]).spansEachCoreOnce(coreCount: 4), "negative core")
        XCTAssertFalse(tree([[], [], [], [], [1]], root: 4).spansEachCoreOnce(coreCount: 4), "root out of range")
        XCTAssertFalse(tree([]).spansEachCoreOnce(coreCount: 0))
    }

    func testWalksSurviveCyclesAndRepeats() {
        let tree = MulticastTree(kind: .perPackage, root: CoreID(0), children: [
            [CoreID(1), CoreID(1), CoreID(0)], [CoreID(2), CoreID(0)], [CoreID(1), CoreID(1_000_000)],
        ])
        XCTAssertEqual(tree.coresReached, [0, 1, 2, 1_000_000].map { CoreID($0) })
        XCTAssertEqual(tree.depth, 3)
        XCTAssertEqual(tree.parent(of: CoreID(2)), CoreID(1))
        XCTAssertEqual(tree.children(of: CoreID(1_000_000)), [])
        XCTAssertFalse(tree.spansEachCoreOnce(coreCount: 3))
    }
}
