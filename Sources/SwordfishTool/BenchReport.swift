// The report of `swordfish bench`: every operation, Swordfish's figure beside Linux's
// from the same run, and their ratio.
//
// Both guests describe their results in the same console lines, so one parser reads
// both, and the report is made from text alone: the tests feed it canned consoles. Every
// operation the report knows gets a row even when a side printed nothing for it, with a
// sentence saying why (`not yet: no network stack`), because a row that silently disappears
// reads as a row that does not matter.
import Foundation

/// One `BENCH` line of a guest console.
///
///     BENCH info cpus=<n> tsc_mhz=<n>
///     BENCH name=<row> unit=<unit> median=<n> p99=<n> samples=<n>
///     BENCH name=<row> unsupported reason=<words to the end of the line>
///     BENCH error <words>
///     BENCH done
///
/// The line may follow other text on the same console line (a core's prefix, say);
/// everything before `BENCH ` is ignored.
public enum BenchLine: Equatable, Sendable {
    case info([String: String])
    case measurement(name: String, figure: BenchFigure)
    case unsupported(name: String, reason: String)
    case error(String)
    case done

    public init?(_ line: String) {
        guard let start = line.range(of: "BENCH ") else { return nil }
        let text = line[start.upperBound...].trimmingCharacters(in: .whitespaces)
        let words = text.split(separator: " ")
        guard let first = words.first else { return nil }
        if first == "done" {
            self = .done
            return
        }
        if first == "error" {
            self = .error(words.dropFirst().joined(separator: " "))
            return
        }
        var fields: [String: String] = [:]
        for word in words {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        if first == "info" {
            self = .info(fields)
            return
        }
        guard let name = fields["name"], !name.isEmpty else { return nil }
        if words.contains("unsupported") {
            let reason = text.range(of: "reason=").map { String(text[$0.upperBound...]) } ?? "unsupported"
            self = .unsupported(name: name, reason: reason.isEmpty ? "unsupported" : reason)
            return
        }
        guard let unit = fields["unit"], let median = fields["median"].flatMap(Double.init), median.isFinite else {
            return nil
        }
        self = .measurement(name: name, figure: BenchFigure(
            median: median, p99: fields["p99"].flatMap(Double.init), samples: fields["samples"].flatMap(Int.init), unit: unit))
    }
}

/// A measured value: the median of many samples, in `unit`.
public struct BenchFigure: Equatable, Sendable {
    public var median: Double
    public var p99: Double?
    public var samples: Int?
    public var unit: String

    public init(median: Double, p99: Double? = nil, samples: Int? = nil, unit: String) {
        self.median = median
        self.p99 = p99
        self.samples = samples
        self.unit = unit
    }

    /// Throughput (per second): more is better. Everything else is a time: less is.
    public var isThroughput: Bool { unit.hasSuffix("/s") }
}

/// What one guest printed: its results by row, in the order printed.
public struct BenchConsole: Equatable, Sendable {
    public enum Result: Equatable, Sendable {
        case measured(BenchFigure)
        case unsupported(reason: String)
    }

    public private(set) var names: [String] = []
    public private(set) var results: [String: Result] = [:]
    public var info: [String: String] = [:]
    /// From `BENCH info tsc_mhz=`, or the Swordfish kernel's `boot: … TSC <n> MHz`.
    public var tscMHz: Double?
    public var isDone = false
    public var errors: [String] = []
    /// The guest reached an interactive prompt (a kernel that ignored `bench`).
    public var sawPrompt = false

    public init(_ text: String = "") {
        for line in text.lines { consume(line) }
    }

    public mutating func consume(_ line: String) {
        if let tsc = Self.bootTSC(in: line), tscMHz == nil {
            tscMHz = tsc
        }
        if line.contains(String(decoding: ConsoleScanner.prompt, as: UTF8.self)) {
            sawPrompt = true
        }
        switch BenchLine(line) {
        case .info(let fields)?:
            info.merge(fields) { $1 }
            if let tsc = fields["tsc_mhz"].flatMap(Double.init), tsc > 0 { tscMHz = tsc }
        case .measurement(let name, let figure)?:
            record(name, .measured(figure))
        case .unsupported(let name, let reason)?:
            record(name, .unsupported(reason: reason))
        case .error(let message)?:
            errors.append(message)
        case .done?:
            isDone = true
        case nil:
            break
        }
    }

    /// Whether the guest printed any `BENCH` line at all.
    public var isEmpty: Bool { names.isEmpty && info.isEmpty && !isDone && errors.isEmpty }

    private mutating func record(_ name: String, _ result: Result) {
        if results.updateValue(result, forKey: name) == nil { names.append(name) }
    }

    /// `boot: 2 core(s), local APIC in xAPIC mode, TSC 2994 MHz` → 2994.
    static func bootTSC(in line: String) -> Double? {
        guard line.contains("boot:"), let tsc = line.range(of: " TSC ") else { return nil }
        let words = line[tsc.upperBound...].split(separator: " ")
        guard words.count >= 2, words[1].hasPrefix("MHz"), let value = Double(words[0]), value > 0 else { return nil }
        return value
    }
}

/// How one guest's run went, beyond what it printed.
public enum BenchSideOutcome: Equatable, Sendable {
    /// The guest printed `BENCH done`.
    case finished
    /// The guest booted but has no benchmark mode (it reached its shell instead).
    case notImplemented
    /// The guest stopped early; the words say how (`timed out after 120 s`).
    case failed(String)
}

/// One guest's results and how its run went.
public struct BenchSide: Equatable, Sendable {
    public var console: BenchConsole
    public var outcome: BenchSideOutcome

    public init(console: BenchConsole, outcome: BenchSideOutcome) {
        self.console = console
        self.outcome = outcome
    }

    /// The outcome of a boot from its console and how QEMU ended.
    public init(console: BenchConsole, ending: GuestEnding) {
        self.console = console
        if console.isDone {
            outcome = .finished
        } else if console.sawPrompt && console.names.isEmpty {
            outcome = .notImplemented
        } else {
            switch ending {
            case .timedOut(let seconds): outcome = .failed("timed out after \(seconds) s")
            case .stoppedAfterPanic: outcome = .failed("the guest panicked")
            case .exited(let status): outcome = .failed("QEMU exited (status \(status)) before BENCH done")
            }
        }
    }

    /// A side that never ran, such as when its image could not be built.
    public static func missing(_ why: String) -> BenchSide {
        BenchSide(console: BenchConsole(), outcome: .failed(why))
    }
}

/// An operation the report always has a row for, whether or not a side measured it.
public struct BenchOperation: Equatable, Sendable {
    public var name: String
    public var unit: String
    /// What it stands for, in a few words.
    public var summary: String
    /// The Swordfish cell when the kernel says nothing about the row; nil for rows it
    /// measures once it has a benchmark mode at all.
    public var swordfishAbsence: String?
    /// The Linux cell when Linux says nothing about the row.
    public var linuxAbsence: String
    /// A Swordfish row whose figure this row shows when the kernel has none of its own:
    /// Swordfish answers all of Linux's cross-core primitives with one channel.
    public var swordfishStandIn: String?

    public init(_ name: String, unit: String = "cycles", _ summary: String, swordfish: String? = nil,
                linux: String = "not measured", standIn: String? = nil) {
        self.name = name
        self.unit = unit
        self.summary = summary
        self.swordfishAbsence = swordfish
        self.linuxAbsence = linux
        self.swordfishStandIn = standIn
    }

    /// Every row of the guest report, in the order shown. The names are stable: scripts
    /// and the results page refer to them.
    public static let catalogue: [BenchOperation] = [
        BenchOperation("null-syscall", "getppid(): into the kernel and back"),
        BenchOperation("same-core-roundtrip", "message round trip between two processes on one core (pipe; LMP)"),
        BenchOperation("cross-core-roundtrip", "message round trip between core 0 and core 1 (pipe; channel)"),
        BenchOperation("cross-core-eventfd", "cross-core round trip over two eventfds", standIn: "cross-core-roundtrip"),
        BenchOperation("cross-core-futex", "cross-core round trip over two futex words", standIn: "cross-core-roundtrip"),
        BenchOperation("cross-core-unix-socket", "cross-core round trip over a Unix stream socket",
                       standIn: "cross-core-roundtrip"),
        BenchOperation("cross-core-user-roundtrip", "message round trip between user processes on core 0 and core 1, polling (pipe; a connection of rings)"),
        BenchOperation("cross-core-user-wake-roundtrip", "the same with the receiver asleep between messages (pipe; a connection whose sender rings a sleeping receiver)"),
        BenchOperation("spawn-remote", "start a program on the other core and wait for its end (fork+exec+wait pinned; Monitor.spawn + awaitEnd)"),
        BenchOperation("cross-core-cap-transfer", "a frame capability to a process on the other core and back (a memfd passed with SCM_RIGHTS over a Unix socket; Monitor.send + receiveCapability)"),
        BenchOperation("revoke-remote-copies", "revoke of RAM whose frames are held on every other core (Monitor.revoke)",
                       linux: "no counterpart: Linux has no revocable capabilities"),
        BenchOperation("cacheline-floor", "two cores bounce a counter between two cache lines"),
        BenchOperation("ipi-roundtrip", "message to a halted core, woken by IPI, and back",
                       linux: "no counterpart: inside the kernel"),
        BenchOperation("multicast-roundtrip", "one message to every core along the multicast tree, acknowledgements aggregated back",
                       linux: "no counterpart: inside the kernel"),
        BenchOperation("map-unmap-page", "map then unmap one page on one core (mmap with MAP_POPULATE + munmap; map + unmap invocations)"),
        BenchOperation("thread-yield-roundtrip", "two threads of one process on one core hand it to each other (sched_yield; user-level threads)"),
        BenchOperation("unmap-shared-page", "munmap of a page in use on every core (TLB shootdown)"),
        BenchOperation("mprotect-shared-page", "mprotect to read-only of a page in use on every core"),
        BenchOperation("parallel-matmul", "a 128² blocked matrix multiply, one thread per core (pthreads; threads of a spanning domain)"),
        BenchOperation("tcp-loopback-stream", unit: "MB/s", "one TCP stream between core 0 and core 1, 64 KiB writes (127.0.0.1; lwIP in two domains, frames over a channel)"),
        BenchOperation("udp-loopback-packets", unit: "packets/s", "1,000-byte UDP datagrams from core 0 to core 1 (127.0.0.1; lwIP in two domains, frames over a channel)"),
        BenchOperation("http-requests", unit: "requests/s",
                       "a 4 KiB file over HTTP from the host (ab -c 4, a connection per request) through QEMU's port forwarding (busybox httpd; httpd)"),
    ]
}

/// One cell of the table: a figure, or why there is none.
public enum BenchCell: Equatable, Sendable {
    /// `standIn`: the figure is another row's (see `BenchOperation.swordfishStandIn`).
    case measured(BenchFigure, standIn: String? = nil)
    case absent(String)

    public var figure: BenchFigure? {
        if case .measured(let figure, _) = self { return figure }
        return nil
    }

    public var absence: String? {
        if case .absent(let why) = self { return why }
        return nil
    }
}

/// One row: an operation, both sides, and the ratio.
public struct BenchRow: Equatable, Sendable {
    public var name: String
    public var unit: String
    public var swordfish: BenchCell
    public var linux: BenchCell
    /// Measured on the host's real cores rather than in the guests.
    public var isHost: Bool

    public init(name: String, unit: String, swordfish: BenchCell, linux: BenchCell, isHost: Bool = false) {
        self.name = name
        self.unit = unit
        self.swordfish = swordfish
        self.linux = linux
        self.isHost = isHost
    }

    /// Below 1 when Swordfish does better: Swordfish ÷ Linux for times, Linux ÷ Swordfish
    /// for throughputs. Nil unless both sides measured it in the same unit.
    public var ratio: Double? {
        guard let s = swordfish.figure, let l = linux.figure, s.unit == l.unit, s.median > 0, l.median > 0 else {
            return nil
        }
        return s.isThroughput ? l.median / s.median : s.median / l.median
    }
}

/// A row of the host benchmark (`swordfish-hostbench`), as the report shows it.
public struct HostBenchRow: Equatable, Sendable {
    public var name: String
    public var medianCycles: Double
    public var p99Cycles: Double?
    public var samples: Int?

    public init(name: String, medianCycles: Double, p99Cycles: Double? = nil, samples: Int? = nil) {
        self.name = name
        self.medianCycles = medianCycles
        self.p99Cycles = p99Cycles
        self.samples = samples
    }

    public init(_ row: HostBenchmarkReport.Row) {
        self.init(name: row.name, medianCycles: row.medianCycles, p99Cycles: row.p99Cycles, samples: row.rounds)
    }

    /// Host rows that run Swordfish's own code (Core's channel and its floor); the rest
    /// are Linux primitives.
    public static let swordfishRows: Set<String> = [HostBenchmarkRow.channel, HostBenchmarkRow.floor]
}

/// The whole report: what ran, and every row.
public struct BenchReport: Equatable, Sendable {
    /// The QEMU options both guests shared: the command line without `-kernel`,
    /// `-initrd` and `-append`.
    public var qemu: String
    public var swordfishTSCMHz: Double?
    public var linuxTSCMHz: Double?
    /// The Debian kernel release, such as `6.1.0-56-amd64`.
    public var linuxRelease: String?
    /// The `swordfish bench` command that produced the report.
    public var command: String?
    /// Each guest's kernel command line (`-append`).
    public var swordfishArguments: String?
    public var linuxArguments: String?
    public var rows: [BenchRow]
    /// What went wrong on the way, one sentence each.
    public var problems: [String]
    /// What a reader must know to read the figures (such as what `-icount` changes).
    public var notes: [String] = []

    /// The TSC frequency the report states: the Swordfish kernel's, else Linux's.
    public var tscMHz: Double? { swordfishTSCMHz ?? linuxTSCMHz }

    public init(qemu: String, swordfish: BenchSide, linux: BenchSide,
                host: [HostBenchRow]? = nil, hostProblem: String? = nil,
                linuxRelease: String? = nil, command: String? = nil) {
        self.qemu = qemu
        self.swordfishTSCMHz = swordfish.console.tscMHz
        self.linuxTSCMHz = linux.console.tscMHz
        self.linuxRelease = linuxRelease
        self.command = command
        var problems: [String] = []
        if case .failed(let why) = swordfish.outcome { problems.append("Swordfish guest: \(why)") }
        if case .failed(let why) = linux.outcome { problems.append("Linux guest: \(why)") }
        problems += swordfish.console.errors.map { "Swordfish guest: \($0)" }
        problems += linux.console.errors.map { "Linux guest: \($0)" }
        if let hostProblem { problems.append("host: \(hostProblem)") }

        var rows: [BenchRow] = []
        var known = Set<String>()
        for operation in BenchOperation.catalogue {
            known.insert(operation.name)
            let absence = operation.swordfishAbsence
                ?? (swordfish.outcome == .notImplemented ? "not yet: kernel has no bench mode" : "not measured by the kernel")
            var swordfishCell = Self.cell(operation.name, of: swordfish, absence: absence, isSwordfish: true)
            if swordfish.console.results[operation.name] == nil, let standIn = operation.swordfishStandIn,
               swordfish.console.results[standIn] != nil {
                swordfishCell = Self.cell(standIn, of: swordfish, absence: absence, isSwordfish: true)
                if let figure = swordfishCell.figure { swordfishCell = .measured(figure, standIn: standIn) }
            }
            let linuxCell = Self.cell(operation.name, of: linux, absence: operation.linuxAbsence, isSwordfish: false)
            rows.append(BenchRow(name: operation.name, unit: operation.unit, swordfish: swordfishCell, linux: linuxCell))
        }
        // Rows a guest printed that the catalogue does not know yet, in printed order.
        for name in swordfish.console.names + linux.console.names where !known.contains(name) {
            known.insert(name)
            let s = Self.cell(name, of: swordfish, absence: "not measured", isSwordfish: true)
            let l = Self.cell(name, of: linux, absence: "not measured", isSwordfish: false)
            rows.append(BenchRow(name: name, unit: s.figure?.unit ?? l.figure?.unit ?? "cycles", swordfish: s, linux: l))
        }
        for row in host ?? [] {
            let figure = BenchCell.measured(BenchFigure(median: row.medianCycles, p99: row.p99Cycles, samples: row.samples, unit: "cycles"))
            let isSwordfish = HostBenchRow.swordfishRows.contains(row.name)
            rows.append(BenchRow(
                name: "host-\(row.name)", unit: "cycles",
                swordfish: isSwordfish ? figure : .absent("n/a: Linux primitive"),
                linux: isSwordfish ? .absent("n/a: Swordfish code") : figure, isHost: true))
        }
        self.rows = rows
        self.problems = problems
    }

    /// A row's cell for one side: its figure, its stated reason, or what the side's
    /// outcome implies.
    static func cell(_ name: String, of side: BenchSide, absence: String, isSwordfish: Bool) -> BenchCell {
        switch side.console.results[name] {
        case .measured(let figure)?:
            return .measured(figure)
        case .unsupported(let reason)?:
            if reason.hasPrefix("not yet") || reason.hasPrefix("no counterpart") { return .absent(reason) }
            // What is missing for now (`no user mode yet`) reads `not yet: no user mode`;
            // anything else (`one core`) is a limit of the configuration.
            if isSwordfish, reason.hasSuffix(" yet") { return .absent("not yet: \(reason.dropLast(4))") }
            return .absent("unsupported: \(reason)")
        case nil:
            switch side.outcome {
            case .finished, .notImplemented: return .absent(absence)
            case .failed(let why): return .absent("failed: \(why)")
            }
        }
    }

    public func row(_ name: String) -> BenchRow? { rows.first { $0.name == name } }
}

extension BenchReport {
    /// The shared part of a QEMU command line: everything but the options that name what
    /// is booted (`-kernel`, `-initrd`, `-append`), which are the only ones allowed to
    /// differ between the two guests.
    public static func sharedOptions(of command: ShellCommand) -> ShellCommand {
        var shared: [String] = []
        var arguments = command.arguments[...]
        while let argument = arguments.popFirst() {
            if ["-kernel", "-initrd", "-append"].contains(argument) {
                _ = arguments.popFirst()
            } else {
                shared.append(argument)
            }
        }
        return ShellCommand(command.executable, shared)
    }
}
