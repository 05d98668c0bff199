// CPUID decoding on recorded-style values. The machines are made up but shaped like real
// ones: register values follow the SDM's layouts for leaves 1, 4, 0BH and 1FH.

import Basics
import CoreTestSupport
import XCTest
@testable import KnowledgeBase

/// Builders for CPUID register values, so each test states the topology, not hex.
enum CPUIDFixture {
    static let htt: UInt32 = 1 << 28

    /// Leaf 1 EBX: initial APIC ID [31:24], logical IDs per package [23:16], CLFLUSH size 8.
    static func leaf1EBX(apicID: UInt32, logicalPerPackage: UInt32) -> UInt32 {
        apicID << 24 | (logicalPerPackage & 0xFF) << 16 | 8 << 8
    }

    /// One leaf 0BH/1FH subleaf: level `type` (1 SMT, 2 core, 5 die), `shift`, `count`.
    static func level(_ subleaf: UInt32, type: UInt32, shift: UInt32, count: UInt32, apicID: UInt32) -> CPUIDRegisters {
        CPUIDRegisters(eax: shift, ebx: count, ecx: type << 8 | subleaf, edx: apicID)
    }

    /// The terminating subleaf (level type 0).
    static func endLevel(_ subleaf: UInt32, apicID: UInt32) -> CPUIDRegisters {
        CPUIDRegisters(eax: 0, ebx: 0, ecx: subleaf, edx: apicID)
    }

    /// One leaf 4 subleaf: type (1 data, 2 instruction, 3 unified), level, IDs sharing
    /// it, core IDs per package.
    static func cache(type: UInt32, level: UInt32, sharing: UInt32, coresPerPackage: UInt32) -> CPUIDRegisters {
        CPUIDRegisters(eax: (coresPerPackage - 1) << 26 | (sharing - 1) << 14 | 1 << 8 | level << 5 | type,
                       ebx: 0x01C0_003F, ecx: 0x3F, edx: 0)
    }

    /// L1d, L1i, L2 each shared by `threads`, then an L3 shared by `l3Sharing` IDs.
    static func caches(threads: UInt32, l3Sharing: UInt32, coresPerPackage: UInt32) -> [CPUIDRegisters] {
        [cache(type: 1, level: 1, sharing: threads, coresPerPackage: coresPerPackage),
         cache(type: 2, level: 1, sharing: threads, coresPerPackage: coresPerPackage),
         cache(type: 3, level: 2, sharing: threads, coresPerPackage: coresPerPackage),
         cache(type: 3, level: 3, sharing: l3Sharing, coresPerPackage: coresPerPackage),
         CPUIDRegisters.zero]
    }

    /// A two-package server, 4 cores per package, no SMT, with leaf 0BH: APIC IDs 0–3
    /// and 4–7, each package sharing an L3.
    static func twoSocketNoSMT(apicID: UInt32) -> CPUIDRecord {
        CPUIDRecord(
            maxBasicLeaf: 0xD, leaf1EBX: leaf1EBX(apicID: apicID, logicalPerPackage: 4), leaf1EDX: 0x178B_FBFF,
            extendedTopologyLeaf: 0xB,
            extendedTopology: [level(0, type: 1, shift: 0, count: 1, apicID: apicID),
                               level(1, type: 2, shift: 2, count: 4, apicID: apicID),
                               endLevel(2, apicID: apicID)],
            caches: caches(threads: 1, l3Sharing: 4, coresPerPackage: 4))
    }

    /// A one-package desktop part, 4 cores × 2 threads, core field padded to 4 bits as
    /// Intel parts often do (so core IDs are not dense), with leaf 0BH.
    static func smtDesktop(apicID: UInt32) -> CPUIDRecord {
        CPUIDRecord(
            maxBasicLeaf: 0x16, leaf1EBX: leaf1EBX(apicID: apicID, logicalPerPackage: 16), leaf1EDX: 0xBFEB_FBFF,
            extendedTopologyLeaf: 0xB,
            extendedTopology: [level(0, type: 1, shift: 1, count: 2, apicID: apicID),
                               level(1, type: 2, shift: 4, count: 8, apicID: apicID)],
            caches: caches(threads: 2, l3Sharing: 16, coresPerPackage: 8))
    }
}

final class CPUIDTopologyTests: XCTestCase {
    func testTwoSocketsWithLeafB() {
        let places = (0..<8).map { CPUIDTopology(CPUIDFixture.twoSocketNoSMT(apicID: $0)) }
        XCTAssertEqual(places.map { $0.place.package }, [0, 0, 0, 0, 1, 1, 1, 1])
        XCTAssertEqual(places.map { $0.place.core }, [0, 1, 2, 3, 0, 1, 2, 3])
        XCTAssertEqual(places.map { $0.place.thread }, [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(places[5].source, .extendedTopology(leaf: 0xB))
        XCTAssertEqual(places[5].apicID, APICID(5))
        XCTAssertEqual(places[5].threadShift, 0)
        XCTAssertEqual(places[5].packageShift, 2)
        XCTAssertEqual(places[5].caches, [
            CacheFact(level: 1, kind: .data, sharingGroup: 5),
            CacheFact(level: 1, kind: .instruction, sharingGroup: 5),
            CacheFact(level: 2, kind: .unified, sharingGroup: 5),
            CacheFact(level: 3, kind: .unified, sharingGroup: 1),
        ])
    }

    func testSMTDesktop() {
        let places = (0..<8).map { CPUIDTopology(CPUIDFixture.smtDesktop(apicID: $0)) }
        XCTAssertEqual(places.map { $0.place.package }, [0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(places.map { $0.place.core }, [0, 0, 1, 1, 2, 2, 3, 3])
        XCTAssertEqual(places.map { $0.place.thread }, [0, 1, 0, 1, 0, 1, 0, 1])
        // Hyperthreads of one core share L1 and L2 (group = APIC ID >> 1), all share L3.
        XCTAssertEqual(places.map { $0.caches[0].sharingGroup }, [0, 0, 1, 1, 2, 2, 3, 3])
        XCTAssertEqual(places.map { $0.caches[3].sharingGroup }, [0, 0, 0, 0, 0, 0, 0, 0])
    }

    func testLeaf1FWithDieLevel() {
        // SMT (1 bit), core (2 more bits), die (2 more bits): package above bit 5.
        let apic: UInt32 = 0b10_1_10_1  // package 1, die 1, core 2, thread 1
        let record = CPUIDRecord(
            maxBasicLeaf: 0x1F, leaf1EBX: CPUIDFixture.leaf1EBX(apicID: apic & 0xFF, logicalPerPackage: 32),
            leaf1EDX: CPUIDFixture.htt, extendedTopologyLeaf: 0x1F,
            extendedTopology: [CPUIDFixture.level(0, type: 1, shift: 1, count: 2, apicID: apic),
                               CPUIDFixture.level(1, type: 2, shift: 3, count: 8, apicID: apic),
                               CPUIDFixture.level(2, type: 5, shift: 5, count: 32, apicID: apic),
                               CPUIDFixture.endLevel(3, apicID: apic)])
        let topology = CPUIDTopology(record)
        XCTAssertEqual(topology.source, .extendedTopology(leaf: 0x1F))
        XCTAssertEqual(topology.packageShift, 5)
        // The core number covers die and core bits: die 1, core 2 → 0b110.
        XCTAssertEqual(topology.place, CorePlace(package: 1, core: 6, thread: 1))
        XCTAssertEqual(topology.caches, [])
    }

    func testX2APICIDsAbove255() {
        let apic: UInt32 = 0x1_0203
        var record = CPUIDFixture.twoSocketNoSMT(apicID: apic)
        record.leaf1EBX = CPUIDFixture.leaf1EBX(apicID: 0xFF, logicalPerPackage: 4)  // leaf 1 holds only 8 bits
        let topology = CPUIDTopology(record)
        XCTAssertEqual(topology.apicID, APICID(apic))
        XCTAssertEqual(topology.place, CorePlace(package: 0x4080, core: 3, thread: 0))
    }

    func testQEMUWithoutLeafB() {
        // A QEMU model whose highest basic leaf is 0xA (core2duo-like), -smp sockets=2,cores=2.
        let places = (0..<4).map { apic in
            CPUIDTopology(CPUIDRecord(
                maxBasicLeaf: 0xA, leaf1EBX: CPUIDFixture.leaf1EBX(apicID: apic, logicalPerPackage: 2),
                leaf1EDX: CPUIDFixture.htt | 0x0781_ABFD,
                caches: CPUIDFixture.caches(threads: 1, l3Sharing: 2, coresPerPackage: 2)))
        }
        XCTAssertEqual(places[0].source, .legacy)
        XCTAssertEqual(places.map { $0.place.package }, [0, 0, 1, 1])
        XCTAssertEqual(places.map { $0.place.core }, [0, 1, 0, 1])
        XCTAssertEqual(places.map { $0.caches[3].sharingGroup }, [0, 0, 1, 1])
    }

    func testLegacyWithSMT() {
        // 8 logical IDs per package, 4 cores: one thread bit, two core bits.
        let topology = CPUIDTopology(CPUIDRecord(
            maxBasicLeaf: 0xA, leaf1EBX: CPUIDFixture.leaf1EBX(apicID: 13, logicalPerPackage: 8),
            leaf1EDX: CPUIDFixture.htt, caches: CPUIDFixture.caches(threads: 2, l3Sharing: 8, coresPerPackage: 4)))
        XCTAssertEqual(topology.threadShift, 1)
        XCTAssertEqual(topology.packageShift, 3)
        XCTAssertEqual(topology.place, CorePlace(package: 1, core: 2, thread: 1))
    }

    func testLegacyWithoutLeaf4MakesEveryLogicalProcessorACore() {
        // AMD-vendor QEMU models report leaf 4 as zeros; -smp 4 puts four cores in one socket.
        let topology = CPUIDTopology(CPUIDRecord(
            maxBasicLeaf: 0xD, leaf1EBX: CPUIDFixture.leaf1EBX(apicID: 3, logicalPerPackage: 4),
            leaf1EDX: CPUIDFixture.htt, caches: [CPUIDRegisters.zero]))
        XCTAssertEqual(topology.place, CorePlace(package: 0, core: 3, thread: 0))
        XCTAssertEqual(topology.caches, [])
    }

    func testLeaf4IgnoredWhenAboveTheMaximumLeaf() {
        let topology = CPUIDTopology(CPUIDRecord(
            maxBasicLeaf: 2, leaf1EBX: CPUIDFixture.leaf1EBX(apicID: 3, logicalPerPackage: 4), leaf1EDX: CPUIDFixture.htt,
            caches: CPUIDFixture.caches(threads: 2, l3Sharing: 4, coresPerPackage: 2)))
        XCTAssertEqual(topology.threadShift, 0)
        XCTAssertEqual(topology.caches, [])
    }

    func testNoTopologyInformation() {
        // Single-threaded single-core package reporting (HTT clear): package 0, core = APIC ID.
        let topology = CPUIDTopology(CPUIDRecord(
            maxBasicLeaf: 1, leaf1EBX: CPUIDFixture.leaf1EBX(apicID: 6, logicalPerPackage: 0), leaf1EDX: 0x0781_ABFD))
        XCTAssertEqual(topology.source, .none)
        XCTAssertEqual(topology.apicID, APICID(6))
        XCTAssertEqual(topology.place, CorePlace(package: 0, core: 6, thread: 0))
    }

    func testNoLeaf1UsesTheSuppliedAPICID() {
        let record = CPUIDRecord(maxBasicLeaf: 0, leaf1EBX: 0xFFFF_FFFF, leaf1EDX: 0xFFFF_FFFF)
        XCTAssertEqual(CPUIDTopology(record).place, CorePlace(package: 0, core: 0, thread: 0))
        let supplied = CPUIDTopology(record, apicID: APICID(9))
        XCTAssertEqual(supplied.apicID, APICID(9))
        XCTAssertEqual(supplied.place, CorePlace(package: 0, core: 9, thread: 0))
    }

    func testSuppliedAPICIDOverridesTheRecord() {
        let topology = CPUIDTopology(CPUIDFixture.twoSocketNoSMT(apicID: 1), apicID: APICID(6))
        XCTAssertEqual(topology.place, CorePlace(package: 1, core: 2, thread: 0))
        XCTAssertEqual(topology.caches.last?.sharingGroup, 1)
    }

    func testInvalidLeafBFallsBackToLegacy() {
        // Subleaf 0 reports zero logical processors: the SDM says to treat it as invalid.
        var record = CPUIDFixture.twoSocketNoSMT(apicID: 5)
        record.extendedTopology[0].ebx = 0
        XCTAssertEqual(CPUIDTopology(record).source, .legacy)
        XCTAssertEqual(CPUIDTopology(record).place, CorePlace(package: 1, core: 1, thread: 0))
        // A leaf number above the maximum basic leaf is not believed either.
        record = CPUIDFixture.twoSocketNoSMT(apicID: 5)
        record.maxBasicLeaf = 0xA
        XCTAssertEqual(CPUIDTopology(record).source, .legacy)
        // Nor an empty list.
        record = CPUIDFixture.twoSocketNoSMT(apicID: 5)
        record.extendedTopology = []
        XCTAssertEqual(CPUIDTopology(record).source, .legacy)
    }

    func testMalformedShiftsDoNotTrap() {
        // Core level narrower than the SMT level; all-ones registers; a 4096-way cache.
        let record = CPUIDRecord(
            maxBasicLeaf: 0xFFFF_FFFF, leaf1EBX: 0xFFFF_FFFF, leaf1EDX: 0xFFFF_FFFF, extendedTopologyLeaf: 0xB,
            extendedTopology: [CPUIDRegisters(eax: 0xFFFF_FFFF, ebx: 0xFFFF_FFFF, ecx: 0x1FF, edx: 0xFFFF_FFFF),
                               CPUIDRegisters(eax: 3, ebx: 1, ecx: 0x201, edx: 0xFFFF_FFFF)],
            caches: [CPUIDRegisters(eax: 0xFFFF_FFE3, ebx: 0xFFFF_FFFF, ecx: 0xFFFF_FFFF, edx: 0xFFFF_FFFF)])
        let topology = CPUIDTopology(record)
        XCTAssertEqual(topology.threadShift, 31)
        XCTAssertEqual(topology.packageShift, 31)
        XCTAssertEqual(topology.place, CorePlace(package: 1, core: 0, thread: 0x7FFF_FFFF))
        XCTAssertEqual(topology.caches, [CacheFact(level: 7, kind: .unified, sharingGroup: 0xFFFF_FFFF >> 12)])
    }

    func testZeroCountsDoNotTrap() {
        let topology = CPUIDTopology(CPUIDRecord(
            maxBasicLeaf: 4, leaf1EBX: CPUIDFixture.leaf1EBX(apicID: 2, logicalPerPackage: 0), leaf1EDX: CPUIDFixture.htt,
            caches: [CPUIDRegisters(eax: 0x21, ebx: 0, ecx: 0, edx: 0)]))
        XCTAssertEqual(topology.place, CorePlace(package: 2, core: 0, thread: 0))
        XCTAssertEqual(topology.caches, [CacheFact(level: 1, kind: .data, sharingGroup: 2)])
    }

    func testReservedCacheTypesAndLevelZeroAreSkipped() {
        let record = CPUIDRecord(
            maxBasicLeaf: 4, leaf1EBX: 0, leaf1EDX: 0,
            caches: [CPUIDRegisters(eax: 0x25, ebx: 0, ecx: 0, edx: 0),   // type 5 (reserved)
                     CPUIDRegisters(eax: 0x01, ebx: 0, ecx: 0, edx: 0),   // level 0
                     CPUIDRegisters(eax: 0x43, ebx: 0, ecx: 0, edx: 0),   // L2 unified
                     CPUIDRegisters.zero,
                     CPUIDRegisters(eax: 0x63, ebx: 0, ecx: 0, edx: 0)])  // after the end
        XCTAssertEqual(CPUIDTopology(record).caches, [CacheFact(level: 2, kind: .unified, sharingGroup: 0)])
    }

    func testRandomRecordsNeverTrap() {
        var random = SeededGenerator(seed: 0xC0DE_0001)
        func registers() -> CPUIDRegisters {
            CPUIDRegisters(eax: UInt32.random(in: 0...UInt32.max, using: &random),
                           ebx: UInt32.random(in: 0...UInt32.max, using: &random),
                           ecx: UInt32.random(in: 0...UInt32.max, using: &random),
                           edx: UInt32.random(in: 0...UInt32.max, using: &random))
        }
        for _ in 0..<3000 {
            let record = CPUIDRecord(
                maxBasicLeaf: [0, 1, 4, 0xB, 0x1F, UInt32.random(in: 0...UInt32.max, using: &random)].randomElement(using: &random)!,
                leaf1EBX: UInt32.random(in: 0...UInt32.max, using: &random),
                leaf1EDX: UInt32.random(in: 0...UInt32.max, using: &random),
                extendedTopologyLeaf: [0, 0xB, 0x1F, 7].randomElement(using: &random)!,
                extendedTopology: (0..<Int.random(in: 0..<40, using: &random)).map { _ in registers() },
                caches: (0..<Int.random(in: 0..<40, using: &random)).map { _ in registers() })
            let topology = CPUIDTopology(record)
            XCTAssertLessThanOrEqual(topology.threadShift, topology.packageShift)
            XCTAssertLessThanOrEqual(topology.packageShift, 32)
            XCTAssertGreaterThanOrEqual(topology.place.package, 0)
            XCTAssertLessThanOrEqual(topology.caches.count, CPUIDRecord.maximumSubleaves)
        }
    }

    func testBitsNeeded() {
        XCTAssertEqual([0, 1, 2, 3, 4, 5, 8, 9, 255, 256, 4096, UInt32.max].map(bitsNeeded),
                       [0, 0, 1, 2, 2, 3, 3, 4, 8, 8, 12, 32])
    }

    // MARK: Collecting

    /// A CPU answering from a table; unknown leaves and subleaves read as zero.
    private func fakeCPU(_ table: [UInt32: [CPUIDRegisters]]) -> (UInt32, UInt32) -> CPUIDRegisters {
        { leaf, subleaf in
            guard let subleaves = table[leaf] else { return .zero }
            return Int(subleaf) < subleaves.count ? subleaves[Int(subleaf)] : .zero
        }
    }

    func testCollectRecordsWhatDecodingNeeds() {
        let expected = CPUIDFixture.twoSocketNoSMT(apicID: 6)
        let cpu = fakeCPU([
            0: [CPUIDRegisters(eax: 0xD, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69)],
            1: [CPUIDRegisters(eax: 0x206A7, ebx: expected.leaf1EBX, ecx: 0, edx: expected.leaf1EDX)],
            4: Array(expected.caches.dropLast()),
            0xB: Array(expected.extendedTopology.dropLast()),
        ])
        var collected = CPUIDRecord.collect(cpu)
        XCTAssertEqual(collected.extendedTopology.count, 2)
        XCTAssertEqual(collected.caches.count, 4)
        XCTAssertEqual(CPUIDTopology(collected), CPUIDTopology(expected))
        collected.extendedTopology.append(CPUIDFixture.endLevel(2, apicID: 6))
        collected.caches.append(.zero)
        XCTAssertEqual(collected, expected)
    }

    func testCollectPrefersLeaf1FOnlyWhenValid() {
        let core = CPUIDFixture.level(1, type: 2, shift: 3, count: 8, apicID: 1)
        var table: [UInt32: [CPUIDRegisters]] = [
            0: [CPUIDRegisters(eax: 0x1F, ebx: 0, ecx: 0, edx: 0)],
            1: [CPUIDRegisters(eax: 0, ebx: CPUIDFixture.leaf1EBX(apicID: 1, logicalPerPackage: 8), ecx: 0, edx: CPUIDFixture.htt)],
            0xB: [CPUIDFixture.level(0, type: 1, shift: 1, count: 2, apicID: 1), core],
        ]
        XCTAssertEqual(CPUIDRecord.collect(fakeCPU(table)).extendedTopologyLeaf, 0xB)
        table[0x1F] = [CPUIDFixture.level(0, type: 1, shift: 1, count: 2, apicID: 1), core]
        XCTAssertEqual(CPUIDRecord.collect(fakeCPU(table)).extendedTopologyLeaf, 0x1F)
    }

    func testCollectStopsOnACPUThatNeverEndsItsLists() {
        let cpu: (UInt32, UInt32) -> CPUIDRegisters = { leaf, subleaf in
            leaf == 0 ? CPUIDRegisters(eax: 0xB, ebx: 0, ecx: 0, edx: 0)
                : CPUIDRegisters(eax: 0x21, ebx: 1, ecx: 0x100 | subleaf, edx: 0)
        }
        let record = CPUIDRecord.collect(cpu)
        XCTAssertEqual(record.extendedTopology.count, CPUIDRecord.maximumSubleaves)
        XCTAssertEqual(record.caches.count, CPUIDRecord.maximumSubleaves)
    }

    func testCollectOnACPUWithoutLeaf1() {
        let record = CPUIDRecord.collect { _, _ in .zero }
        XCTAssertEqual(record, CPUIDRecord(maxBasicLeaf: 0, leaf1EBX: 0, leaf1EDX: 0))
    }
}

