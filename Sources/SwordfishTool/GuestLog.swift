import GuestChecks

/// One guest test boot: how many cores and how much memory QEMU gives the guest.
public struct GuestConfiguration: Hashable, Sendable, CustomStringConvertible {
    public var cores: Int
    public var memory: MemorySize
    /// A core the kernel is told not to start (`skip-core=N`), to show that a core that
    /// never answers is reported by name and the boot goes on without it.
    public var unstartedCore: Int?
    /// NUMA nodes QEMU gives the machine (0: none).
    public var numaNodes: Int

    public init(cores: Int, memory: MemorySize, unstartedCore: Int? = nil, numaNodes: Int = 0) {
        self.cores = cores
        self.memory = memory
        self.unstartedCore = unstartedCore
        self.numaNodes = numaNodes
    }

    /// The kernel command line for a test boot.
    public var kernelArguments: String {
        "test" + (unstartedCore.map { " skip-core=\($0)" } ?? "")
    }

    /// Parses `CORES:SIZE[:NODES]`, such as `4:1G` or `4:4G:2` (two NUMA nodes).
    public init(parsing text: String) throws(ToolError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, let cores = Int(parts[0]), (1...255).contains(cores) else {
            throw .invalidConfiguration(text)
        }
        let memory = try MemorySize(parsing: String(parts[1]))
        var nodes = 0
        if parts.count == 3 {
            guard let count = Int(parts[2]), (1...cores).contains(count), memory.mebibytes % UInt64(count) == 0 else {
                throw .invalidConfiguration(text)
            }
            nodes = count
        }
        self.init(cores: cores, memory: memory, numaNodes: nodes)
    }

    /// Every check declared in `GuestChecks` that a boot of this configuration must
    /// report, by core (the kernel prints them from the same declaration).
    public var expectedChecks: [ExpectedCheck] {
        (0..<cores).flatMap { core in
            GuestCheck.allCases.compactMap { check in
                let runs = check.expectedRuns(onCore: core, cores: cores, skippedCore: unstartedCore)
                return runs > 0 ? ExpectedCheck(core: core, name: "\(check.name)", runs: runs) : nil
            }
        }
    }

    /// `4c-1G`: names the configuration in reports and its log file.
    public var description: String {
        "\(cores)c-\(memory)" + (unstartedCore.map { "-skip\($0)" } ?? "") + (numaNodes > 0 ? "-numa\(numaNodes)" : "")
    }

    /// The default guest suite: every core count that has broken something somewhere
    /// (one core, an odd count, more cores than the host has), with memory from QEMU's
    /// small end to past the 32-bit hole.
    /// The four-core machine past the 32-bit hole has two NUMA nodes (an SRAT), so the
    /// NUMA-aware memory plan and multicast tree run in every suite.
    public static let standardSet: [GuestConfiguration] = [
        (1, 128), (2, 1024), (3, 512), (8, 1024), (8, 128),
    ].map { GuestConfiguration(cores: $0.0, memory: MemorySize(mebibytes: $0.1)!) }
        + [GuestConfiguration(cores: 4, memory: MemorySize(mebibytes: 4096)!, numaNodes: 2),
           GuestConfiguration(cores: 4, memory: MemorySize(mebibytes: 256)!, unstartedCore: 2)]
}

/// A check a test boot must report: on which core, by which name, how many times.
public struct ExpectedCheck: Hashable, Sendable {
    public var core: Int
    public var name: String
    public var runs: Int

    public init(core: Int, name: String, runs: Int = 1) {
        self.core = core
        self.name = name
        self.runs = runs
    }
}

/// One `PASS core N: …` or `FAIL core N: …` line.
public struct CheckReport: Hashable, Sendable {
    public var core: Int
    /// The rest of the line: the check's name, and for a failure `: reason`.
    public var text: String
    public var passed: Bool

    /// Whether this line reports the check called `name`.
    public func reports(_ name: String) -> Bool {
        passed ? text == name : text == name || text.hasPrefix(name + ": ")
    }
}

/// What the guest printed on its serial console during a test boot.
///
/// The lines it understands, each alone on its line (trailing `\r` and leading blanks
/// ignored):
///
///     core <id> up (apic <apic-id>)        once per core, ids 0..<cores
///     PASS <name>                          (`PASS core <id>: <name>` for a declared check)
///     FAIL <name>: <reason>
///     PANIC …                              see `PanicReport`
///     FAULT …                              see `UserFaultReport`
///     <N> passed, <M> failed               the guest's final verdict
public struct GuestConsoleLog: Equatable, Sendable {
    /// Core id → APIC id, for each `core … up` line.
    public var coresUp: [Int: Int] = [:]
    public var passedTests: [String] = []
    public var failedTests: [String] = []
    /// The PASS and FAIL lines that name a core.
    public var checkReports: [CheckReport] = []
    /// The last `N passed, M failed` line.
    public var summary: TestCounts?
    public var panics: [PanicReport] = []
    /// User threads that ended by a fault (some tests fault on purpose).
    public var faults: [UserFaultReport] = []
    /// Cores the kernel reported as not started (`core N (apic A) did not start: …`).
    public var notStarted: [Int] = []

    public init(_ text: String) {
        var collector = PanicCollector()
        for line in text.lines {
            let trimmed = line.trimmingLeadingSpaces()
            if let panic = collector.consume(line) {
                panics.append(panic)
            }
            if let fault = UserFaultReport(parsing: line) {
                faults.append(fault)
            } else if let (core, apic) = Self.coreUp(in: trimmed) {
                coresUp[core] = apic
            } else if let core = Self.notStarted(in: trimmed) {
                notStarted.append(core)
            } else if trimmed.hasPrefix("PASS ") {
                passedTests.append(String(trimmed.dropFirst(5)))
                checkReports += Self.checkReport(trimmed.dropFirst(5), passed: true).map { [$0] } ?? []
            } else if trimmed.hasPrefix("FAIL ") {
                failedTests.append(String(trimmed.dropFirst(5)))
                checkReports += Self.checkReport(trimmed.dropFirst(5), passed: false).map { [$0] } ?? []
            } else if let counts = TestCounts(summaryLine: trimmed) {
                summary = counts
            }
        }
        if let panic = collector.finish() {
            panics.append(panic)
        }
    }

    /// `core 3: heap: random allocations` → core 3, `heap: random allocations`.
    static func checkReport(_ text: Substring, passed: Bool) -> CheckReport? {
        guard text.hasPrefix("core "), let colon = text.firstIndex(of: ":"),
              let core = Int(text[text.index(text.startIndex, offsetBy: 5)..<colon]) else { return nil }
        return CheckReport(core: core, text: String(text[colon...].dropFirst().drop { $0 == " " }), passed: passed)
    }

    /// `core 2 (apic 2) did not start: …` → 2.
    static func notStarted(in line: String) -> Int? {
        let words = line.split(separator: " ")
        guard words.count >= 6, words[0] == "core", words[2] == "(apic", words[4] == "did", words[5] == "not" else { return nil }
        return Int(words[1])
    }

    /// `core 3 up (apic 6)` → (3, 6).
    static func coreUp(in line: String) -> (core: Int, apic: Int)? {
        let words = line.split(separator: " ")
        guard words.count == 5, words[0] == "core", words[2] == "up", words[3] == "(apic",
              words[4].hasSuffix(")"),
              let core = Int(words[1]), let apic = Int(words[4].dropLast()) else { return nil }
        return (core, apic)
    }
}

/// How a test boot ended.
public enum GuestEnding: Equatable, Sendable {
    /// QEMU exited by itself with this status.
    case exited(status: Int32)
    /// QEMU was still running after this many seconds and was stopped.
    case timedOut(seconds: Int)
    /// The guest panicked and the tool stopped QEMU shortly after.
    case stoppedAfterPanic
}

/// Something wrong with a test boot beyond the guest's own failed tests. Each one counts
/// as one failed test.
public enum GuestProblem: Equatable, Sendable {
    case timedOut(seconds: Int)
    case panicked(headline: String)
    case missingCores([Int])
    /// The core the kernel was told not to start came up, or was not reported by name.
    case unstartedCoreNotReported(Int)
    case noSummaryLine
    case unexpectedExitStatus(Int32)
    /// Declared checks this core never reported (or reported fewer times than declared).
    case missingChecks(core: Int, names: [String])
    /// More FAIL lines than the summary line counts as failed.
    case failuresNotCounted(lines: Int, summary: Int)

    public var reason: String {
        switch self {
        case .timedOut(let seconds):
            return "timed out after \(seconds) s"
        case .panicked(let headline):
            return headline
        case .missingCores(let cores):
            let list = cores.map(String.init).joined(separator: ", ")
            return "no 'core N up' line for core\(cores.count == 1 ? "" : "s") \(list)"
        case .unstartedCoreNotReported(let core):
            return "core \(core) was to be left out, but it came up or was not reported as not started"
        case .noSummaryLine:
            return "no final 'N passed, M failed' line"
        case .unexpectedExitStatus(let status):
            return "guest reported no failures but QEMU exited with status \(status), not 1 (isa-debug-exit 0)"
        case .missingChecks(let core, let names):
            return "core \(core) did not report \(names.count) declared check\(names.count == 1 ? "" : "s"): " + names.joined(separator: "; ")
        case .failuresNotCounted(let lines, let summary):
            return "\(lines) FAIL lines, but the summary counts \(summary) failed"
        }
    }
}

/// The outcome of one test boot: the guest's own counts plus one failure per problem.
public struct GuestVerdict: Equatable, Sendable {
    public var guestCounts: TestCounts
    public var problems: [GuestProblem]

    /// - Parameter expected: the checks the boot must report; by default, those
    ///   `GuestChecks` declares for the configuration.
    public init(configuration: GuestConfiguration, log: GuestConsoleLog, ending: GuestEnding,
                expected: [ExpectedCheck]? = nil) {
        var problems: [GuestProblem] = []
        if case .timedOut(let seconds) = ending {
            problems.append(.timedOut(seconds: seconds))
        }
        problems += log.panics.map { .panicked(headline: $0.headline) }
        let missing = (0..<configuration.cores).filter { log.coresUp[$0] == nil && $0 != configuration.unstartedCore }
        if let core = configuration.unstartedCore, log.coresUp[core] != nil || !log.notStarted.contains(core) {
            problems.append(.unstartedCoreNotReported(core))
        }
        if !missing.isEmpty {
            problems.append(.missingCores(missing))
        }
        if let summary = log.summary {
            if summary.failed == 0, case .exited(let status) = ending, status != 1 {
                problems.append(.unexpectedExitStatus(status))
            }
            if log.failedTests.count > summary.failed {
                problems.append(.failuresNotCounted(lines: log.failedTests.count, summary: summary.failed))
            }
        } else {
            problems.append(.noSummaryLine)
        }
        let expected = expected ?? configuration.expectedChecks
        // A core that never came up is reported above, not once per check.
        for core in Set(expected.map(\.core)).sorted() where log.coresUp[core] != nil {
            let missing = expected.filter { $0.core == core }.filter { check in
                log.checkReports.count { $0.core == core && $0.reports(check.name) } < check.runs
            }
            if !missing.isEmpty {
                problems.append(.missingChecks(core: core, names: missing.map(\.name)))
            }
        }
        self.guestCounts = log.summary ?? TestCounts()
        self.problems = problems
    }

    /// What goes into the grand total.
    public var counts: TestCounts {
        TestCounts(passed: guestCounts.passed, failed: guestCounts.failed + problems.count)
    }

    public var isSuccess: Bool { counts.failed == 0 }
}

/// Passed and failed test counts, added up across suites.
public struct TestCounts: Hashable, Sendable, CustomStringConvertible {
    public var passed: Int
    public var failed: Int

    public init(passed: Int = 0, failed: Int = 0) {
        self.passed = passed
        self.failed = failed
    }

    /// Parses `12 passed, 0 failed` (optionally followed by `, 3 skipped`).
    public init?(summaryLine line: String) {
        let words = line.split(separator: " ")
        guard words.count == 4 || words.count == 6,
              words[1] == "passed,", let passed = Int(words[0]),
              words[3] == "failed" || words[3] == "failed,", let failed = Int(words[2]) else { return nil }
        if words.count == 6 {
            guard words[3] == "failed,", Int(words[4]) != nil, words[5] == "skipped" else { return nil }
        } else if words[3] != "failed" {
            return nil
        }
        self.init(passed: passed, failed: failed)
    }

    /// `N passed, M failed`, the one summary line every runner understands.
    public var description: String { "\(passed) passed, \(failed) failed" }

    public static func + (lhs: TestCounts, rhs: TestCounts) -> TestCounts {
        TestCounts(passed: lhs.passed + rhs.passed, failed: lhs.failed + rhs.failed)
    }

    public static func += (lhs: inout TestCounts, rhs: TestCounts) {
        lhs = lhs + rhs
    }
}
