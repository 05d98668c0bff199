import XCTest
import CoreTestSupport
import PCI
@testable import DeviceManagement

/// The MSI-X requests and answer: round trips, and anything else refused or not read.
final class MSIXMessagesTests: XCTestCase {
    func testRequestsRoundTrip() throws {
        for request: DeviceRequest in [.msix(function: 0), .msix(function: 4000), .setMSIX(function: 4, enabled: true),
                                       .setMSIX(function: 4, enabled: false)] {
            XCTAssertEqual(try DeviceRequest(words: request.words), request)
        }
    }

    func testMalformedMSIXRequestsAreRefused() {
        let garbage: [[UInt64]] = [
            [6, 0, 1], [6, 1 << 16, 0], [6 | 1 << 8, 0, 0], [6 | 1 << 16, 0, 0], [6, UInt64.max, 0],
            [7, 0, 2], [7, 0, UInt64.max], [7, 1 << 16, 1], [7 | 2 << 8, 0, 1], [7 | 1 << 20, 0, 0],
            [6], [7, 0], [5, 0, 0], [8, 0, 0],
        ]
        for words in garbage {
            XCTAssertThrowsError(try DeviceRequest(words: words), "\(words)") { error in
                XCTAssertEqual(error as? DeviceManagerRefusal, .malformed)
            }
        }
    }

    func testTheSummaryRoundTrips() {
        let capabilities = [MSIXCapability(offset: 0, tableSize: 3, tableBAR: 1, tableOffset: 0, pendingBAR: 1, pendingOffset: 0x800),
                            MSIXCapability(offset: 0, tableSize: 2048, tableBAR: 5, tableOffset: 0xFFFF_FFF8, pendingBAR: 0, pendingOffset: 8),
                            MSIXCapability(offset: 0, tableSize: 1, tableBAR: 0, tableOffset: 0x2000, pendingBAR: 4, pendingOffset: 0x3000)]
        for capability in capabilities {
            for enabled in [false, true] {
                let summary = MSIXSummary(capability: capability, isEnabled: enabled)
                XCTAssertEqual(MSIXSummary(words: summary.words), summary)
            }
        }
        XCTAssertEqual(DeviceManagerRefusal(rawValue: 9), .noMSIX)
        XCTAssertEqual(answerStatus(refusalWords(.noMSIX)).refusal, .noMSIX)
        XCTAssertEqual(answerStatus(refusalWords(.deviceRefused)).refusal, .deviceRefused)
    }

    func testGarbledSummariesAreNotRead() {
        let good = MSIXSummary(capability: MSIXCapability(offset: 0, tableSize: 3, tableBAR: 1, tableOffset: 0, pendingBAR: 1, pendingOffset: 0x800),
                               isEnabled: true).words
        var cases: [[UInt64]] = [refusalWords(.noMSIX), DMAMemorySummary(physicalBase: 0, pages: 1).words, Array(good.prefix(2))]
        var badBAR = good; badBAR[0] |= 6 << 16; cases.append(badBAR)
        var badPending = good; badPending[0] |= 7 << 24; cases.append(badPending)
        var tooBig = good; tooBig[0] |= 2048 << 32; cases.append(tooBig)
        var stray = good; stray[0] |= 1 << 50; cases.append(stray)
        var unaligned = good; unaligned[1] = 4; cases.append(unaligned)
        var wide = good; wide[2] = 1 << 32; cases.append(wide)
        for words in cases { XCTAssertNil(MSIXSummary(words: words), "\(words)") }
    }

    func testRandomWordsNeverDecodeToSomethingElse() {
        var random = SeededGenerator(seed: 0x115)
        var decoded = 0
        for _ in 0..<100_000 {
            var words = [random.next(), random.next(), random.next()]
            if random.chance(50) { words[0] = words[0] & 0x1_07FF_0505_FF00 | 5 << 8; words[1] &= 0xFFF8; words[2] &= 0xFFF8 }
            guard let summary = MSIXSummary(words: words) else { continue }
            decoded += 1
            XCTAssertEqual(summary.words, words)
        }
        XCTAssertGreaterThan(decoded, 100)
    }
}
