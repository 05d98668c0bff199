import Basics
import CoreTestSupport
import XCTest
@testable import ACPI

final class CoreListTests: XCTestCase {
    private func processor(_ id: UInt32, enabled: Bool = true, onlineCapable: Bool = false, x2: Bool = false) -> MADT.Processor {
        MADT.Processor(apicID: APICID(id), processorUID: id, isEnabled: enabled, isOnlineCapable: onlineCapable, isX2APIC: x2)
    }

    private func madt(_ processors: [MADT.Processor]) -> Result<MADT, ACPIError> {
        .success(MADT(localAPICAddress: PhysicalAddress(0xFEE0_0000), flags: [], processors: processors, ioAPICs: []))
    }

    private func ids(_ list: CoreList) -> [UInt32] { list.apicIDs.map(\.rawValue) }

    func testBootstrapFirstThenMADTOrder() {
        let list = CoreList.make(madt: madt([processor(0), processor(1), processor(2), processor(3)]),
                                 bootstrap: APICID(2), limit: 16)
        XCTAssertEqual(ids(list), [2, 0, 1, 3])
        XCTAssertEqual(list.notes, [])
        XCTAssertEqual(list.apicID(of: .bootstrap), APICID(2))
        XCTAssertEqual(list.apicID(of: CoreID(3)), APICID(3))
        XCTAssertNil(list.apicID(of: CoreID(4)))
        XCTAssertEqual(list.count, 4)
    }

    func testBootstrapMissingFromMADT() {
        let list = CoreList.make(madt: madt([processor(1), processor(2)]), bootstrap: APICID(0), limit: 8)
        XCTAssertEqual(ids(list), [0, 1, 2])
        XCTAssertEqual(list.notes, [.bootstrapNotInMADT(APICID(0))])
    }

    func testDisabledProcessorsAreNotStarted() {
        let list = CoreList.make(madt: madt([
            processor(0), processor(1, enabled: false), processor(2, enabled: false, onlineCapable: true), processor(3),
        ]), bootstrap: APICID(0), limit: 8)
        XCTAssertEqual(ids(list), [0, 3])
        XCTAssertEqual(list.notes, [.disabledProcessorsSkipped(count: 2)])
    }

    func testDuplicateAPICIDs() {
        let list = CoreList.make(madt: madt([
            processor(0), processor(1), processor(1, x2: true), processor(0), processor(2), processor(1),
        ]), bootstrap: APICID(0), limit: 8)
        XCTAssertEqual(ids(list), [0, 1, 2])
        XCTAssertEqual(list.notes, [.duplicateAPICID(APICID(1)), .duplicateAPICID(APICID(0)), .duplicateAPICID(APICID(1))])
    }

    func testDisabledDuplicateOfEnabledIsOnlyDisabled() {
        let list = CoreList.make(madt: madt([processor(0), processor(1, enabled: false), processor(1)]),
                                 bootstrap: APICID(0), limit: 8)
        XCTAssertEqual(ids(list), [0, 1])
        XCTAssertEqual(list.notes, [.disabledProcessorsSkipped(count: 1)])
    }

    func testLimit() {
        let list = CoreList.make(madt: madt((0..<10).map { processor($0) }), bootstrap: APICID(5), limit: 4)
        XCTAssertEqual(ids(list), [5, 0, 1, 2])
        XCTAssertEqual(list.notes, [.coresOverLimit(dropped: 6, limit: 4)])
    }

    func testDuplicatesPastTheLimitAreNotCountedAsDropped() {
        let list = CoreList.make(madt: madt([processor(0), processor(1), processor(2), processor(2)]),
                                 bootstrap: APICID(0), limit: 2)
        XCTAssertEqual(ids(list), [0, 1])
        XCTAssertEqual(list.notes, [.duplicateAPICID(APICID(2)), .coresOverLimit(dropped: 1, limit: 2)])
    }

    func testLimitBelowOneStillStartsTheBootstrapCore() {
        let list = CoreList.make(madt: madt([processor(0), processor(1)]), bootstrap: APICID(0), limit: 0)
        XCTAssertEqual(ids(list), [0])
        XCTAssertEqual(list.notes, [.coresOverLimit(dropped: 1, limit: 1)])
    }

    func testMissingMADT() {
        let list = CoreList.make(madt: .failure(.tableNotFound(.madt)), bootstrap: APICID(3), limit: 8)
        XCTAssertEqual(ids(list), [3])
        XCTAssertEqual(list.notes, [.madtUnavailable(.tableNotFound(.madt))])
    }

    func testFromBrokenMachine() throws {
        let memory = TableBuilder.standardMachine(madt: TableBuilder.madt(entries: [[0, 0]]))
        let tables = try ACPITables.locate(rsdp: PhysicalAddress(TableBuilder.rsdpAddress), memory: memory)
        let result = Result { () throws(ACPIError) -> MADT in try tables.madt(memory: memory) }
        let list = CoreList.make(madt: result, bootstrap: APICID(0), limit: 8)
        XCTAssertEqual(ids(list), [0])
        XCTAssertEqual(list.notes, [.madtUnavailable(.zeroLengthEntry(offset: 44))])
    }

    func testFromStandardMachine() throws {
        let memory = TableBuilder.standardMachine()
        let tables = try ACPITables.locate(rsdp: PhysicalAddress(TableBuilder.rsdpAddress), memory: memory)
        let list = CoreList.make(madt: Result { () throws(ACPIError) -> MADT in try tables.madt(memory: memory) },
                                 bootstrap: APICID(0), limit: 64)
        XCTAssertEqual(ids(list), [0, 1, 0x100])
        XCTAssertEqual(list.notes, [])
    }

    func testNotesArePrintable() {
        let notes: [CoreListNote] = [
            .madtUnavailable(.noRootTable), .bootstrapNotInMADT(APICID(1)), .duplicateAPICID(APICID(2)),
            .disabledProcessorsSkipped(count: 3), .coresOverLimit(dropped: 4, limit: 5),
        ]
        XCTAssertEqual(notes.compactMap(\.detail), [1, 2, 3, 4])
        for note in notes { XCTAssertTrue(note.message.utf8CodeUnitCount > 10) }
    }
}
