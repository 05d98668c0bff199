/// A fault that ended one thread of a user program, as the user library prints it on the
/// console. One line:
///
///     FAULT <program> thread <id>: <exception> at rip 0x<hex>[ address 0x<hex>]
///
/// for example
///
///     FAULT threads thread 2: page fault (#PF) at rip 0x8000001f3c address 0x0
///     FAULT threads thread 3: invalid opcode (#UD) at rip 0x8000002a10
///
/// - `<program>`: the program's name in the boot image (as `run` takes it), which says
///   which ELF to symbolise `rip` in: every program is linked at the same address.
/// - `<id>`: the thread's id (`Thread.id`), a decimal number.
/// - `<exception>`: what happened, for people: the SDM's name and mnemonic, as the
///   kernel prints them (`page fault (#PF)`, `general protection (#GP)`). Free text,
///   not parsed, but not empty.
/// - `rip`: the faulting instruction. ` address` follows only for a page fault: the
///   address it touched (CR2). Each value is `0x` and 1 to 16 hex digits, as
///   `hexadecimal(_:)` in `Basics` writes them.
///
/// The line may start with blanks, or follow the shell's prompt when the program ran
/// while core 0's shell showed one; nothing may follow it.
public struct UserFaultReport: Equatable, Sendable {
    /// The line from `FAULT` on.
    public var line: String
    public var program: String
    public var thread: Int
    public var exception: String
    public var rip: UInt64
    public var address: UInt64?

    public init(line: String, program: String, thread: Int, exception: String, rip: UInt64, address: UInt64? = nil) {
        self.line = line
        self.program = program
        self.thread = thread
        self.exception = exception
        self.rip = rip
        self.address = address
    }

    /// Parses a console line; nil for any line that is not a `FAULT` line.
    public init?(parsing consoleLine: String) {
        var text = consoleLine.trimmingLeadingSpaces()
        let prompt = String(decoding: ConsoleScanner.prompt, as: UTF8.self)
        if text.hasPrefix(prompt) {
            text = String(text.dropFirst(prompt.count))
        }
        guard text.hasPrefix("FAULT "), let colon = text.firstRange(of: ": "),
              let at = text[colon.upperBound...].ranges(of: " at rip ").last else { return nil }
        let who = text[..<colon.lowerBound].split(separator: " ", omittingEmptySubsequences: false)
        guard who.count == 4, who[2] == "thread", !who[1].isEmpty,
              who[3].allSatisfy(\.isNumber), let thread = Int(who[3]) else { return nil }
        let exception = text[colon.upperBound..<at.lowerBound]
        let values = text[at.upperBound...].split(separator: " ", omittingEmptySubsequences: false)
        guard !exception.isEmpty, let rip = PanicLine.hexValue(values[0]) else { return nil }
        var address: UInt64?
        switch values.count {
        case 1:
            break
        case 3 where values[1] == "address":
            guard let value = PanicLine.hexValue(values[2]) else { return nil }
            address = value
        default:
            return nil
        }
        self.init(line: text, program: String(who[1]), thread: thread, exception: String(exception), rip: rip, address: address)
    }

    /// The address to symbolise: the faulting instruction itself, not a return address.
    public var frame: BacktraceFrame {
        BacktraceFrame(label: "rip", address: rip, lookupAddress: rip)
    }
}
