// The processor's exceptions by name, as the kernel's panics and stops and the user
// library's fault reports print them (x86-64: SDM Vol. 3A, Table 6-1).

/// The mnemonic and name of exception `vector`.
public func exceptionName(vector: UInt8) -> StaticString {
    switch vector {
    case 0: return "divide error (#DE)"
    case 1: return "debug (#DB)"
    case 2: return "non-maskable interrupt (NMI)"
    case 3: return "breakpoint (#BP)"
    case 4: return "overflow (#OF)"
    case 5: return "bound range exceeded (#BR)"
    case 6: return "invalid opcode (#UD)"
    case 7: return "device not available (#NM)"
    case 8: return "double fault (#DF)"
    case 10: return "invalid TSS (#TS)"
    case 11: return "segment not present (#NP)"
    case 12: return "stack-segment fault (#SS)"
    case 13: return "general protection (#GP)"
    case 14: return "page fault (#PF)"
    case 16: return "x87 floating-point error (#MF)"
    case 17: return "alignment check (#AC)"
    case 18: return "machine check (#MC)"
    case 19: return "SIMD floating-point (#XM)"
    case 20: return "virtualization (#VE)"
    case 21: return "control protection (#CP)"
    default: return "reserved exception"
    }
}
