// The system calls a user program can make; everything else is a capability invocation
// (Capabilities.swift). Numbers and statuses come from the ABI module, which the kernel
// builds too; a program that imports SwordfishUser sees the ABI's types as well.
@_exported import ABI
@_exported import ProgramArguments
import UserRuntimeC

public enum SystemCall {
    /// Any system call with any words, answered with the raw status and value. For
    /// programs that feed the kernel bad input on purpose; everything else has a typed
    /// function.
    @discardableResult
    public static func raw(_ number: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> (status: UInt64, value: UInt64) {
        let result = user_syscall(number, a0, a1, a2, a3)
        return (result.status, result.value)
    }

    static func call(_ number: SystemCallNumber, _ a0: UInt64 = 0, _ a1: UInt64 = 0) throws(SystemCallStatus) {
        let status = raw(number.rawValue, a0, a1).status
        guard status == SystemCallStatus.success.rawValue else { throw SystemCallStatus(rawValue: status) ?? .invalidSystemCall }
    }

    /// Writes `bytes` (at most `SystemCallNumber.printLimit`) to the console as they are;
    /// `print` in Swift buffers a line and calls this.
    public static func write(_ bytes: UnsafeRawBufferPointer) throws(SystemCallStatus) {
        try call(.print, UInt64(UInt(bitPattern: bytes.baseAddress)), UInt64(bytes.count))
    }

    /// Sleeps in the kernel until a message arrives on an endpoint this domain receives
    /// on, a notification comes for it, or one of its endpoints dies (at once if that
    /// happened since the last wait), or, given a `deadline` (a time stamp counter
    /// value), until the counter passes it. Without a deadline it throws
    /// `nothingToWaitFor` if the domain receives on no endpoint. A program with threads
    /// waits through a `Waitset` instead.
    public static func wait(until deadline: UInt64? = nil) throws(SystemCallStatus) {
        try call(.wait, deadline.map { max($0, 1) } ?? 0)
    }

    /// Whether this core records a trace (`trace on` in the shell).
    public static var isTracing: Bool { user_dispatcher().pointee.tracing != 0 }

    /// Records an event in this core's trace (docs/tracing.md), if it records one: the
    /// kernel stamps it with the time and this domain. Only kinds a domain may record.
    public static func trace(_ kind: TraceEventKind, channel: TraceChannel = .monitorRing, a: UInt64 = 0, b: UInt64 = 0) {
        guard isTracing else { return }
        raw(SystemCallNumber.trace.rawValue, UInt64(kind.rawValue), UInt64(channel.rawValue), a, b)
    }
}

/// Ends this program with `status` (the shell and the tests see it).
public func exit(_ status: Int) -> Never {
    SystemCall.raw(SystemCallNumber.exit.rawValue, UInt64(bitPattern: Int64(status)))
    while true {}
}

/// Lets the next domain on this core run (`Thread.yield` lets this domain's other threads run).
public func yield() { SystemCall.raw(SystemCallNumber.yield.rawValue) }

/// This program, as the kernel started it.
public enum Program {
    /// The running dispatcher's system-wide id, as its kernel wrote it into its frame (a
    /// spanned domain has one per core; the home's is the id the monitors know it by).
    public static var identity: SystemDomainID { SystemDomainID(rawValue: user_dispatcher().pointee.identity) }

    /// Its name in the boot image (what `run` was given), as the kernel wrote it into
    /// the dispatcher frame.
    public static var name: String {
        withUnsafeBytes(of: &user_dispatcher().pointee.program_name) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// The words this program was started with (what followed its name on the shell's line).
public var arguments: Arguments { Arguments(argumentBytes) }

/// The argument line as the kernel passed it, bytes as they are.
public var argumentBytes: [UInt8] {
    let base = user_argument_bytes()
    let count = Int(user_argument_count())
    guard base != 0, count > 0, let pointer = UnsafePointer<UInt8>(bitPattern: UInt(base)) else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}
