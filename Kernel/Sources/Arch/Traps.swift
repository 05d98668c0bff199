// From the assembly trap stubs into Swift. `x86_trap_dispatch` is the only entry: it
// turns the raw frame into a typed `Trap` and hands it to the CPU driver's handler,
// which the bootstrap core registers once before any other core starts (a boot
// hand-off: written once, read-only afterwards).
import ABI
import X86

public enum Trap {
    /// A CPU exception (vectors 0–31): always a kernel bug or deliberate fault today,
    /// since no user code runs yet.
    case exception(Exception)
    case timer
    case notify
    /// Another core's monitor notified this core's (`LocalAPIC.userNotifyVector`).
    case userNotify
    case spurious
    case other(vector: UInt8)
}

public struct Exception {
    public let vector: UInt8
    public let errorCode: UInt64
    public let instructionPointer: UInt64
    public let stackPointer: UInt64
    public let framePointer: UInt64
    public let faultAddress: UInt64

    public init(vector: UInt8, errorCode: UInt64, instructionPointer: UInt64, stackPointer: UInt64,
                framePointer: UInt64, faultAddress: UInt64) {
        self.vector = vector
        self.errorCode = errorCode
        self.instructionPointer = instructionPointer
        self.stackPointer = stackPointer
        self.framePointer = framePointer
        self.faultAddress = faultAddress
    }

    /// The SDM's mnemonic and name (the ABI's list, which user programs print too).
    public var name: StaticString { exceptionName(vector: vector) }
}

public typealias TrapHandler = (Trap) -> Void

/// Set once by the bootstrap core before interrupts are enabled anywhere.
nonisolated(unsafe) public var trapHandler: TrapHandler? = nil

@_cdecl("x86_trap_dispatch")
func trapDispatch(_ frame: UnsafeMutablePointer<x86_trap_frame>) {
    let vector = UInt8(truncatingIfNeeded: frame.pointee.vector)
    let trap: Trap
    switch vector {
    case 0..<32:
        trap = .exception(Exception(
            vector: vector, errorCode: frame.pointee.error_code,
            instructionPointer: frame.pointee.rip, stackPointer: frame.pointee.rsp,
            framePointer: frame.pointee.rbp, faultAddress: vector == 14 ? CPU.faultAddress : 0))
    case LocalAPIC.timerVector: trap = .timer
    case LocalAPIC.notifyVector: trap = .notify
    case LocalAPIC.userNotifyVector: trap = .userNotify
    case LocalAPIC.spuriousVector: trap = .spurious
    default: trap = .other(vector: vector)
    }
    if let handler = trapHandler { handler(trap) } else { CPU.stop() }
}

/// Walks the frame-pointer chain from `framePointer`, reading only inside `stack`
/// (so a corrupt chain ends the walk instead of faulting in the fault handler).
public func walkFrames(from framePointer: UInt64, within stack: Range<UInt64>, limit: Int = 16,
                       _ body: (UInt64) -> Void) {
    var rbp = framePointer
    var depth = 0
    while depth < limit, rbp & 7 == 0, stack.contains(rbp), stack.contains(rbp + 15) {
        let returnAddress = UnsafePointer<UInt64>(bitPattern: UInt(rbp + 8))!.pointee
        if returnAddress == 0 { break }
        body(returnAddress)
        let next = UnsafePointer<UInt64>(bitPattern: UInt(rbp))!.pointee
        if next <= rbp { break }
        rbp = next
        depth += 1
    }
}
