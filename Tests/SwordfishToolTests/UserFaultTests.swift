import XCTest
@testable import SwordfishTool

final class UserFaultTests: XCTestCase {
    func testAPageFaultLine() {
        let line = "FAULT threads thread 2: page fault (#PF) at rip 0x8000001f3c address 0x0"
        XCTAssertEqual(UserFaultReport(parsing: line), UserFaultReport(
            line: line, program: "threads", thread: 2, exception: "page fault (#PF)", rip: 0x80_0000_1f3c, address: 0
        ))
    }

    func testAFaultWithoutAddress() {
        let line = "FAULT probe thread 13: invalid opcode (#UD) at rip 0xFFFFFFFFFFFFFFFF"
        XCTAssertEqual(UserFaultReport(parsing: line), UserFaultReport(
            line: line, program: "probe", thread: 13, exception: "invalid opcode (#UD)", rip: .max
        ))
    }

    func testBlanksAndAPromptBeforeTheLineAreSkipped() {
        let line = "FAULT threads thread 0: general protection (#GP) at rip 0x10"
        XCTAssertEqual(UserFaultReport(parsing: "  \t" + line)?.line, line)
        XCTAssertEqual(UserFaultReport(parsing: "swordfish> " + line)?.line, line)
        XCTAssertNil(UserFaultReport(parsing: "swordfish> run " + line))
    }

    func testTheLastAtRipEndsTheException() {
        let fault = UserFaultReport(parsing: "FAULT t thread 1: odd: stopped at rip 0x1 at rip 0x2")
        XCTAssertEqual(fault?.exception, "odd: stopped at rip 0x1")
        XCTAssertEqual(fault?.rip, 2)
    }

    func testMalformedLinesAreNotFaults() {
        for line in [
            "",
            "FAULT",
            "fault threads thread 2: page fault (#PF) at rip 0x1",
            "FAULTthreads thread 2: page fault (#PF) at rip 0x1",
            "threads: thread 2 ended by exception 14 at rip 0x1, address 0x0",
            "FAULT threads thread 2 page fault (#PF) at rip 0x1",
            "FAULT threads 2: page fault (#PF) at rip 0x1",
            "FAULT threads task 2: page fault (#PF) at rip 0x1",
            "FAULT  thread 2: page fault (#PF) at rip 0x1",
            "FAULT threads thread -2: page fault (#PF) at rip 0x1",
            "FAULT threads thread +2: page fault (#PF) at rip 0x1",
            "FAULT threads thread two: page fault (#PF) at rip 0x1",
            "FAULT my program thread 2: page fault (#PF) at rip 0x1",
            "FAULT threads thread 2: at rip 0x1",
            "FAULT threads thread 2:  at rip 0x1",
            "FAULT threads thread 2: page fault (#PF)",
            "FAULT threads thread 2: page fault (#PF) at rip 1f",
            "FAULT threads thread 2: page fault (#PF) at rip 0x",
            "FAULT threads thread 2: page fault (#PF) at rip 0x10000000000000000",
            "FAULT threads thread 2: page fault (#PF) at rip 0x1 address",
            "FAULT threads thread 2: page fault (#PF) at rip 0x1 address 12",
            "FAULT threads thread 2: page fault (#PF) at rip 0x1 cr2 0x12",
            "FAULT threads thread 2: page fault (#PF) at rip 0x1 address 0x12 more",
            "FAULT threads thread 2: page fault (#PF) at rip 0x1 ",
        ] {
            XCTAssertNil(UserFaultReport(parsing: line), line)
        }
    }

    func testTheRipIsLookedUpAsItIs() {
        let fault = UserFaultReport(line: "", program: "p", thread: 1, exception: "x", rip: 0x8000_0010)
        XCTAssertEqual(fault.frame, BacktraceFrame(label: "rip", address: 0x8000_0010, lookupAddress: 0x8000_0010))
    }

    func testTheTestLogCollectsFaults() {
        let log = GuestConsoleLog("""
            core 0 up (apic 0)
            FAULT threads thread 2: page fault (#PF) at rip 0x8000001000 address 0x0
            PASS threads: a faulting thread ends alone
            1 passed, 0 failed

            """)
        XCTAssertEqual(log.faults.map(\.program), ["threads"])
        XCTAssertEqual(log.passedTests, ["threads: a faulting thread ends alone"])
        XCTAssertEqual(log.summary, TestCounts(passed: 1, failed: 0))
    }
}
