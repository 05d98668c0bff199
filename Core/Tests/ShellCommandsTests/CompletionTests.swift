import XCTest
@testable import ShellCommands

final class ShellCompletionTests: XCTestCase {
    let programs = ["hello", "threads"].map { Array($0.utf8) }

    func words(_ text: String) -> [[UInt8]] { text.split(separator: " ").map { Array($0.utf8) } }

    func testEveryNameIsACommand() {
        let names = ShellCommand.names.map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(names, ["help", "cores", "mem", "ipi", "uptime", "panic", "skb", "multicast", "trace", "bench",
                               "domains", "run", "oncore", "ps", "names", "lspci", "net", "httpd", "spawn", "kill", "fuzz", "halt"])
        for name in ShellCommand.names {
            if case .unknown = ShellCommand(parsing: name) { XCTFail("\(String(decoding: name, as: UTF8.self)) is no command") }
        }
    }

    func testWhatMayFollow() {
        XCTAssertEqual(ShellCommand.completions(after: [], programs: programs), ShellCommand.names)
        XCTAssertEqual(ShellCommand.completions(after: words("run"), programs: programs), programs)
        XCTAssertEqual(ShellCommand.completions(after: words("oncore 1"), programs: programs), programs)
        XCTAssertEqual(ShellCommand.completions(after: words("oncore x"), programs: programs), [])
        XCTAssertEqual(ShellCommand.completions(after: words("oncore"), programs: programs), [])
        XCTAssertEqual(ShellCommand.completions(after: words("run hello"), programs: programs), [])
        XCTAssertEqual(ShellCommand.completions(after: words("skb"), programs: programs), [Array("tree".utf8)])
        XCTAssertEqual(ShellCommand.completions(after: words("bench"), programs: programs), [Array("channel".utf8)])
        XCTAssertEqual(ShellCommand.completions(after: words("trace"), programs: programs), [Array("on".utf8), Array("off".utf8)])
        XCTAssertEqual(ShellCommand.completions(after: words("cores"), programs: programs), [])
    }
}
