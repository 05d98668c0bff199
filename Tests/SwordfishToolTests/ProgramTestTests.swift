import XCTest
@testable import SwordfishTool

final class ProgramTestTests: XCTestCase {
    func testAFileParsesIntoLinesWithTheirExpectations() throws {
        let text = "# comment\n\nrun pingpong 10\nexpect 10 messages\n  oncore 1 pingpong 2\n"
        XCTAssertEqual(try ProgramTest.parse(text, program: "pingpong"), [
            ProgramTest(program: "pingpong", line: "run pingpong 10", expected: ["10 messages"]),
            ProgramTest(program: "pingpong", line: "oncore 1 pingpong 2"),
        ])
        XCTAssertEqual(ProgramTest(program: "x", line: "oncore 1 pingpong 2").runs, "pingpong")
    }

    func testNonsenseIsRefused() {
        XCTAssertThrowsError(try ProgramTest.parse("expect something\n", program: "a"))
        XCTAssertThrowsError(try ProgramTest.parse("halt\n", program: "a"))
        XCTAssertThrowsError(try ProgramTest.parse("run\n", program: "a"))
    }

    func testOnlyAnExitWithZeroAndEveryExpectedTextPass() {
        let test = ProgramTest(program: "p", line: "run p", expected: ["done"])
        XCTAssertEqual(test.problems(in: "done\ndomain p (3) on core 0 exited with status 0\n"), [])
        XCTAssertEqual(test.problems(in: "domain p (3) on core 0 exited with status 0\n"), ["output lacks 'done'"])
        XCTAssertEqual(test.problems(in: "done\ndomain p (3) on core 0 exited with status 1\n"), ["domain p (3) on core 0 exited with status 1"])
        XCTAssertEqual(test.problems(in: "done\ndomain p (3) on core 1 stopped: page fault (#PF)\n").count, 1)
        XCTAssertEqual(test.problems(in: "done\ndomain other (3) on core 0 exited with status 0\n"), ["no line saying how p ended"])
        // Another domain of the same program, on another core, is not this one.
        XCTAssertEqual(test.problems(in: "done\ndomain p (4) on core 1 stopped: killed\ndomain p (3) on core 0 exited with status 0\n"), [])
        // One it started on its own core ends first; the program's own end is the last.
        XCTAssertEqual(test.problems(in: "done\ndomain p (4) on core 0 stopped: killed\ndomain p (3) on core 0 exited with status 0\n"), [])
        XCTAssertEqual(test.problems(in: "done\ndomain p (4) on core 0 exited with status 0\ndomain p (3) on core 0 exited with status 1\n"),
                       ["domain p (3) on core 0 exited with status 1"])
        XCTAssertEqual(ProgramTest(program: "p", line: "oncore 3 p").core, 3)
    }

    func testTheConsoleIsSplitAtEachTypedLine() {
        let tests = [ProgramTest(program: "a", line: "run a"), ProgramTest(program: "b", line: "run b"), ProgramTest(program: "c", line: "run c")]
        let console = "boot\nswordfish> run a\nA\nswordfish> run b\nB\nswordfish> halt\n"
        XCTAssertEqual(ProgramTests.outputs(of: console, for: tests), ["\nA\n", "\nB\n", nil])
    }

    func testARedrawnLineDoesNotEndItsOutput() {
        let tests = [ProgramTest(program: "a", line: "run a"), ProgramTest(program: "b", line: "run b")]
        // An earlier program's line arrives while `run b` waits: the shell draws it again.
        let console = "swordfish> run a\nA\nswordfish> run b\nlate\nswordfish> run b\nB\nswordfish> halt\n"
        XCTAssertEqual(ProgramTests.outputs(of: console, for: tests), ["\nA\n", "\nlate\n\nB\n"])
    }
}
