import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import SwordfishTool

final class BenchReportTests: XCTestCase {
    /// What the Linux guest prints on two CPUs, with kernel noise between the lines.
    private let linuxConsole = """
        [    0.000000] Linux version 6.1.0-56-amd64
        BENCH info cpus=2 tsc_mhz=2994
        BENCH name=null-syscall unit=cycles median=1200 p99=2400 samples=100000
        BENCH name=same-core-roundtrip unit=cycles median=30000 p99=45000 samples=20000
        BENCH name=cross-core-roundtrip unit=cycles median=90000 p99=200000 samples=20000
        BENCH name=cross-core-eventfd unit=cycles median=80000 p99=190000 samples=20000
        BENCH name=cross-core-futex unit=cycles median=60000 p99=150000 samples=20000
        BENCH name=cross-core-unix-socket unit=cycles median=100000 p99=250000 samples=20000
        BENCH name=cacheline-floor unit=cycles median=400 p99=900 samples=100000
        BENCH name=unmap-shared-page unit=cycles median=50000 p99=80000 samples=2000
        BENCH name=mprotect-shared-page unit=cycles median=45000 p99=70000 samples=2000
        BENCH name=tcp-loopback-stream unit=MB/s median=500 p99=400 samples=7
        BENCH done\r

        """

    /// What the Swordfish kernel prints today: a few rows, the rest unsupported.
    private let swordfishConsole = """
        Swordfish: a multikernel in Swift
        boot: 2 core(s), local APIC in xAPIC mode, TSC 2993 MHz
        core 0 up (apic 0)
        BENCH name=cacheline-floor unit=cycles median=360 p99=800 samples=10000
        BENCH name=cross-core-roundtrip unit=cycles median=1800 p99=4000 samples=10000
        BENCH name=ipi-roundtrip unit=cycles median=45000 p99=90000 samples=1000
        BENCH name=null-syscall unsupported reason=no user mode yet
        BENCH name=tcp-loopback-stream unsupported reason=not yet: no network stack
        BENCH done

        """

    private func report(swordfish: String? = nil, linux: String? = nil, host: [HostBenchRow]? = nil) -> BenchReport {
        BenchReport(
            qemu: "qemu-system-x86_64 -machine pc -cpu max -smp 2 -m 512M -accel tcg,thread=multi",
            swordfish: BenchSide(console: BenchConsole(swordfish ?? swordfishConsole), outcome: .finished),
            linux: BenchSide(console: BenchConsole(linux ?? linuxConsole), outcome: .finished),
            host: host, linuxRelease: "6.1.0-56-amd64", command: "swordfish bench --quick")
    }

    // MARK: Lines

    func testParsesEachKindOfLine() {
        XCTAssertEqual(BenchLine("BENCH name=null-syscall unit=cycles median=1200 p99=2400 samples=100000"),
                       .measurement(name: "null-syscall", figure: BenchFigure(median: 1200, p99: 2400, samples: 100000, unit: "cycles")))
        XCTAssertEqual(BenchLine("BENCH name=cross-core-futex unsupported reason=one-cpu"),
                       .unsupported(name: "cross-core-futex", reason: "one-cpu"))
        XCTAssertEqual(BenchLine("BENCH name=null-syscall unsupported reason=no user mode yet"),
                       .unsupported(name: "null-syscall", reason: "no user mode yet"))
        XCTAssertEqual(BenchLine("BENCH info cpus=4 tsc_mhz=2000"), .info(["cpus": "4", "tsc_mhz": "2000"]))
        XCTAssertEqual(BenchLine("BENCH done"), .done)
        XCTAssertEqual(BenchLine("core 1: BENCH done"), .done)
        XCTAssertEqual(BenchLine("BENCH error fork: No memory"), .error("fork: No memory"))
    }

    func testIgnoresLinesThatAreNotResults() {
        XCTAssertNil(BenchLine("PASS channel ping-pong"))
        XCTAssertNil(BenchLine("BENCH name=x unit=cycles"))               // no median
        XCTAssertNil(BenchLine("BENCH name=x unit=cycles median=fast"))
        XCTAssertNil(BenchLine("BENCH unit=cycles median=3"))            // no name
    }

    func testConsoleKeepsOrderTSCAndCompletion() {
        let console = BenchConsole(swordfishConsole)
        XCTAssertEqual(console.names, ["cacheline-floor", "cross-core-roundtrip", "ipi-roundtrip", "null-syscall", "tcp-loopback-stream"])
        XCTAssertEqual(console.tscMHz, 2993)
        XCTAssertTrue(console.isDone)
        XCTAssertEqual(BenchConsole(linuxConsole).tscMHz, 2994)
        XCTAssertFalse(BenchConsole("BENCH name=a unit=cycles median=1").isDone)
    }

    func testOutcomeFromConsoleAndEnding() {
        XCTAssertEqual(BenchSide(console: BenchConsole(linuxConsole), ending: .timedOut(seconds: 5)).outcome, .finished)
        XCTAssertEqual(BenchSide(console: BenchConsole("boot: x\nswordfish> "), ending: .exited(status: 0)).outcome, .notImplemented)
        XCTAssertEqual(BenchSide(console: BenchConsole("BENCH name=a unit=cycles median=1"), ending: .timedOut(seconds: 150)).outcome,
                       .failed("timed out after 150 s"))
        XCTAssertEqual(BenchSide(console: BenchConsole(""), ending: .stoppedAfterPanic).outcome, .failed("the guest panicked"))
    }

    // MARK: Rows

    func testEveryKnownOperationHasARowInCatalogueOrder() {
        let names = report().rows.map(\.name)
        XCTAssertEqual(Array(names.prefix(BenchOperation.catalogue.count)), BenchOperation.catalogue.map(\.name))
        let noneAtAll = BenchReport(qemu: "q", swordfish: .missing("no kernel"), linux: .missing("no image"))
        XCTAssertEqual(noneAtAll.rows.map(\.name), BenchOperation.catalogue.map(\.name))
        XCTAssertEqual(noneAtAll.row("null-syscall")?.swordfish, .absent("failed: no kernel"))
        XCTAssertEqual(noneAtAll.row("null-syscall")?.linux, .absent("failed: no image"))
        XCTAssertEqual(noneAtAll.problems, ["Swordfish guest: no kernel", "Linux guest: no image"])
    }

    func testRatioIsSwordfishOverLinuxForTimes() throws {
        let floor = try XCTUnwrap(report().row("cacheline-floor"))
        XCTAssertEqual(try XCTUnwrap(floor.ratio), 0.9, accuracy: 1e-9)
        let roundTrip = try XCTUnwrap(report().row("cross-core-roundtrip"))
        XCTAssertEqual(try XCTUnwrap(roundTrip.ratio), 0.02, accuracy: 1e-9)
    }

    func testRatioIsLinuxOverSwordfishForThroughput() throws {
        let swordfish = swordfishConsole.replacingOccurrences(
            of: "BENCH name=tcp-loopback-stream unsupported reason=not yet: no network stack",
            with: "BENCH name=tcp-loopback-stream unit=MB/s median=1000 p99=900 samples=7")
        let tcp = try XCTUnwrap(report(swordfish: swordfish).row("tcp-loopback-stream"))
        XCTAssertEqual(try XCTUnwrap(tcp.ratio), 0.5, accuracy: 1e-9)
    }

    func testMissingSidesSayWhyAndHaveNoRatio() throws {
        let rows = report()
        let syscall = try XCTUnwrap(rows.row("null-syscall"))
        XCTAssertEqual(syscall.swordfish, .absent("not yet: no user mode"), "the kernel's own reason")
        XCTAssertNil(syscall.ratio)
        XCTAssertEqual(rows.row("tcp-loopback-stream")?.swordfish, .absent("not yet: no network stack"))
        // Not printed at all: the catalogue's sentence.
        XCTAssertEqual(rows.row("mprotect-shared-page")?.swordfish, .absent("not yet: no protect operation on mappings"))
        XCTAssertEqual(rows.row("ipi-roundtrip")?.linux, .absent("no counterpart: inside the kernel"))
        XCTAssertNil(rows.row("ipi-roundtrip")?.ratio)
        let oneCPU = report(
            swordfish: "BENCH name=cross-core-roundtrip unsupported reason=one core\nBENCH done\n",
            linux: "BENCH name=cross-core-futex unsupported reason=one-cpu\nBENCH done\n")
        XCTAssertEqual(oneCPU.row("cross-core-futex")?.linux, .absent("unsupported: one-cpu"))
        XCTAssertEqual(oneCPU.row("cross-core-futex")?.swordfish, .absent("unsupported: one core"), "as its stand-in")
        XCTAssertEqual(oneCPU.row("cacheline-floor")?.swordfish, .absent("not measured by the kernel"))
        let noBenchMode = BenchReport(qemu: "q", swordfish: BenchSide(console: BenchConsole("swordfish> "), outcome: .notImplemented),
                                      linux: BenchSide(console: BenchConsole(linuxConsole), outcome: .finished))
        XCTAssertEqual(noBenchMode.row("cacheline-floor")?.swordfish, .absent("not yet: kernel has no bench mode"))
        XCTAssertEqual(noBenchMode.row("null-syscall")?.swordfish, .absent("not yet: kernel has no bench mode"))
        XCTAssertEqual(noBenchMode.problems, [])
    }

    func testUnitsThatDisagreeHaveNoRatio() {
        let rows = report(swordfish: "BENCH name=cacheline-floor unit=ns median=100\nBENCH done\n")
        XCTAssertNil(rows.row("cacheline-floor")?.ratio)
    }

    func testTheChannelStandsInForEachLinuxCrossCorePrimitive() throws {
        let futex = try XCTUnwrap(report().row("cross-core-futex"))
        XCTAssertEqual(futex.swordfish, .measured(BenchFigure(median: 1800, p99: 4000, samples: 10000, unit: "cycles"), standIn: "cross-core-roundtrip"))
        XCTAssertEqual(try XCTUnwrap(futex.ratio), 0.03, accuracy: 1e-9)
    }

    func testUnknownRowsAreKeptAfterTheCatalogue() {
        let rows = report(swordfish: swordfishConsole + "BENCH name=spawn unit=cycles median=5\n").rows
        XCTAssertEqual(rows.last?.name, "spawn")
        XCTAssertEqual(rows.last?.linux, .absent("not measured"))
    }

    func testHostRowsArePrefixedAndPlacedBySide() throws {
        let json = Data("""
            {"tsc_mhz": 3000, "cpus": [0, 1], "same_cpu": false, "rows": [
              {"name": "channel", "rounds": 1000, "median_cycles": 300, "p99_cycles": 500, "median_ns": 100},
              {"name": "cacheline-floor", "median_cycles": 200, "p99_cycles": 300, "median_ns": 66},
              {"name": "pipe", "median_cycles": 20000, "p99_cycles": 30000, "median_ns": 6666}
            ]}
            """.utf8)
        let host = try HostBenchmarkReport(json: json).rows.map(HostBenchRow.init)
        let rows = report(host: host).rows.filter(\.isHost)
        XCTAssertEqual(rows.map(\.name), ["host-channel", "host-cacheline-floor", "host-pipe"])
        XCTAssertEqual(rows[0].swordfish.figure, BenchFigure(median: 300, p99: 500, samples: 1000, unit: "cycles"))
        XCTAssertNotNil(rows[0].linux.absence)
        XCTAssertEqual(rows[2].linux.figure?.p99, 30000)
        XCTAssertNotNil(rows[2].swordfish.absence)
        XCTAssertTrue(rows.allSatisfy { $0.ratio == nil })
        XCTAssertTrue(report(host: host).table.contains("host-* rows"))
    }

    func testSharedOptionsDropOnlyWhatIsBooted() {
        let linux = QEMUConfiguration(kernel: "/cache/vmlinuz", cores: 4, kernelArguments: "console=ttyS0 quiet", initrd: "/cache/initramfs.cpio")
        let swordfish = QEMUConfiguration(kernel: "/k/kernel", cores: 4, kernelArguments: "bench")
        XCTAssertEqual(BenchReport.sharedOptions(of: linux.command), BenchReport.sharedOptions(of: swordfish.command))
        let shared = BenchReport.sharedOptions(of: linux.command).arguments
        XCTAssertFalse(shared.contains("-kernel") || shared.contains("-initrd") || shared.contains("-append"))
        XCTAssertTrue(shared.contains("isa-debug-exit,iobase=0xf4,iosize=0x04"))
    }

    // MARK: Outputs

    func testTableHasEveryRowAndTheRatio() {
        let table = report().table
        XCTAssertTrue(table.contains("QEMU       qemu-system-x86_64 -machine pc"))
        XCTAssertTrue(table.contains("TSC 2,993 MHz"))
        for operation in BenchOperation.catalogue {
            XCTAssertTrue(table.contains(operation.name), operation.name)
        }
        let floor = table.lines.first { $0.hasPrefix("cacheline-floor ") } ?? ""
        XCTAssertTrue(floor.hasSuffix("0.90"), floor)
        XCTAssertTrue(table.contains("not measured by the kernel"))
    }

    func testNumbersAreGrouped() {
        XCTAssertEqual(BenchReport.number(1234567), "1,234,567")
        XCTAssertEqual(BenchReport.number(999), "999")
        XCTAssertEqual(BenchReport.number(2.5), "2.50")
        XCTAssertEqual(BenchReport.ratioText(0.0421), "0.042")
        XCTAssertEqual(BenchReport.ratioText(12.34), "12.3")
    }

    func testJSONHasNumbersOrNullAndParses() throws {
        let text = report().json
        let data = Data(text.utf8)
        XCTAssertEqual(BenchReport.problems(inJSON: data), [])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["tsc_mhz"] as? Double, 2993)
        XCTAssertEqual(object["qemu"] as? String, "qemu-system-x86_64 -machine pc -cpu max -smp 2 -m 512M -accel tcg,thread=multi")
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        let syscall = try XCTUnwrap(rows.first { $0["name"] as? String == "null-syscall" })
        XCTAssertTrue(syscall["swordfish"] is NSNull)
        XCTAssertEqual(syscall["linux"] as? Double, 1200)
        XCTAssertTrue(syscall["ratio"] is NSNull)
        XCTAssertEqual(syscall["swordfish_note"] as? String, "not yet: no user mode")
        let floor = try XCTUnwrap(rows.first { $0["name"] as? String == "cacheline-floor" })
        XCTAssertEqual(floor["ratio"] as? Double, 0.9)
        XCTAssertTrue(text.contains("\"unit\":\"MB/s\""))
        XCTAssertTrue(text.contains("\"linux\":1200,"), "integers print without a fraction")
    }

    func testJSONNumbers() {
        XCTAssertEqual(BenchJSON.number(1234).text, "1234")
        XCTAssertEqual(BenchJSON.number(0.5).text, "0.5")
        XCTAssertEqual(BenchJSON.number(.nan).text, "null")
        XCTAssertEqual(BenchReport.significant(0.0016123), 0.001612, accuracy: 1e-12)
        XCTAssertEqual(BenchReport.significant(4.54545), 4.545, accuracy: 1e-12)
        XCTAssertEqual(BenchJSON.string("a\"b\\c\n").text, #""a\"b\\c\n""#)
    }

    func testJSONOfAReportWithNothingMeasuredIsStillWellFormed() {
        let empty = BenchReport(qemu: "q \"quoted\"\\", swordfish: .missing("x"), linux: .missing("y"))
        XCTAssertEqual(BenchReport.problems(inJSON: Data(empty.json.utf8)), [])
    }

    func testJSONCheckFindsMissingRowsAndBadValues() {
        let json = Data(#"{"qemu": "q", "tsc_mhz": null, "rows": [{"name": "null-syscall", "unit": "cycles", "swordfish": "fast", "linux": 3, "ratio": null}]}"#.utf8)
        let problems = BenchReport.problems(inJSON: json)
        XCTAssertTrue(problems.contains("null-syscall: swordfish is not a number or null"))
        XCTAssertTrue(problems.contains("no row cacheline-floor"))
        XCTAssertEqual(BenchReport.problems(inJSON: Data("[]".utf8)), ["not a JSON object"])
    }

    func testSVGIsWellFormedAndHasBothColumns() throws {
        var report = self.report(host: [HostBenchRow(name: "channel", medianCycles: 250)])
        report.qemu += #" -name a&b <c>"'"#
        let svg = report.svg
        let data = Data(svg.utf8)
        XCTAssertEqual(BenchReport.problems(inSVG: data), [])

        final class Collector: NSObject, XMLParserDelegate {
            var elements: [String] = []
            var texts: [String] = []
            var fills: [String] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                        qualifiedName: String?, attributes: [String: String] = [:]) {
                elements.append(name)
                if name == "rect", let fill = attributes["fill"] { fills.append(fill) }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }
        }
        let collector = Collector()
        let parser = XMLParser(data: data)
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "\(String(describing: parser.parserError))")
        XCTAssertEqual(collector.elements.first, "svg")
        XCTAssertTrue(collector.fills.contains(BenchChart.swordfishColour))
        XCTAssertTrue(collector.fills.contains(BenchChart.linuxColour))
        let text = collector.texts.joined()
        XCTAssertTrue(text.contains("cycles (log scale)"))
        XCTAssertTrue(text.contains("MB/s (log scale)"))
        XCTAssertTrue(text.contains("Swordfish: not measured by the kernel"))
        XCTAssertTrue(text.contains("host-channel"))
        XCTAssertTrue(text.contains("a&b") && text.contains("<c>\"'"))
    }

    func testSVGCheckRejectsBrokenXML() {
        XCTAssertFalse(BenchReport.problems(inSVG: Data("<svg><rect></svg>".utf8)).isEmpty)
        XCTAssertFalse(BenchReport.problems(inSVG: Data("<html/>".utf8)).isEmpty)
    }

    func testAxisCoversEveryValueInWholeDecades() {
        XCTAssertEqual(BenchChart.axis(for: [360, 90000]).low, 2)
        XCTAssertEqual(BenchChart.axis(for: [360, 90000]).high, 5)
        XCTAssertEqual(BenchChart.axis(for: [500, 500]).high, 3)
        XCTAssertEqual(BenchChart.decade(4), "10k")
        XCTAssertEqual(BenchChart.decade(6), "1M")
    }
}
