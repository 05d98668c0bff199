import Foundation
import XCTest
@testable import SwordfishTool

final class XUnitReportTests: XCTestCase {
    func testCountsPassedFailedAndSkippedCases() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites>
            <testsuite name="TestResults" errors="0" tests="5" failures="2" time="0.01">
            <testcase classname="BasicsTests.ByteReaderTests" name="testLoads" time="0.001">
            </testcase>
            <testcase classname="BasicsTests.ByteReaderTests" name="testChecksum" time="0.001">
            <failure message="failed"></failure>
            </testcase>
            <testcase classname="ChannelTests.RingTests" name="testWrap" time="0.002">
            <error message="crashed" />
            </testcase>
            <testcase classname="ChannelTests.RingTests" name="testOrder" time="0.002" />
            <testcase classname="ChannelTests.RingTests" name="testLater" time="0">
            <skipped message="not yet"/>
            </testcase>
            </testsuite>
            </testsuites>
            """
        let report = try XCTUnwrap(XUnitReport(data: Data(xml.utf8)))
        XCTAssertEqual(report.counts, TestCounts(passed: 2, failed: 2))
        XCTAssertEqual(report.skipped, 1)
        XCTAssertEqual(report.failedTests, ["BasicsTests.ByteReaderTests.testChecksum", "ChannelTests.RingTests.testWrap"])
    }

    func testAnEmptyReport() throws {
        let xml = #"<?xml version="1.0" encoding="UTF-8"?><testsuites></testsuites>"#
        XCTAssertEqual(try XCTUnwrap(XUnitReport(data: Data(xml.utf8))).counts, TestCounts())
    }

    func testMalformedXMLIsNoReport() {
        XCTAssertNil(XUnitReport(data: Data("<testsuites><testcase name='a'>".utf8)))
        XCTAssertNil(XUnitReport(data: Data()))
    }

    func testSwiftTestingReportLivesBesideTheXCTestOne() {
        XCTAssertEqual(TestRunner.xunitFiles(for: "/r/logs/host-Core.xml"), ["/r/logs/host-Core.xml", "/r/logs/host-Core-swift-testing.xml"])
    }
}
