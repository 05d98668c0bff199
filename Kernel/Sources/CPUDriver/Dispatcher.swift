// Dispatchers: how the kernel hands a core to a domain, in the scheduler-activation
// style of Barrelfish (and Psyche and K42 before it). Each domain has a dispatcher
// frame, a page it shares with the kernel at `DispatcherFrame.userAddress`. In it the
// domain's user library registers its upcall entry points (run, page fault, trap) and
// an upcall stack, and keeps the `disabled` flag:
//
// - Preempted while enabled (the flag clear): the kernel saves the registers in the
//   frame's enabled save area, sets the flag, and next time enters the run upcall. The
//   user-level scheduler then decides which of its threads continues (it may resume the
//   saved one with the resume system call).
// - Preempted while disabled (inside the user-level scheduler): the kernel keeps the
//   registers in the dispatcher object, a page only the kernel touches (the domain's
//   `context`), and simply resumes them. Keeping this disabled save area out of the
//   shared page means the kernel never resumes from state the domain could have changed
//   behind its back.
// - A fault while enabled: the registers go to the frame's trap save area, with the
//   vector, error code and address, and the kernel enters the page-fault upcall (vector
//   14) or the trap upcall (any other exception). A fault while disabled, or without a
//   registered entry for it, stops the domain.
//
// Everything the kernel reads from the frame is untrusted: entry points and stacks must
// lie in user memory, or the domain is stopped with a message that says so.
import ABI
import ABILayout
import Arch
import Basics

/// The dispatcher frame: where every domain sees it, and its fields' byte offsets in
/// the layout the ABI declares (`sf_dispatcher_frame`, abi_layout.h), which the user
/// runtime builds too. Computed, not stored: a lazily initialised static would be
/// written by whichever core touches it first.
enum DispatcherFrame {
    /// Where every domain sees its frame: just below its stack.
    static let userAddress: UInt64 = UserLayout.stackTop - UInt64(UserLayout.stackPages + 2) * 4096
    static var disabled: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.disabled)! }
    static var runEntry: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.run_entry)! }
    static var pageFaultEntry: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.page_fault_entry)! }
    static var trapEntry: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.trap_entry)! }
    static var upcallStack: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.upcall_stack)! }
    static var faultVector: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.fault_vector)! }
    static var faultErrorCode: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.fault_error_code)! }
    static var faultAddress: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.fault_address)! }
    /// Counters the kernel keeps for the domain to read: enabled preemptions and upcalls.
    static var preemptions: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.preemptions)! }
    static var upcalls: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.upcalls)! }
    static var identity: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.identity)! }
    static var tracing: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.tracing)! }
    static var selfAddress: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.self_address)! }
    static var programName: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.program_name)! }
    static let programNameBytes = 32
    static var enabledArea: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.enabled_area)! }
    static var trapArea: Int { MemoryLayout<sf_dispatcher_frame>.offset(of: \.trap_area)! }
}

/// Why the kernel enters a dispatcher at an upcall instead of where it left off.
enum Upcall {
    /// It was preempted while enabled: its registers are in the enabled save area.
    case run
    /// It faulted while enabled: its registers are in the trap save area.
    case fault(vector: UInt8, errorCode: UInt64, address: UInt64)

    /// The upcall's first argument (RDI), as the user library decodes it.
    var kind: UpcallKind {
        switch self {
        case .run: return .run
        case .fault(let vector, _, _): return vector == 14 ? .pageFault : .trap
        }
    }

    /// Where in the dispatcher frame the upcall's entry point is.
    var entryOffset: Int {
        switch kind {
        case .run: return DispatcherFrame.runEntry
        case .pageFault: return DispatcherFrame.pageFaultEntry
        case .trap: return DispatcherFrame.trapEntry
        }
    }
}

extension Domain {
    /// The frame as the kernel sees it (through its own mapping of all RAM).
    var dispatcherWords: UnsafeMutableRawPointer {
        CoreMemory().pointer(to: dispatcherFrame)
    }

    func frameWord(_ offset: Int) -> UInt64 { dispatcherWords.load(fromByteOffset: offset, as: UInt64.self) }
    func setFrameWord(_ offset: Int, _ value: UInt64) { dispatcherWords.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }

    /// Enabled: the library registered its run upcall and the flag is clear.
    var isEnabled: Bool { frameWord(DispatcherFrame.runEntry) != 0 && frameWord(DispatcherFrame.disabled) == 0 }
}

extension CoreState {
    /// The domain lost the core to an interrupt: if it was enabled, its registers go to
    /// the enabled save area and it will continue at its run upcall.
    func preempted(_ domain: Domain) {
        guard domain.isEnabled else { return }                  // disabled: resume as it was
        domain.context.store(to: domain.dispatcherWords + DispatcherFrame.enabledArea)
        domain.setFrameWord(DispatcherFrame.disabled, 1)
        domain.setFrameWord(DispatcherFrame.preemptions, domain.frameWord(DispatcherFrame.preemptions) &+ 1)
        domain.pendingUpcall = .run
    }

    /// The domain took an exception. If it was enabled with an upcall for it, the fault
    /// is its own to handle; otherwise the domain is stopped, and the report says when
    /// it had an upcall but was disabled.
    func handleException(of domain: Domain, vector: UInt8, errorCode: UInt64, address: UInt64) {
        let upcall = Upcall.fault(vector: vector, errorCode: errorCode, address: address)
        let hasEntry = domain.frameWord(upcall.entryOffset) != 0
        guard domain.isEnabled, hasEntry else {
            let disabled = hasEntry && domain.frameWord(DispatcherFrame.runEntry) != 0
            return stop(domain, exception: vector, errorCode: errorCode, faultAddress: address, disabled: disabled)
        }
        domain.context.store(to: domain.dispatcherWords + DispatcherFrame.trapArea)
        domain.setFrameWord(DispatcherFrame.faultVector, UInt64(vector))
        domain.setFrameWord(DispatcherFrame.faultErrorCode, errorCode)
        domain.setFrameWord(DispatcherFrame.faultAddress, address)
        domain.setFrameWord(DispatcherFrame.disabled, 1)
        domain.pendingUpcall = upcall
        domain.lastFault = (vector, errorCode, address, domain.context.instructionPointer)
    }

    /// Sets the domain's registers up for its pending upcall, if any. False if the frame
    /// names an entry or stack outside user memory (the domain is then stopped). Inlined:
    /// every entry to user mode asks, and seldom is there an upcall.
    @inline(__always)
    func enterUpcall(_ domain: Domain) -> Bool {
        guard let upcall = domain.pendingUpcall else { return true }
        return start(upcall, in: domain)
    }

    /// The pending `upcall`, now entered.
    func start(_ upcall: Upcall, in domain: Domain) -> Bool {
        domain.pendingUpcall = nil
        let entry = domain.frameWord(upcall.entryOffset), arguments: (UInt64, UInt64, UInt64, UInt64)
        switch upcall {
        case .run:
            arguments = (upcall.kind.rawValue, 0, 0, 0)
        case .fault(let vector, let errorCode, let address):
            arguments = (upcall.kind.rawValue, UInt64(vector), address, errorCode)
        }
        let stack = domain.frameWord(DispatcherFrame.upcallStack)
        guard UserMode.userRange.contains(entry), stack > UserMode.userRange.lowerBound + 64,
              stack <= UserMode.userRange.upperBound else {
            domain.state = .stopped("dispatcher: upcall entry \(hexadecimal(entry)) or stack \(hexadecimal(stack)) is not in user memory")
            return false
        }
        domain.setFrameWord(DispatcherFrame.upcalls, domain.frameWord(DispatcherFrame.upcalls) &+ 1)
        Tracing.record(.upcall, domain: UInt32(truncatingIfNeeded: domain.id), a: upcall.kind.rawValue)
        domain.context.prepareUpcall(entry: entry, stackTop: stack, arguments: arguments)
        return true
    }

    /// The resume system call: continue from the save area at `address` in the domain's
    /// memory, enabled. Nothing changes unless the area is readable user memory and safe
    /// to enter.
    func resume(_ domain: Domain, from address: UInt64) -> SystemCallStatus {
        guard let area = copyFromUser(domain, address: address, length: UserContext.saveAreaBytes) else { return .badAddress }
        guard domain.context.load(from: area) else { return .badSaveArea }
        domain.setFrameWord(DispatcherFrame.disabled, 0)
        domain.lastFault = nil
        return .success
    }
}
