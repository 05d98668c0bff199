import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The counts in an xUnit XML report, as `swift test --xunit-output` writes it: one
/// `<testcase>` per test, holding a `<failure>` (or `<error>`) when it failed and a
/// `<skipped>` when it did not run.
public struct XUnitReport: Equatable, Sendable {
    public var counts: TestCounts
    public var skipped: Int
    /// `Class.test` for each failed test case, in report order.
    public var failedTests: [String]

    /// Nil when the data is not well-formed XML.
    public init?(data: Data) {
        let reader = Reader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        // A truncated file can parse without error; it is whole only if its root closed.
        guard parser.parse(), reader.sawRoot, reader.depth == 0 else { return nil }
        counts = TestCounts(passed: reader.passed, failed: reader.failedTests.count)
        skipped = reader.skipped
        failedTests = reader.failedTests
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var passed = 0
        var skipped = 0
        var failedTests: [String] = []
        var depth = 0
        var sawRoot = false
        private var current: (name: String, failed: Bool, skipped: Bool)?

        func parser(
            _ parser: XMLParser, didStartElement element: String, namespaceURI: String?,
            qualifiedName: String?, attributes: [String: String] = [:]
        ) {
            depth += 1
            sawRoot = true
            switch element {
            case "testcase":
                let name = [attributes["classname"], attributes["name"]].compactMap { $0 }.joined(separator: ".")
                current = (name, false, false)
            case "failure", "error":
                current?.failed = true
            case "skipped":
                current?.skipped = true
            default:
                break
            }
        }

        func parser(
            _ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?
        ) {
            depth -= 1
            guard element == "testcase", let test = current else { return }
            current = nil
            if test.failed {
                failedTests.append(test.name)
            } else if test.skipped {
                skipped += 1
            } else {
                passed += 1
            }
        }
    }
}
