import XCTest
@testable import SwordfishTool

final class ConsoleSessionTests: XCTestCase {
    func testATimeoutEndsWithItsOwnStatusAndSaysSo() {
        let ending = ConsoleSession.ending(stoppedBecause: .timedOut(.seconds(30)), qemuStatus: 143, consoleBytes: 100)
        XCTAssertEqual(ending.status, 124)
        XCTAssertEqual(ending.note, "stopped QEMU after 30 s (--timeout)")
    }

    func testOtherEndings() {
        XCTAssertEqual(ConsoleSession.ending(stoppedBecause: .userQuit, qemuStatus: 143, consoleBytes: 1).status, 0)
        XCTAssertEqual(ConsoleSession.ending(stoppedBecause: .panicOnBootCore, qemuStatus: 143, consoleBytes: 1).status, 1)
        let halted = ConsoleSession.ending(stoppedBecause: nil, qemuStatus: 1, consoleBytes: 1)
        XCTAssertEqual(halted.status, 0)
        XCTAssertNil(halted.note)
        XCTAssertEqual(ConsoleSession.ending(stoppedBecause: nil, qemuStatus: 1, consoleBytes: 0).status, 1, "QEMU's own failure")
        XCTAssertEqual(ConsoleSession.ending(stoppedBecause: nil, qemuStatus: 3, consoleBytes: 1).status, 1)
        let tripleFault = ConsoleSession.ending(stoppedBecause: nil, qemuStatus: 0, consoleBytes: 1)
        XCTAssertEqual(tripleFault.status, 1)
        XCTAssertEqual(tripleFault.note, "QEMU exited with status 0 without the guest writing to isa-debug-exit")
    }
}

final class PipedInputTests: XCTestCase {
    private func pieces(_ chunks: [String]) -> [PipedInput.Piece] {
        var input = PipedInput()
        return chunks.flatMap { input.consume(Array($0.utf8)) } + input.finish()
    }

    func testLinesWaitAndACtrlCStartingALineGoesAlone() {
        XCTAssertEqual(pieces(["run init\n\u{3}halt\n"]), [
            .line(Array("run init\n".utf8)), .interrupt, .line(Array("halt\n".utf8)),
        ])
        XCTAssertEqual(pieces(["\u{3}\u{3}\n"]), [.interrupt, .interrupt, .line([0x0A])])
    }

    func testACtrlCInsideALineStaysInIt() {
        XCTAssertEqual(pieces(["ab\u{3}c\n"]), [.line([0x61, 0x62, 0x03, 0x63, 0x0A])])
    }

    func testLinesSpanChunksAndTheLastNeedsNoNewline() {
        XCTAssertEqual(pieces(["co", "res\nha", "lt"]), [.line(Array("cores\n".utf8)), .line(Array("halt".utf8))])
        XCTAssertEqual(pieces(["cores\n", "\u{3}"]), [.line(Array("cores\n".utf8)), .interrupt])
        XCTAssertEqual(pieces([]), [])
    }
}
