// The memory layouts the kernel and user programs share, declared once in C (the user
// runtime's C and assembly and the kernel's entry code read them; Swift reads them
// through MemoryLayout). Numbers (system calls, operations, types, statuses) are in
// the Swift ABI module.
#pragma once
#include <stdint.h>

/// A register save area: what the kernel saves when it preempts a dispatcher or hands
/// it a fault, and what the resume system call continues from. `fpu` is the fxsave
/// image and must stay 16-byte aligned.
typedef struct {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rsp, rflags;
    uint64_t vector, error_code, fault_address;
    /// The kernel's own word: 1 when the registers are those a `syscall` left (RCX and
    /// R11 hold RIP and RFLAGS) and only RAX and RDX changed since, so the kernel may
    /// return by `sysretq`. Meaningless in a dispatcher frame.
    uint64_t from_syscall;
    uint8_t fpu[512] __attribute__((aligned(16)));
} sf_save_area;
_Static_assert(sizeof(sf_save_area) == 688, "save area layout");

/// The page a dispatcher shares with its core's kernel (at the same address in every
/// domain's first dispatcher; a spanned domain's others are where its library put them). The user library registers its upcall entries and stack and keeps the
/// disabled flag; the kernel fills the save areas, the fault words and the counters.
typedef struct {
    volatile uint64_t disabled;
    uint64_t run_entry, page_fault_entry, trap_entry, upcall_stack;
    uint64_t fault_vector, fault_error_code, fault_address;
    /// Enabled preemptions and upcalls so far, counted by the kernel.
    uint64_t preemptions, upcalls;
    /// The domain's system-wide id (`SystemDomainID`), written at spawn.
    uint64_t identity;
    /// 1 while this core records a trace (`trace on`): the `trace` system call then
    /// records what the domain passes; 0 otherwise, when the library need not call it.
    volatile uint64_t tracing;
    /// Where the domain sees this frame (written by the kernel, which also points the
    /// FS base at it on every entry): each dispatcher of a spanned domain has its own
    /// frame, so the library finds it through FS (`%fs:self_address`), not a global.
    uint64_t self_address;
    /// The user library's own word: its record for this dispatcher (the scheduler's).
    uint64_t library;
    uint64_t reserved[14];
    /// The program's name in the boot image, NUL-padded (written at spawn), so that the
    /// library's reports say which program they come from.
    char program_name[32];
    sf_save_area enabled_area;
    uint8_t reserved_after_enabled[80];
    sf_save_area trap_area;
} sf_dispatcher_frame;
_Static_assert(__builtin_offsetof(sf_dispatcher_frame, enabled_area) == 256, "dispatcher frame layout");
_Static_assert(__builtin_offsetof(sf_dispatcher_frame, trap_area) == 1024, "dispatcher frame layout");
_Static_assert(sizeof(sf_dispatcher_frame) <= 4096, "the dispatcher frame is one page");
