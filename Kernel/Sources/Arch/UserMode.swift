// User mode on x86-64: system-call set-up, running user code until it traps back, and
// the user's saved registers. The CPU driver sees only the neutral names here
// (`UserContext`, `UserExit`, the argument registers of the system-call convention).
import X86
import Basics
import PageTables

/// Why user code stopped running.
public enum UserExit {
    /// It executed `syscall`: the number and arguments are in the context.
    case systemCall
    /// A CPU exception: the user's fault (the domain is stopped).
    case exception(vector: UInt8, errorCode: UInt64, faultAddress: UInt64)
    /// An interrupt arrived while user code ran (timer, notify): it resumes later.
    case interrupt(vector: UInt8)
}

/// A user thread's registers while it is not running, at a fixed address (the entry
/// and exit code in user.S writes it directly).
public struct UserContext {
    public let registers: UnsafeMutablePointer<x86_user_context>

    /// A zeroed context in `storage` (at least `saveAreaBytes`, 16-byte aligned, owned
    /// by the caller) that will start at `entry` with stack pointer `stack`.
    public init(at storage: UnsafeMutableRawPointer, entry: UInt64, stack: UInt64) {
        registers = storage.bindMemory(to: x86_user_context.self, capacity: 1)
        UnsafeMutableRawPointer(registers).initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<x86_user_context>.size)
        registers.pointee.rip = entry
        registers.pointee.rsp = stack
        registers.pointee.rflags = 0x202
        Self.setDefaultFloatingPoint(UnsafeMutableRawPointer(registers) + Self.floatingPointOffset)
    }

    public var instructionPointer: UInt64 { registers.pointee.rip }
    public var stackPointer: UInt64 { registers.pointee.rsp }

    /// The system-call convention: number in RAX, arguments in RDI, RSI, RDX, R10, R8,
    /// R9; results in RAX (status) and RDX (value).
    public var systemCallNumber: UInt64 { registers.pointee.rax }
    public func argument(_ index: Int) -> UInt64 {
        switch index {
        case 0: return registers.pointee.rdi
        case 1: return registers.pointee.rsi
        case 2: return registers.pointee.rdx
        case 3: return registers.pointee.r10
        case 4: return registers.pointee.r8
        default: return registers.pointee.r9
        }
    }
    public func setResult(status: UInt64, value: UInt64 = 0) {
        registers.pointee.rax = status
        registers.pointee.rdx = value
    }
    /// Sets argument register `index` (as `argument` numbers them) for the return: how
    /// the call invocation hands back a message in registers (`CallRegisters`).
    public func setArgument(_ index: Int, _ value: UInt64) {
        switch index {
        case 0: registers.pointee.rdi = value
        case 1: registers.pointee.rsi = value
        case 2: registers.pointee.rdx = value
        case 3: registers.pointee.r10 = value
        case 4: registers.pointee.r8 = value
        default: registers.pointee.r9 = value
        }
    }
}

public enum UserMode {
    /// The lowest and highest+1 user virtual address: PML4 slots 1…255 less the last
    /// page, so no user instruction can end at the non-canonical boundary. Slot 0 is the
    /// kernel's identity map (supervisor-only); the upper half is unused.
    public static let userRange: Range<UInt64> = 0x0000_0080_0000_0000..<0x0000_7FFF_FFFF_F000

    /// Whether `address` has its upper 17 bits all equal (SDM Vol. 1 §3.3.7.1).
    public static func isCanonical(_ address: UInt64) -> Bool {
        let upper = address >> 47
        return upper == 0 || upper == 0x1_FFFF
    }

    /// Whether user code may be entered at `instruction` with stack pointer `stack`:
    /// `iretq` and Intel's `sysretq` fault in the kernel on a non-canonical return
    /// address, and user code lives in the lower half. (Code in the kernel's part of
    /// the lower half just faults in ring 3, like any supervisor page.)
    public static func canEnter(at instruction: UInt64, stack: UInt64) -> Bool {
        instruction < 1 << 47 && isCanonical(stack)
    }

    /// Turns on `syscall` for this core (IA32_EFER.SCE, STAR, LSTAR, FMASK; SDM Vol. 3A
    /// §5.8.8). FMASK clears IF, DF, TF and AC on entry.
    public static func enableSystemCalls() {
        CPU.writeMSR(0xC000_0080, CPU.readMSR(0xC000_0080) | 1)
        CPU.writeMSR(0xC000_0081, UInt64(Selector.kernelData) << 48 | UInt64(Selector.kernelCode) << 32)
        CPU.writeMSR(0xC000_0082, UInt64(UInt(bitPattern: unsafeBitCast(x86_syscall_entry as @convention(c) () -> Void, to: UnsafeRawPointer.self))))
        CPU.writeMSR(0xC000_0084, 0x4_0700)
    }

    /// Runs the user code of `context` in the address space `root` until it comes back.
    public static func run(_ context: UserContext, in root: PhysicalAddress) -> UserExit {
        if x86_read_cr3() != root.rawValue { x86_write_cr3(root.rawValue) }
        let reason = x86_enter_user(context.registers)
        // The kernel's string instructions assume DF = 0; the exit path clears it, and
        // this check makes sure no path back from user mode forgets to.
        if x86_read_flags() & (1 << 10) != 0 { directionFlagLeaked() }
        if reason == 0 { return .systemCall }
        let vector = UInt8(truncatingIfNeeded: context.registers.pointee.vector)
        if vector < 32 {
            return .exception(vector: vector, errorCode: context.registers.pointee.error_code,
                              faultAddress: vector == 14 ? context.registers.pointee.fault_address : 0)
        }
        return .interrupt(vector: vector)
    }

    /// Set by the CPU driver: what to do if user code's direction flag reached the kernel
    /// (a kernel bug: it panics).
    nonisolated(unsafe) public static var directionFlagLeaked: () -> Never = { CPU.stop() }

    /// Points the FS base at `address` for the user code entered next: where each
    /// dispatcher finds its frame (`%fs:self_address`). The kernel never uses FS itself,
    /// so the value lasts until the next call.
    public static func setDispatcherBase(_ address: UInt64) {
        CPU.writeMSR(0xC000_0100, address)
    }

    /// Back to the kernel's own tables (when no user code will run for a while).
    public static func useKernelAddressSpace(_ root: UInt64) {
        if x86_read_cr3() != root { x86_write_cr3(root) }
    }
}

/// A user address space: a PML4 whose slot 0 is shared with the kernel (the kernel's
/// identity map, supervisor-only) and whose other lower-half slots map what the
/// domain's page-table and frame capabilities say. The CPU driver writes its entries
/// only through `UserPageTables`, as the capability rules ask.
public struct UserAddressSpace {
    public let root: PhysicalAddress

    public init(root: PhysicalAddress) { self.root = root }

    /// Where user address `virtual` leads, if it is mapped for user access (and
    /// writable, when asked): the check before the kernel reads or writes user memory.
    public func translate<Source: PageTableFrameSource>(_ virtual: UInt64, writable: Bool = false, frames: Source) -> PhysicalAddress? {
        guard UserMode.userRange.contains(virtual),
              let found = PageTableWriter(root: root).translate(VirtualAddress(virtual), frames: frames),
              found.flags.contains(.user), !writable || found.flags.contains(.writable) else { return nil }
        return found.address
    }
}

/// The x86-64 side of user mappings (SDM Vol. 3A §4.5): entry formats, the kernel's
/// shared slot, TLB invalidation. Tables are RAM, which the kernel identity-maps.
public enum UserPageTables {
    /// An entry mapping a 4 KiB page for user code: writable only when asked, no-execute
    /// unless asked, uncached (PCD, PWT) for device memory.
    public static func pageEntry(_ frame: PhysicalAddress, writable: Bool, executable: Bool, uncached: Bool) -> UInt64 {
        var flags: PageFlags = [.present, .user]
        if writable { flags.insert(.writable) }
        if !executable { flags.insert(.noExecute) }
        if uncached { flags.formUnion([.cacheDisable, .writeThrough]) }
        return frame.rawValue | flags.rawValue
    }

    /// An entry pointing at the next-lower table. It allows everything; the leaf entry
    /// decides (R/W and U/S are ANDed over the levels, XD ORed: SDM §4.6).
    public static func tableEntry(_ table: PhysicalAddress) -> UInt64 {
        table.rawValue | PageFlags([.present, .writable, .user]).rawValue
    }

    /// Writes entry `index` of the table at `table`.
    public static func store(_ entry: UInt64, in table: PhysicalAddress, at index: Int) {
        UnsafeMutableRawPointer(bitPattern: UInt(table.rawValue))!.storeBytes(of: entry, toByteOffset: index * 8, as: UInt64.self)
    }

    /// Gives a new, zeroed PML4 the kernel's slot 0 (every core's tables share it; it is
    /// supervisor-only, so user code cannot touch what it maps).
    public static func shareKernelSlot(into root: PhysicalAddress) {
        let kernel = UnsafePointer<UInt64>(bitPattern: UInt(x86_read_cr3()))!
        store(kernel[0], in: root, at: 0)
    }

    /// Drops this core's cached translation of one page.
    public static func invalidate(page: UInt64) { x86_invlpg(page) }

    /// Drops every cached user translation: user pages are never global, so rewriting
    /// CR3 does it.
    public static func invalidateAll() { x86_write_cr3(x86_read_cr3()) }
}
