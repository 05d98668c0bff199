// The system calls a user program can make (Kernel/Sources/CPUDriver/SystemCalls.swift);
// everything else is a capability invocation. Each call returns a status, 0 for success.
import UserRuntimeC

public enum SystemCall {
    /// Numbers, as the kernel's SystemCalls.swift decodes them.
    public static let print: UInt64 = 0
    public static let exit: UInt64 = 1
    public static let yield: UInt64 = 2
    public static let resume: UInt64 = 4
    public static let wait: UInt64 = 5
    public static let unhandledFault: UInt64 = 6

    /// Status codes the kernel answers with.
    public enum Status: UInt64 {
        case success = 0
        case invalidSystemCall = 1
        case badAddress = 2
        case badLength = 3
        case badSaveArea = 4
        case nothingToWaitFor = 5
        case noFault = 6
    }

    @discardableResult
    public static func raw(_ number: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0, _ a3: UInt64 = 0) -> (status: UInt64, value: UInt64) {
        let result = user_syscall(number, a0, a1, a2, a3)
        return (result.status, result.value)
    }
}

/// Ends this program with `status`.
public func exit(_ status: Int) -> Never {
    SystemCall.raw(SystemCall.exit, UInt64(bitPattern: Int64(status)))
    while true {}
}

/// Lets the next domain on this core run (`Thread.yield` lets this domain's other threads run).
public func yield() { SystemCall.raw(SystemCall.yield) }

/// The argument string this program was started with.
public var arguments: [UInt8] {
    let base = user_argument_bytes()
    let count = Int(user_argument_count())
    guard base != 0, count > 0, let pointer = UnsafePointer<UInt8>(bitPattern: UInt(base)) else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: count))
}
