// A user context as bytes in a dispatcher's save areas (the scheduler-activation model):
// the kernel writes a preempted or faulting dispatcher's registers there, and a
// dispatcher may hand a save area back to be resumed from. The layout is that of
// `x86_user_context` (x86.h): RAX…R15, RIP, RSP, RFLAGS, three words of trap
// information, the from-syscall flag, then the 512-byte fxsave image at offset 176. The user library
// mirrors it (User/Sources/UserRuntimeC/include/user.h).
import X86
import Basics

extension UserContext {
    /// Bytes in a save area.
    public static let saveAreaBytes = MemoryLayout<x86_user_context>.size
    /// Offset of the fxsave image in a save area.
    /// Computed, not stored: a lazily initialised static would be written by whichever
    /// core reads it first (DESIGN.md, invariant 1).
    static var floatingPointOffset: Int { MemoryLayout<x86_user_context>.offset(of: \x86_user_context.fpu)! }

    /// Writes these registers to `area` (`saveAreaBytes` long).
    public func store(to area: UnsafeMutableRawPointer) {
        area.copyMemory(from: UnsafeRawPointer(registers), byteCount: Self.saveAreaBytes)
    }

    /// Replaces these registers with a save area that came from user memory, if it is
    /// safe to enter: RIP and RSP as `UserMode.canEnter` requires (an `iretq` to a
    /// non-canonical address would fault in the kernel) and no reserved MXCSR bit set
    /// (`fxrstor` would fault). Flags are filtered on every entry anyway.
    public func load(from area: [UInt8]) -> Bool {
        guard area.count == Self.saveAreaBytes else { return false }
        func word(_ offset: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(area[offset + i]) << (8 * i) }
            return value
        }
        let rip = word(MemoryLayout<x86_user_context>.offset(of: \x86_user_context.rip)!)
        let rsp = word(MemoryLayout<x86_user_context>.offset(of: \x86_user_context.rsp)!)
        let mxcsr = UInt32(truncatingIfNeeded: word(Self.floatingPointOffset + 24))
        guard UserMode.canEnter(at: rip, stack: rsp), mxcsr & ~Self.mxcsrWritable == 0 else { return false }
        area.withUnsafeBytes { UnsafeMutableRawPointer(registers).copyMemory(from: $0.baseAddress!, byteCount: Self.saveAreaBytes) }
        registers.pointee.from_syscall = 0             // every register as the area says
        return true
    }

    /// MXCSR bits a program may set: everything below bit 16 but DAZ (bit 6), which
    /// not every CPU has (SDM Vol. 1 §11.6.6).
    static let mxcsrWritable: UInt32 = 0xFFBF

    /// Sets these registers up to enter the dispatcher at `entry` on the stack ending at
    /// `stackTop`, as if called with `arguments` (RDI, RSI, RDX, RCX), with the default
    /// floating-point controls. The registers it had are gone: the caller saved them.
    public func prepareUpcall(entry: UInt64, stackTop: UInt64, arguments: (UInt64, UInt64, UInt64, UInt64)) {
        let fpu = UnsafeMutableRawPointer(registers) + Self.floatingPointOffset
        UnsafeMutableRawPointer(registers).initializeMemory(as: UInt8.self, repeating: 0, count: Self.saveAreaBytes)
        registers.pointee.rip = entry
        registers.pointee.rsp = (stackTop & ~15) - 8          // as just after a `call`
        registers.pointee.rflags = 0x202
        (registers.pointee.rdi, registers.pointee.rsi, registers.pointee.rdx, registers.pointee.rcx) = arguments
        Self.setDefaultFloatingPoint(fpu)
    }

    /// The default FPU state: x87 control word 0x37F, MXCSR 0x1F80 (SDM Vol. 1 §10.5.1).
    static func setDefaultFloatingPoint(_ fpu: UnsafeMutableRawPointer) {
        fpu.storeBytes(of: UInt16(0x37F), toByteOffset: 0, as: UInt16.self)
        fpu.storeBytes(of: UInt32(0x1F80), toByteOffset: 24, as: UInt32.self)
    }
}
