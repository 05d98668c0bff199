import XCTest
import CoreTestSupport
import Basics
@testable import Capabilities

/// Map and unmap: the mapping records, each refusal with its error (and no change), and
/// the effects the kernel is asked to apply, including those of delete and revoke.
final class MapTests: XCTestCase {
    static let pml4 = CapabilityAddress.root(10)
    static let pdpt = CapabilityAddress.root(11)
    static let pd = CapabilityAddress.root(12)
    static let pt = CapabilityAddress.root(13)
    static let frame = CapabilityAddress.root(14)       // 14…17: four 4 KiB frames
    static let bigFrame = CapabilityAddress.root(18)    // 8 KiB
    static let deviceFrame = CapabilityAddress.root(19)

    /// The four levels and the frames, made from the fixture's RAM.
    func makeTables() throws -> Fixture {
        var f = Fixture()
        for (type, slot) in [(CapabilityType.pml4, Self.pml4), (.pdpt, Self.pdpt), (.pageDirectory, Self.pd), (.pageTable, Self.pt)] {
            _ = try f.core.retype(Fixture.ram, to: type, size: 0, count: 1, into: slot, in: f.space)
        }
        _ = try f.core.retype(Fixture.ram, to: .frame, size: 4096, count: 4, into: Self.frame, in: f.space)
        _ = try f.core.retype(Fixture.ram, to: .frame, size: 8192, count: 1, into: Self.bigFrame, in: f.space)
        _ = try f.core.retype(Fixture.device, to: .deviceFrame, size: 4096, count: 1, into: Self.deviceFrame, in: f.space)
        _ = f.core.takeEffects()
        return f
    }

    func base(_ f: Fixture, _ address: CapabilityAddress) -> UInt64 { f.identify(address).base }

    /// PML4 entry 1 → PDPT entry 2 → PD entry 3 → PT: the page at entry e of the PT is at
    /// 512 GiB + 2 GiB + 6 MiB + e × 4 KiB.
    func installHierarchy(_ f: inout Fixture) throws {
        try f.core.map(Self.pdpt, into: Self.pml4, entry: 1, rights: [], in: f.space)
        try f.core.map(Self.pd, into: Self.pdpt, entry: 2, rights: [], in: f.space)
        try f.core.map(Self.pt, into: Self.pd, entry: 3, rights: [], in: f.space)
    }
    static let ptAddress: UInt64 = (1 << 39) + (2 << 30) + (3 << 21)

    func testRetypeToTablesAsksForClearedMemory() throws {
        var f = Fixture()
        let made = try f.core.retype(Fixture.ram, to: .pml4, size: 0, count: 2, into: Self.pml4, in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [.clear(base: made.base, size: 8192, type: .pml4)])
        XCTAssertEqual(f.core.takeEffects(), [])
        // Splitting RAM keeps its contents: nothing to clear.
        _ = try f.core.retype(Fixture.ram, to: .physicalRAM, size: 4096, count: 1, into: .root(20), in: f.space)
        XCTAssertFalse(f.core.hasEffects)
    }

    func testMapRecordsAndInstallsEveryLevel() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.map(Self.frame, into: Self.pt, entry: 5, rights: [.write], in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [
            .install(TableEntry(table: base(f, Self.pml4), level: 4, entry: 1), .table(base: base(f, Self.pdpt))),
            .install(TableEntry(table: base(f, Self.pdpt), level: 3, entry: 2), .table(base: base(f, Self.pd))),
            .install(TableEntry(table: base(f, Self.pd), level: 2, entry: 3), .table(base: base(f, Self.pt))),
            .install(TableEntry(table: base(f, Self.pt), level: 1, entry: 5),
                     .page(base: base(f, Self.frame), rights: [.read, .write], isDevice: false)),
        ])
        XCTAssertEqual(try f.core.mapping(at: Self.frame, in: f.space),
                       MappingRecord(table: f.object(Self.pt), tableBase: base(f, Self.pt), entry: 5))
        XCTAssertEqual(try f.core.mapping(at: Self.pdpt, in: f.space)?.entry, 1)
        XCTAssertNil(try f.core.mapping(at: Self.pml4, in: f.space))
        try f.core.map(Self.deviceFrame, into: Self.pt, entry: 6, rights: [], in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [
            .install(TableEntry(table: base(f, Self.pt), level: 1, entry: 6),
                     .page(base: Fixture.deviceBase, rights: .read, isDevice: true)),
        ])
        f.assertSound()
    }

    func testUnmapInvalidatesThePageWhenReachable() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.map(Self.frame, into: Self.pt, entry: 5, rights: [], in: f.space)
        _ = f.core.takeEffects()
        try f.core.unmap(entry: 5, from: Self.pt, in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [
            .remove(TableEntry(table: base(f, Self.pt), level: 1, entry: 5), .page(Self.ptAddress + 5 * 4096)),
        ])
        XCTAssertNil(try f.core.mapping(at: Self.frame, in: f.space))
        // The same copy maps again once unmapped.
        try f.core.map(Self.frame, into: Self.pt, entry: 5, rights: [], in: f.space)
        // Taking out a table: everything under it may be cached.
        try f.core.unmap(entry: 3, from: Self.pd, in: f.space)
        _ = f.core.takeEffects()
        // The PT is now reachable from no PML4: its entries cannot be in the TLB.
        try f.core.unmap(entry: 5, from: Self.pt, in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [.remove(TableEntry(table: base(f, Self.pt), level: 1, entry: 5), .none)])
        f.assertSound()
    }

    /// `unmapEverywhere` and `protectEverywhere` decode with the page's address (the CPU
    /// driver's shootdown after them) and are, for the rules, `unmap` and `protect`: the
    /// same change and the same refusals.
    func testEverywhereIsTheChangeForTheRules() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        XCTAssertEqual(try Invocation.decode(operation: CapabilityOperation.unmapEverywhere.rawValue, 5, 0x40_5000, 0, 0),
                       .unmapEverywhere(entry: 5, address: 0x40_5000))
        XCTAssertEqual(try Invocation.decode(operation: CapabilityOperation.protectEverywhere.rawValue, 5, UInt64(CapabilityRights.read.rawValue), 0x40_5000, 0),
                       .protectEverywhere(entry: 5, rights: .read, address: 0x40_5000))
        XCTAssertThrowsError(try Invocation.decode(operation: CapabilityOperation.protectEverywhere.rawValue, 5, 0xFF, 0x40_5000, 0)) {
            XCTAssertEqual($0 as? InvocationError, .unknownRights(0xFF))
        }
        try f.core.map(Self.frame, into: Self.pt, entry: 5, rights: [.write], in: f.space)
        _ = f.core.takeEffects()
        _ = try Invocation.protectEverywhere(entry: 5, rights: .read, address: 0x40_5000).perform(on: &f.core, target: Self.pt, in: f.space)
        XCTAssertEqual(f.core.takeEffects().count, 1)
        _ = try Invocation.unmapEverywhere(entry: 5, address: 0x40_5000).perform(on: &f.core, target: Self.pt, in: f.space)
        let effects = f.core.takeEffects()
        guard effects.count == 1, case .remove(let entry, _) = effects[0] else { return XCTFail("unmapEverywhere made \(effects)") }
        XCTAssertEqual(entry, TableEntry(table: base(f, Self.pt), level: 1, entry: 5))
        do throws(CapabilityError) {
            _ = try Invocation.unmapEverywhere(entry: 5, address: 0x40_5000).perform(on: &f.core, target: Self.pt, in: f.space)
            XCTFail("an empty entry was unmapped")
        } catch {
            XCTAssertEqual(error, .entryEmpty)
        }
        XCTAssertFalse(f.core.hasEffects)
    }

    /// Protect rewrites a mapped page's entry with new rights, in place (never clearing
    /// it), and invalidates it; the capability's rights bound what it may give.
    func testProtectChangesRightsInPlace() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.map(Self.frame, into: Self.pt, entry: 5, rights: [.write], in: f.space)
        _ = f.core.takeEffects()
        let entry = TableEntry(table: base(f, Self.pt), level: 1, entry: 5)
        try f.core.protect(entry: 5, in: Self.pt, rights: [], in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [
            .change(entry, .page(base: base(f, Self.frame), rights: .read, isDevice: false), .page(Self.ptAddress + 5 * 4096)),
        ])
        try f.core.protect(entry: 5, in: Self.pt, rights: [.write], in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [
            .change(entry, .page(base: base(f, Self.frame), rights: [.read, .write], isDevice: false), .page(Self.ptAddress + 5 * 4096)),
        ])
        XCTAssertEqual(try f.core.mapping(at: Self.frame, in: f.space)?.entry, 5, "still mapped, by the same copy")
        // Refusals change nothing.
        func refused(_ expected: CapabilityError, _ body: () throws(CapabilityError) -> Void, _ what: String) {
            do throws(CapabilityError) {
                try body()
                XCTFail("\(what) was allowed")
            } catch {
                XCTAssertEqual(error, expected, what)
            }
            XCTAssertFalse(f.core.hasEffects, what)
        }
        refused(.entryEmpty, { () throws(CapabilityError) in try f.core.protect(entry: 6, in: Self.pt, rights: [], in: f.space) }, "an empty entry")
        refused(.entryOutOfRange, { () throws(CapabilityError) in try f.core.protect(entry: 512, in: Self.pt, rights: [], in: f.space) }, "entry 512")
        refused(.wrongType(.pageDirectory), { () throws(CapabilityError) in try f.core.protect(entry: 3, in: Self.pd, rights: [], in: f.space) }, "a table above a page table")
        try f.core.mint(.root(15), to: .root(40), rights: .read, in: f.space)
        try f.core.map(.root(40), into: Self.pt, entry: 7, rights: [], in: f.space)
        _ = f.core.takeEffects()
        refused(.insufficientRights, { () throws(CapabilityError) in try f.core.protect(entry: 7, in: Self.pt, rights: [.write], in: f.space) }, "write past a read-only copy")
        f.assertSound()
    }

    /// The kernel maps a shared page from a copy in a CSpace of its own: the rights of
    /// that copy bound the mapping, and the page goes when the copy goes, whoever else
    /// holds copies; the table's owner cannot name the copy, so cannot unmap it by it.
    func testMapFromAnotherCSpace() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        let kernelSpace = try f.core.createCSpace(at: PhysicalAddress(0x2_0000), slotCount: 16)
        try f.core.copy(Self.frame, in: f.space, to: .root(1), in: kernelSpace)
        try f.core.mint(Self.frame, in: f.space, to: .root(2), in: kernelSpace, rights: [.read, .execute])
        _ = f.core.takeEffects()
        XCTAssertThrowsError(try f.core.map(.root(2), in: kernelSpace, into: Self.pt, in: f.space, entry: 6, rights: [.write])) {
            XCTAssertEqual($0 as? CapabilityError, .insufficientRights)
        }
        try f.core.map(.root(2), in: kernelSpace, into: Self.pt, in: f.space, entry: 6, rights: [.execute])
        XCTAssertEqual(f.core.takeEffects(), [
            .install(TableEntry(table: base(f, Self.pt), level: 1, entry: 6),
                     .page(base: base(f, Self.frame), rights: [.read, .execute], isDevice: false)),
        ])
        XCTAssertNotNil(try f.core.mapping(at: .root(2), in: kernelSpace))
        // Deleting the copy the page was mapped from unmaps it; the other copies live on.
        try f.core.delete(.root(2), in: kernelSpace)
        XCTAssertEqual(f.core.takeEffects(), [.remove(TableEntry(table: base(f, Self.pt), level: 1, entry: 6), .page(Self.ptAddress + 6 * 4096))])
        XCTAssertEqual(f.core.copyCount(of: f.object(Self.frame)), 2)
        f.assertSound()
    }

    func testTwoPathsToOneTableInvalidateEverything() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.copy(Self.pt, to: .root(30), in: f.space)
        try f.core.map(.root(30), into: Self.pd, entry: 4, rights: [], in: f.space)
        try f.core.map(Self.frame, into: Self.pt, entry: 0, rights: [], in: f.space)
        _ = f.core.takeEffects()
        try f.core.unmap(entry: 0, from: Self.pt, in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [.remove(TableEntry(table: base(f, Self.pt), level: 1, entry: 0), .everything)])
    }

    func testRefusals() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.map(Self.frame, into: Self.pt, entry: 5, rights: [], in: f.space)
        _ = f.core.takeEffects()
        let space = f.space
        let frame2 = CapabilityAddress.root(15)
        // Not a table; a table without the write right.
        f.assertRefused(.wrongType(.frame)) { core throws(CapabilityError) in try core.map(frame2, into: Self.frame, entry: 0, rights: [], in: space) }
        try f.core.mint(Self.pt, to: .root(31), rights: [], in: space)
        f.assertRefused(.insufficientRights) { core throws(CapabilityError) in try core.map(frame2, into: .root(31), entry: 0, rights: [], in: space) }
        f.assertRefused(.insufficientRights) { core throws(CapabilityError) in try core.unmap(entry: 5, from: .root(31), in: space) }
        // Entries: out of range, reserved in the PML4 (slot 0 and the upper half).
        f.assertRefused(.entryOutOfRange) { core throws(CapabilityError) in try core.map(frame2, into: Self.pt, entry: 512, rights: [], in: space) }
        f.assertRefused(.entryOutOfRange) { core throws(CapabilityError) in try core.unmap(entry: .max, from: Self.pt, in: space) }
        try f.core.copy(Self.pdpt, to: .root(32), in: space)
        for entry: UInt64 in [0, 256, 511] {
            f.assertRefused(.entryReserved) { core throws(CapabilityError) in try core.map(.root(32), into: Self.pml4, entry: entry, rights: [], in: space) }
        }
        f.assertRefused(.entryReserved) { core throws(CapabilityError) in try core.unmap(entry: 0, from: Self.pml4, in: space) }
        // Occupied on map, empty on unmap.
        f.assertRefused(.entryOccupied) { core throws(CapabilityError) in try core.map(frame2, into: Self.pt, entry: 5, rights: [], in: space) }
        f.assertRefused(.entryEmpty) { core throws(CapabilityError) in try core.unmap(entry: 6, from: Self.pt, in: space) }
        // Wrong source type for each level.
        f.assertRefused(.wrongType(.pageTable)) { core throws(CapabilityError) in try core.map(Self.pt, into: Self.pt, entry: 7, rights: [], in: space) }
        f.assertRefused(.wrongType(.frame)) { core throws(CapabilityError) in try core.map(frame2, into: Self.pd, entry: 7, rights: [], in: space) }
        f.assertRefused(.wrongType(.pageTable)) { core throws(CapabilityError) in try core.map(Self.pt, into: Self.pdpt, entry: 7, rights: [], in: space) }
        f.assertRefused(.wrongType(.pageDirectory)) { core throws(CapabilityError) in try core.map(Self.pd, into: Self.pml4, entry: 7, rights: [], in: space) }
        f.assertRefused(.wrongType(.physicalRAM)) { core throws(CapabilityError) in try core.map(Fixture.ram, into: Self.pt, entry: 7, rights: [], in: space) }
        f.assertRefused(.wrongType(.cnode)) { core throws(CapabilityError) in try core.map(.root(0), into: Self.pd, entry: 7, rights: [], in: space) }
        // A frame larger than a page.
        f.assertRefused(.pageSizeMismatch) { core throws(CapabilityError) in try core.map(Self.bigFrame, into: Self.pt, entry: 7, rights: [], in: space) }
        // Rights: a read-only copy cannot be mapped writable or executable; one without
        // read cannot be mapped at all.
        try f.core.mint(frame2, to: .root(33), rights: .read, in: space)
        f.assertRefused(.insufficientRights) { core throws(CapabilityError) in try core.map(.root(33), into: Self.pt, entry: 7, rights: .write, in: space) }
        f.assertRefused(.insufficientRights) { core throws(CapabilityError) in try core.map(.root(33), into: Self.pt, entry: 7, rights: .execute, in: space) }
        try f.core.mint(frame2, to: .root(34), rights: .write, in: space)
        f.assertRefused(.insufficientRights) { core throws(CapabilityError) in try core.map(.root(34), into: Self.pt, entry: 7, rights: .write, in: space) }
        // Double mapping: the same copy, another entry (another table too).
        f.assertRefused(.alreadyMapped) { core throws(CapabilityError) in try core.map(Self.frame, into: Self.pt, entry: 8, rights: [], in: space) }
        f.assertRefused(.alreadyMapped) { core throws(CapabilityError) in try core.map(Self.pd, into: Self.pdpt, entry: 9, rights: [], in: space) }
        // Empty slots.
        f.assertRefused(.slotEmpty) { core throws(CapabilityError) in try core.map(.root(40), into: Self.pt, entry: 7, rights: [], in: space) }
        f.assertRefused(.slotEmpty) { core throws(CapabilityError) in try core.map(frame2, into: .root(40), entry: 7, rights: [], in: space) }
        // Another copy of the same frame maps fine, and so does the read-only one.
        try f.core.copy(Self.frame, to: .root(35), in: space)
        try f.core.map(.root(35), into: Self.pt, entry: 8, rights: .write, in: space)
        try f.core.map(.root(33), into: Self.pt, entry: 9, rights: [], in: space)
        f.assertSound()
    }

    func testDeleteAndRevokeRemoveMappings() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.copy(Self.frame, to: .root(30), in: f.space)
        try f.core.map(Self.frame, into: Self.pt, entry: 1, rights: [], in: f.space)
        try f.core.map(.root(30), into: Self.pt, entry: 2, rights: [], in: f.space)
        _ = f.core.takeEffects()
        let ptBase = base(f, Self.pt)
        // Deleting one mapped copy clears its entry only.
        try f.core.delete(.root(30), in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [.remove(TableEntry(table: ptBase, level: 1, entry: 2), .page(Self.ptAddress + 2 * 4096))])
        // Revoking through an unmapped copy removes the mapped one.
        try f.core.copy(Self.frame, to: .root(30), in: f.space)
        try f.core.revoke(.root(30), in: f.space)
        XCTAssertEqual(f.core.takeEffects(), [.remove(TableEntry(table: ptBase, level: 1, entry: 1), .page(Self.ptAddress + 4096))])
        XCTAssertNil(try f.core.mapping(at: .root(30), in: f.space))
        f.assertSound()
    }

    func testDeletingAMappedTableUnmapsItAndForgetsItsEntries() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.map(Self.frame, into: Self.pt, entry: 1, rights: [], in: f.space)
        _ = f.core.takeEffects()
        let reclaimed = try f.core.delete(Self.pt, in: f.space)
        XCTAssertEqual(reclaimed.map(\.type), [.pageTable])
        // The PD's entry goes (and the whole TLB with it); the dead table's own entries
        // are not touched.
        XCTAssertEqual(f.core.takeEffects(), [.remove(TableEntry(table: base(f, Self.pd), level: 2, entry: 3), .everything)])
        XCTAssertNil(try f.core.mapping(at: Self.frame, in: f.space))
        f.assertSound()
    }

    func testRevokingTheRAMTearsDownTheWholeAddressSpace() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.map(Self.frame, into: Self.pt, entry: 1, rights: [], in: f.space)
        _ = f.core.takeEffects()
        try f.core.revoke(Fixture.ram, in: f.space)
        let effects = f.core.takeEffects()
        // Every remove names a table that was alive at the time, and no entry twice.
        let removed = effects.compactMap { effect -> TableEntry? in
            if case .remove(let entry, _) = effect { return entry } else { return nil }
        }
        XCTAssertEqual(removed.count, effects.count)
        XCTAssertEqual(Set(removed).count, removed.count)
        f.assertSound()
        XCTAssertEqual(f.core.liveObjectCount, 9)   // the CSpace, the seven roots, the device frame
    }

    func testInvariantCheckFindsBrokenRecords() throws {
        var f = try makeTables()
        try installHierarchy(&f)
        try f.core.map(Self.frame, into: Self.pt, entry: 1, rights: [], in: f.space)
        let pt = Int(f.object(Self.pt).index)
        var twice = f.core
        twice.mappedEntries[pt].append(twice.mappedEntries[pt][0])
        XCTAssertTrue(twice.checkInvariants().contains { $0.kind == .mapping })
        var dangling = f.core
        dangling.mappedEntries[pt].removeAll()
        XCTAssertTrue(dangling.checkInvariants().contains { $0.kind == .mapping })
    }
}
