import XCTest
@testable import ShellCommands

final class ShellCommandTests: XCTestCase {
    func parse(_ text: String) -> ShellCommand { ShellCommand(parsing: Array(text.utf8)) }

    func testEveryCommand() {
        XCTAssertEqual(parse("help"), .help)
        XCTAssertEqual(parse("cores"), .cores)
        XCTAssertEqual(parse("mem"), .memory)
        XCTAssertEqual(parse("uptime"), .uptime)
        XCTAssertEqual(parse("domains"), .domains)
        XCTAssertEqual(parse("oncore 3 threads  preempt"), .runOnCore(core: 3, line: Array("threads preempt".utf8)))
        XCTAssertEqual(parse("oncore 1 hello"), .runOnCore(core: 1, line: Array("hello".utf8)))
        XCTAssertEqual(parse("oncore 1"), .usage("usage: oncore <core> <program> [args]"))
        XCTAssertEqual(parse("oncore x hello"), .usage("usage: oncore <core> <program> [args]"))
        XCTAssertEqual(parse("domains all"), .usage("usage: domains"))
        XCTAssertEqual(parse("halt"), .halt)
        XCTAssertEqual(parse("ipi 3"), .interprocessorInterrupt(core: 3))
        XCTAssertEqual(parse("  ipi\t12  "), .interprocessorInterrupt(core: 12))
        XCTAssertEqual(parse("panic"), .panic(core: nil))
        XCTAssertEqual(parse("panic 1"), .panic(core: 1))
        XCTAssertEqual(parse("skb"), .knowledge)
        XCTAssertEqual(parse("skb tree"), .knowledgeTree)
        XCTAssertEqual(parse("multicast"), .multicast)
        XCTAssertEqual(parse("trace on"), .trace(on: true))
        XCTAssertEqual(parse("trace off"), .trace(on: false))
        XCTAssertEqual(parse("trace"), .usage("usage: trace on|off"))
        XCTAssertEqual(parse("trace maybe"), .usage("usage: trace on|off"))
        XCTAssertEqual(parse("bench channel"), .benchChannel(from: 0, to: 1))
        XCTAssertEqual(parse("bench channel 2 5"), .benchChannel(from: 2, to: 5))
        XCTAssertEqual(parse("run hello"), .run(program: Array("hello".utf8), arguments: []))
        XCTAssertEqual(parse("run  probe   kernel-read  x"), .run(program: Array("probe".utf8), arguments: Array("kernel-read x".utf8)))
        // The monitors' services run the names program on core 0.
        let names = Array("names".utf8)
        XCTAssertEqual(parse("ps"), .run(program: names, arguments: Array("ps".utf8)))
        XCTAssertEqual(parse("lspci"), .run(program: Array("pci".utf8), arguments: Array("list".utf8)))
        XCTAssertEqual(parse("lspci -v"), .usage("usage: lspci"))
        XCTAssertEqual(parse("net"), .run(program: Array("netd".utf8), arguments: Array("status".utf8)))
        XCTAssertEqual(parse("net up"), .usage("usage: net"))
        XCTAssertEqual(parse("httpd"), .run(program: Array("httpd".utf8), arguments: Array("start".utf8)))
        XCTAssertEqual(parse("httpd 1"), .run(program: Array("httpd".utf8), arguments: Array("start 1".utf8)))
        XCTAssertEqual(parse("httpd x"), .usage("usage: httpd [core]"))
        XCTAssertEqual(parse("httpd 1 2"), .usage("usage: httpd [core]"))
        XCTAssertEqual(parse("names"), .run(program: names, arguments: Array("list".utf8)))
        XCTAssertEqual(parse("spawn 1  hello  a b"), .run(program: names, arguments: Array("spawn 1 hello a b".utf8)))
        XCTAssertEqual(parse("kill 1.5"), .run(program: names, arguments: Array("kill 1.5".utf8)))
        XCTAssertEqual(parse("spawn x hello"), .usage("usage: spawn <core> <program> [args]"))
        XCTAssertEqual(parse("kill"), .usage("usage: kill <core>.<domain>"))
        XCTAssertEqual(parse("ps x"), .usage("usage: ps"))
        XCTAssertEqual(parse("fuzz 3 100000"), .fuzz(seed: 3, count: 100_000))
        XCTAssertEqual(parse(""), .empty)
        XCTAssertEqual(parse("   "), .empty)
    }

    func testBadInputGetsAComplaint() {
        XCTAssertEqual(parse("frobnicate now"), .unknown(Array("frobnicate".utf8)))
        if case .usage = parse("ipi") {} else { XCTFail("ipi without a core") }
        if case .usage = parse("ipi x") {} else { XCTFail("ipi with a word") }
        if case .usage = parse("ipi -1") {} else { XCTFail("negative core") }
        if case .usage = parse("ipi 99999999999999999999") {} else { XCTFail("huge core") }
        if case .usage = parse("panic 1 2") {} else { XCTFail("two arguments") }
        if case .usage = parse("cores now") {} else { XCTFail("extra argument") }
        if case .usage = parse("skb forest") {} else { XCTFail("skb with a bad word") }
        if case .usage = parse("bench channel 1") {} else { XCTFail("bench with one core") }
        if case .usage = parse("bench disk") {} else { XCTFail("unknown benchmark") }
        if case .usage = parse("run") {} else { XCTFail("run without a program") }
        if case .usage = parse("fuzz 3") {} else { XCTFail("fuzz without a count") }
    }

    func testRandomBytesGetTheirFirstWordBack() {
        var seed: UInt64 = 0x5EED
        var unknown = 0
        for _ in 0..<5_000 {
            var line: [UInt8] = []
            for _ in 0..<Int(seed % 24) {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                line.append(UInt8(truncatingIfNeeded: seed >> 33))
            }
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            // Random bytes name no command (but one byte, "?", might): the line comes back
            // as empty or as its first word, split at spaces and tabs.
            let words = line.split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }.map(Array.init)
            switch ShellCommand(parsing: line) {
            case .empty:
                XCTAssertEqual(words, [], "\(line)")
            case .unknown(let word):
                unknown += 1
                XCTAssertEqual(word, words.first, "\(line)")
            case let command:
                XCTAssertEqual(words.first, Array("?".utf8), "\(line) gave \(command)")
            }
        }
        XCTAssertGreaterThan(unknown, 4_000)
    }
}
