import XCTest
@testable import SwordfishTool

final class PanicTests: XCTestCase {
    func testBacktraceAddresses() {
        XCTAssertEqual(PanicLine.addresses(inBacktraceLine: "  backtrace: 0x105a3c 0x1043f0 0x10210e"), [0x105a3c, 0x1043f0, 0x10210e])
        XCTAssertEqual(PanicLine.addresses(inBacktraceLine: "backtrace:\t0xFFFFFFFF80001000,0x1"), [0xFFFF_FFFF_8000_1000, 0x1])
        XCTAssertEqual(PanicLine.addresses(inBacktraceLine: "  backtrace:"), [])
        XCTAssertEqual(PanicLine.addresses(inBacktraceLine: "  backtrace: 0x10 junk 105a3c 0x 0xZZ 0x11"), [0x10, 0x11])
        XCTAssertEqual(PanicLine.addresses(inBacktraceLine: "  backtrace: 0x10000000000000000"), [], "more than 64 bits")
        XCTAssertNil(PanicLine.addresses(inBacktraceLine: "  rip 0x105a3c"))
        XCTAssertNil(PanicLine.addresses(inBacktraceLine: "my backtrace: 0x1"))
    }

    func testRegisterLine() {
        XCTAssertEqual(PanicLine.rip(inRegisterLine: "  rip 0x0000000000105a3c rsp 0x1 cr2 0x2"), 0x105a3c)
        XCTAssertNil(PanicLine.rip(inRegisterLine: "  rsp 0x1 rip 0x2"))
        XCTAssertNil(PanicLine.rip(inRegisterLine: "  rip ?"))
    }

    func testHeadline() {
        XCTAssertTrue(PanicLine.isHeadline("PANIC core 1: page fault (#PF, vector 14) error 0x2"))
        XCTAssertFalse(PanicLine.isHeadline("no PANIC here"))
        XCTAssertEqual(PanicLine.core(inHeadline: "PANIC core 12: x"), 12)
        XCTAssertEqual(PanicLine.core(inHeadline: "PANIC core 0: out of memory"), 0)
        XCTAssertNil(PanicLine.core(inHeadline: "PANIC: before per-core setup"))
        XCTAssertNil(PanicLine.core(inHeadline: "PANIC core x: ?"))
    }

    func testFramesLookUpReturnAddressesInsideTheCall() {
        let report = PanicReport(headline: "PANIC core 0: x", core: 0, rip: 0x105a3c, backtrace: [0x105a3c, 0x1043f0, 0x10210e])
        XCTAssertEqual(report.frames, [
            BacktraceFrame(label: "#0", address: 0x105a3c, lookupAddress: 0x105a3c),
            BacktraceFrame(label: "#1", address: 0x1043f0, lookupAddress: 0x1043ef),
            BacktraceFrame(label: "#2", address: 0x10210e, lookupAddress: 0x10210d),
        ])
    }

    func testARipMissingFromTheBacktraceIsItsOwnFrame() {
        let report = PanicReport(headline: "PANIC core 0: x", core: 0, rip: 0x2000, backtrace: [0x1043f0])
        XCTAssertEqual(report.frames.map(\.label), ["rip", "#0"])
        XCTAssertEqual(report.frames.map(\.lookupAddress), [0x2000, 0x1043ef])
        XCTAssertEqual(PanicReport(headline: "PANIC: x").frames, [])
    }

    func testCollectorAssemblesReports() {
        var collector = PanicCollector()
        XCTAssertNil(collector.consume("core 0 up (apic 0)"))
        XCTAssertNil(collector.consume("PANIC core 2: general protection (#GP, vector 13) error 0x0"))
        XCTAssertNil(collector.consume("  rip 0x0000000000101000 rsp 0x0 cr2 0x0"))
        XCTAssertEqual(collector.consume("  backtrace: 0x101000 0x102000"), PanicReport(
            headline: "PANIC core 2: general protection (#GP, vector 13) error 0x0", core: 2,
            rip: 0x101000, backtrace: [0x101000, 0x102000]
        ))
        XCTAssertNil(collector.finish())
    }

    func testAReportWithoutBacktraceEndsAtTheNextLineOrAtTheEnd() {
        var collector = PanicCollector()
        XCTAssertNil(collector.consume("PANIC core 0: first"))
        XCTAssertEqual(collector.consume("PANIC core 1: second"), PanicReport(headline: "PANIC core 0: first", core: 0))
        XCTAssertEqual(collector.consume("swordfish> "), PanicReport(headline: "PANIC core 1: second", core: 1))
        XCTAssertNil(collector.consume("PANIC: early"))
        XCTAssertEqual(collector.finish(), PanicReport(headline: "PANIC: early"))
    }
}

final class ConsoleScannerTests: XCTestCase {
    func testLinesAndPromptAcrossChunks() {
        var scanner = ConsoleScanner()
        XCTAssertEqual(scanner.consume(Array("core 0 up (apic 0)\r\ncore 1 u".utf8)), [.line("core 0 up (apic 0)")])
        XCTAssertEqual(scanner.consume(Array("p (apic 1)\nsword".utf8)), [.line("core 1 up (apic 1)")])
        XCTAssertEqual(scanner.consume(Array("fish> ".utf8)), [.prompt])
        XCTAssertEqual(scanner.consume(Array("cores".utf8)), [], "the echo does not repeat the prompt")
        XCTAssertEqual(scanner.consume(Array("\r\n2 cores\nswordfish> ".utf8)), [.line("swordfish> cores"), .line("2 cores"), .prompt])
        XCTAssertEqual(scanner.finish(), [.line("swordfish> ")])
        XCTAssertEqual(scanner.finish(), [])
    }

    func testAPromptInsideALineIsNotAtTheEnd() {
        var scanner = ConsoleScanner()
        XCTAssertEqual(scanner.consume(Array("the swordfish>prompt\n".utf8)), [.line("the swordfish>prompt")])
    }

    func testLinesSplitOnBytes() {
        XCTAssertEqual("a\r\nb\n\nc\r".lines, ["a", "b", "", "c"])
        XCTAssertEqual("".lines, [""])
    }
}
