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

    /// Asserts that in `kb`'s per-package trees from each of `roots`, every sender sends
    /// by its own round trips: nearest first in `perPackage`, farthest first in
    /// `numaAware`.
    func assertSendOrder(_ kb: KnowledgeBase, from roots: [CoreID], line: UInt = #line) {
        for root in roots {
            for kind in [MulticastKind.perPackage, .numaAware] {
                let tree = kb.multicastTree(from: root, kind: kind)
                for sender in tree.coresReached {
                    let sent = tree.children(of: sender).map { kb.latency(from: sender, to: $0)! }
                    XCTAssertEqual(sent, kind == .numaAware ? sent.sorted(by: >) : sent.sorted(),
                                   "\(kind) from core \(root.rawValue): core \(sender.rawValue)'s send order", line: line)
                }
            }
        }
    }

    func testSendOrder() {
        let kb = KnowledgeBase.amd8x4
        assertSendOrder(kb, from: [CoreID(0), CoreID(13), CoreID(30)])
        // From core 0: the four two-hop packages first (in ID order), then the one-hop
        // ones, then core 0's own package.
        XCTAssertEqual(kb.multicastTree(from: CoreID(0), kind: .numaAware).children(of: CoreID(0)),
                       [8, 12, 20, 24, 4, 16, 28, 1, 2, 3].map { CoreID($0) })
        XCTAssertEqual(kb.multicastTree(from: CoreID(0), kind: .perPackage).children(of: CoreID(0)),
                       [1, 2, 3, 4, 16, 28, 8, 12, 20, 24].map { CoreID($0) })
    }

    /// On the paper's machines every pair in a package has the same round trip, so a
    /// forwarder's order cannot be wrong there. Here each pair has its own, and neither
    /// ID order nor its reverse is right for any sender.
    func testForwardersSendByTheirOwnLatencies() {
        var kb = KnowledgeBase.synthetic(packages: 2, coresPerPackage: 4,
                                         latencies: SyntheticLatencies(samePackage: 400, byHops: [900]))
        let inPackage: [(Int, Int, UInt64)] = [(0, 1, 300), (0, 2, 420), (0, 3, 360), (1, 2, 390), (1, 3, 330), (2, 3, 450)]
        for package in 0..<2 {
            for (a, b, cycles) in inPackage { kb.latency.setBothWays(CoreID(4 * package + a), CoreID(4 * package + b), cycles) }
        }
        assertSendOrder(kb, from: kb.coreIDs)
        // From core 0, core 4 forwards into the other package (all 900 cycles away, so the
        // lowest ID); both send by their round trips to 1, 2, 3 of 300, 420 and 360.
        let aware = kb.multicastTree(from: CoreID(0), kind: .numaAware)
        XCTAssertEqual(aware.children(of: CoreID(0)), [4, 2, 3, 1].map { CoreID($0) })
        XCTAssertEqual(aware.children(of: CoreID(4)), [6, 7, 5].map { CoreID($0) })
        let plain = kb.multicastTree(from: CoreID(0), kind: .perPackage)
        XCTAssertEqual(plain.children(of: CoreID(0)), [1, 3, 2, 4].map { CoreID($0) })
        XCTAssertEqual(plain.children(of: CoreID(4)), [5, 7, 6].map { CoreID($0) })
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
