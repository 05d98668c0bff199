/// A kernel panic as the guest prints it on the serial console:
///
///     PANIC core 1: page fault (#PF, vector 14) error 0x2
///       rip 0x0000000000105a3c rsp 0x... cr2 0x...
///       backtrace: 0x105a3c 0x1043f0 0x10210e
///
/// The `rip` and `backtrace` lines are optional (a panic before the trap handlers exist has
/// neither); the backtrace lists the faulting `rip` first when it is known, then return
/// addresses read from the frame-pointer chain.
public struct PanicReport: Equatable, Sendable {
    /// The whole `PANIC …` line.
    public var headline: String
    /// The core that panicked, when the headline names one.
    public var core: Int?
    public var rip: UInt64?
    public var backtrace: [UInt64]

    public init(headline: String, core: Int? = nil, rip: UInt64? = nil, backtrace: [UInt64] = []) {
        self.headline = headline
        self.core = core
        self.rip = rip
        self.backtrace = backtrace
    }

    /// The addresses to symbolize, in print order. A return address is looked up one byte
    /// earlier so that it lands inside the call instruction, not on the line after it.
    public var frames: [BacktraceFrame] {
        var frames: [BacktraceFrame] = []
        if let rip, backtrace.first != rip {
            frames.append(BacktraceFrame(label: "rip", address: rip, lookupAddress: rip))
        }
        for (index, address) in backtrace.enumerated() {
            let isFaultingInstruction = index == 0 && address == rip
            let lookup = isFaultingInstruction || address == 0 ? address : address - 1
            frames.append(BacktraceFrame(label: "#\(index)", address: address, lookupAddress: lookup))
        }
        return frames
    }
}

/// One address of a panic report, labelled as it is printed (`rip`, `#0`, `#1`…).
public struct BacktraceFrame: Equatable, Sendable {
    public var label: String
    public var address: UInt64
    public var lookupAddress: UInt64
}

/// Recognises the three kinds of panic line.
public enum PanicLine {
    /// Whether the line starts a panic report.
    public static func isHeadline(_ line: String) -> Bool {
        line.trimmingLeadingSpaces().hasPrefix("PANIC")
    }

    /// The core number in `PANIC core 3: …`; nil for a headline that names no core.
    public static func core(inHeadline line: String) -> Int? {
        let words = line.trimmingLeadingSpaces().split(separator: " ", maxSplits: 3)
        guard words.count >= 3, words[0] == "PANIC", words[1] == "core" else { return nil }
        return Int(words[2].hasSuffix(":") ? words[2].dropLast() : words[2])
    }

    /// Every hex address on a `backtrace:` line; nil for any other line.
    public static func addresses(inBacktraceLine line: String) -> [UInt64]? {
        let trimmed = line.trimmingLeadingSpaces()
        guard trimmed.hasPrefix("backtrace:") else { return nil }
        return trimmed.dropFirst("backtrace:".count)
            .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
            .compactMap(hexValue)
    }

    /// The value after `rip` on a register line such as `rip 0x105a3c rsp 0x…`.
    public static func rip(inRegisterLine line: String) -> UInt64? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard words.count >= 2, words[0] == "rip" else { return nil }
        return hexValue(words[1])
    }

    /// `0x1f` → 31; anything not `0x` followed by 1–16 hex digits → nil.
    public static func hexValue(_ word: Substring) -> UInt64? {
        guard word.hasPrefix("0x") || word.hasPrefix("0X") else { return nil }
        let digits = word.dropFirst(2)
        guard !digits.isEmpty, digits.count <= 16 else { return nil }
        return UInt64(digits, radix: 16)
    }
}

/// Assembles panic reports from console lines as they arrive.
public struct PanicCollector: Sendable {
    private var current: PanicReport?

    public init() {}

    /// Feeds one console line. Returns a report when it is complete: at its backtrace line,
    /// or at the next line that is not part of it.
    public mutating func consume(_ line: String) -> PanicReport? {
        if PanicLine.isHeadline(line) {
            let finished = current
            current = PanicReport(headline: line.trimmingLeadingSpaces(), core: PanicLine.core(inHeadline: line))
            return finished
        }
        guard var report = current else { return nil }
        if let rip = PanicLine.rip(inRegisterLine: line) {
            report.rip = rip
            current = report
            return nil
        }
        current = nil
        if let addresses = PanicLine.addresses(inBacktraceLine: line) {
            report.backtrace = addresses
        }
        return report
    }

    /// The report still being assembled when the console ends.
    public mutating func finish() -> PanicReport? {
        defer { current = nil }
        return current
    }
}

extension StringProtocol {
    func trimmingLeadingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }))
    }
}
