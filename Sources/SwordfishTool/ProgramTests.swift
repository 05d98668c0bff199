import Foundation

/// Tests that user programs declare for themselves: a program folder in `User/Sources`
/// may hold a `guest-tests` file, one shell line per test, each of which must end with
/// the program exiting with status 0 (lines starting with `expect ` add text its output
/// must contain; `#` starts a comment):
///
///     # pingpong: two threads on one core
///     run pingpong 100
///     expect 100 round trips
///     oncore 1 pingpong 10
///
/// `swordfish test` boots the shell on two cores once, types every line into it as a
/// user would, and reads each program's end from the console
/// (`domain <name> (<id>) on core <n> exited with status <s>`).
public struct ProgramTest: Equatable, Sendable {
    /// The folder (program) that declared it.
    public var program: String
    /// The shell line, as typed.
    public var line: String
    /// Texts the output between this line and the next prompt must contain.
    public var expected: [String] = []

    public init(program: String, line: String, expected: [String] = []) {
        self.program = program
        self.line = line
        self.expected = expected
    }

    /// The program the line runs: the word after `run`, or after `oncore <core>`.
    public var runs: String? {
        let words = line.split(separator: " ").map(String.init)
        if words.first == "run", words.count >= 2 { return words[1] }
        if words.first == "oncore", words.count >= 3 { return words[2] }
        return nil
    }

    /// The core it runs on: 0 for `run`, the named one for `oncore`.
    public var core: Int {
        let words = line.split(separator: " ")
        return words.first == "oncore" && words.count >= 2 ? Int(words[1]) ?? 0 : 0
    }

    /// Parses one `guest-tests` file.
    public static func parse(_ text: String, program: String) throws(ToolError) -> [ProgramTest] {
        var tests: [ProgramTest] = []
        for raw in text.lines {
            let line = raw.trimmingLeadingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("expect ") {
                guard !tests.isEmpty else { throw .invalidGuestTests("\(program)/guest-tests: 'expect' before any command") }
                tests[tests.count - 1].expected.append(String(line.dropFirst(7)))
                continue
            }
            let test = ProgramTest(program: program, line: line)
            guard test.runs != nil else {
                throw .invalidGuestTests("\(program)/guest-tests: '\(line)' is not a run or oncore line")
            }
            tests.append(test)
        }
        return tests
    }

    /// What is wrong with this test's part of the console, empty if it passed. `output`
    /// is what the shell printed after the line was typed, up to the next prompt.
    public func problems(in output: String) -> [String] {
        var problems: [String] = []
        let program = runs ?? ""
        // Its own end, on its core: the last such line before the prompt, which comes
        // back when it ends (a domain of the same program, elsewhere or one it started
        // on its own core, may end before it).
        let end = output.lines.last {
            $0.hasPrefix("domain \(program) (") && ($0.contains(" on core \(core) exited with status ") || $0.contains(" on core \(core) stopped: "))
        }
        if let end {
            if !end.hasSuffix(" exited with status 0") { problems.append(String(end.drop { $0 == " " })) }
        } else {
            problems.append("no line saying how \(program) ended")
        }
        for text in expected where !output.contains(text) {
            problems.append("output lacks '\(text)'")
        }
        return problems
    }
}

/// Runs every program's declared tests in one boot; prints `programs: N passed, M
/// failed` and a `FAIL programs: …` line per failure.
public enum ProgramTests {
    static let prompt = "swordfish> "

    /// Every `guest-tests` file under `User/Sources`, in program order.
    public static func declared(in repository: Repository) throws(ToolError) -> [ProgramTest] {
        var tests: [ProgramTest] = []
        for program in UserPrograms(repository: repository).names {
            let path = "\(repository.root)/User/Sources/\(program)/guest-tests"
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            tests += try ProgramTest.parse(String(decoding: data, as: UTF8.self), program: program)
        }
        return tests
    }

    /// The console split at each typed line: what followed `line`'s echo up to the next
    /// prompt, by test. Output of an earlier program that arrives while a line waits
    /// makes the shell draw the prompt and the line again; such a redraw does not end
    /// the line's output.
    static func outputs(of console: String, for tests: [ProgramTest]) -> [String?] {
        var rest = Substring(console)
        return tests.map { test in
            let echo = prompt + test.line
            guard let first = rest.range(of: echo) else { return nil }
            rest = rest[first.upperBound...]
            var output = ""
            while true {
                let end = rest.range(of: prompt)?.lowerBound ?? rest.endIndex
                output += rest[..<end]
                rest = rest[end...]
                guard rest.hasPrefix(echo + "\n") else { return output }
                rest = rest.dropFirst(echo.count)
            }
        }
    }

    public static func run(repository: Repository, kernel: String, accelerator: Accelerator, timeout: Duration = .seconds(120)) -> TestCounts {
        let tests: [ProgramTest]
        do { tests = try declared(in: repository) } catch {
            TestRunner.report("FAIL programs: \(error)")
            return TestCounts(failed: 1)
        }
        guard !tests.isEmpty else { return TestCounts() }
        let input = tests.map { $0.line + "\n" }.joined() + "halt\n"
        let transcript = ShellTranscriptTest(suite: "programs", log: "programs", input: Array(input.utf8)) { console, _ in
            zip(tests, outputs(of: console, for: tests)).map { test, output in
                ("\(test.program): '\(test.line)'", output.map(test.problems(in:)) ?? ["the shell never took the line"])
            }
        }
        return transcript.run(repository: repository, kernel: kernel, accelerator: accelerator, timeout: timeout)
    }
}
