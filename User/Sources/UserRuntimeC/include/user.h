// The user side of the system-call convention (see Kernel/Sources/CPUDriver/SystemCalls.swift):
// number in RAX, arguments in RDI, RSI, RDX, R10; status back in RAX, a value in RDX.
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <abi_layout.h>

/// Inlined wherever Swift calls them: plain `static inline` functions carry clang's
/// "no-builtins" (-ffreestanding), which LLVM will not inline into Swift code.
#define USER_INLINE static inline __attribute__((always_inline))

/// What a system call may change besides RAX and RDX, as for a function call: RCX and
/// R11 (`syscall` itself), every vector register and the x87 registers (the kernel keeps
/// MXCSR and the x87 control word, and skips saving the rest: docs/benchmarks.md).
#define USER_SYSCALL_CLOBBERS "rcx", "r11", "memory", \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
    "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", \
    "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

typedef struct { uint64_t status, value; } user_syscall_result;

/// R8, R9 and R10 may come back changed too: the call invocation returns its answer's
/// words and badge there (`CallRegisters` in the ABI module), and a program that feeds
/// the kernel raw words may make one through any of these wrappers.
USER_INLINE user_syscall_result user_syscall(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
    user_syscall_result r;
    register uint64_t r10 __asm__("r10") = a3;
    __asm__ volatile("syscall"
                     : "=a"(r.status), "=d"(r.value), "+r"(r10)
                     : "a"(number), "D"(a0), "S"(a1), "d"(a2)
                     : "r8", "r9", USER_SYSCALL_CLOBBERS);
    return r;
}

/// A system call with six argument registers: `number` is the invoke system call (the
/// ABI module has the numbers).
USER_INLINE user_syscall_result user_invoke(uint64_t number, uint64_t target, uint64_t operation, uint64_t a0,
                                              uint64_t a1, uint64_t a2, uint64_t a3) {
    user_syscall_result r;
    register uint64_t r10 __asm__("r10") = a1;
    register uint64_t r8 __asm__("r8") = a2;
    register uint64_t r9 __asm__("r9") = a3;
    __asm__ volatile("syscall"
                     : "=a"(r.status), "=d"(r.value), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "a"(number), "D"(target), "S"(operation), "d"(a0)
                     : USER_SYSCALL_CLOBBERS);
    return r;
}

/// The call invocation: three words out and, on success, the answer's three words and
/// badge back in the same registers (`CallRegisters` in the ABI module: the words in
/// RDX, R10 and R8, the badge in R9).
typedef struct { uint64_t status, words[3], badge; } user_call_invocation_result;

USER_INLINE user_call_invocation_result user_invoke_call(uint64_t number, uint64_t target, uint64_t operation, uint64_t w0,
                                       uint64_t w1, uint64_t w2, uint64_t receiver) {
    user_call_invocation_result r;
    register uint64_t r10 __asm__("r10") = w1;
    register uint64_t r8 __asm__("r8") = w2;
    register uint64_t r9 __asm__("r9") = receiver;
    __asm__ volatile("syscall"
                     : "=a"(r.status), "+d"(w0), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "a"(number), "D"(target), "S"(operation)
                     : USER_SYSCALL_CLOBBERS);
    r.words[0] = w0;
    r.words[1] = r10;
    r.words[2] = r8;
    r.badge = r9;
    return r;
}

/// The save area and the dispatcher frame, as the kernel lays them out (abi_layout.h).
typedef sf_save_area user_save_area;
typedef sf_dispatcher_frame user_dispatcher_frame;

/// The running dispatcher's frame: the kernel points FS at it on every entry, and it
/// holds its own address. (A spanned domain has one dispatcher per core, each with its
/// own frame, in one address space: a global could not say which is running.)
USER_INLINE user_dispatcher_frame *user_dispatcher(void) {
    user_dispatcher_frame *frame;
    __asm__ volatile("movq %%fs:%c1, %0" : "=r"(frame) : "i"(offsetof(user_dispatcher_frame, self_address)));
    return frame;
}
/// The library's word in the running dispatcher's frame (its scheduler record).
USER_INLINE uint64_t user_library(void) {
    uint64_t word;
    __asm__ volatile("movq %%fs:%c1, %0" : "=r"(word) : "i"(offsetof(user_dispatcher_frame, library)));
    return word;
}
USER_INLINE void user_set_library(uint64_t word) { user_dispatcher()->library = word; }

/// A spin lock word shared by the dispatchers of a spanned domain (0 free, 1 held).
USER_INLINE int user_try_lock(volatile uint64_t *word) { return __atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE) == 0; }
USER_INLINE void user_unlock(volatile uint64_t *word) { __atomic_store_n(word, 0, __ATOMIC_RELEASE); }
USER_INLINE void user_pause(void) { __asm__ volatile("pause"); }
/// A word other cores write, read afresh (for spinning on it).
USER_INLINE uint64_t user_load_acquire(volatile uint64_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }
USER_INLINE void user_store_release(volatile uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }
/* A device's register in a mapped device frame (uncached): each access happens, once, in order. */
USER_INLINE uint32_t user_mmio_read32(const void *address) { return *(const volatile uint32_t *)address; }
USER_INLINE void user_mmio_write32(void *address, uint32_t value) { *(volatile uint32_t *)address = value; }
/// Sets the disabled flag; the compiler barrier keeps every access to the scheduler's
/// data on the right side of it.
USER_INLINE void user_set_disabled(uint64_t disabled) {
    __asm__ volatile("" : : : "memory");
    user_dispatcher()->disabled = disabled;
    __asm__ volatile("" : : : "memory");
}
USER_INLINE uint64_t user_is_disabled(void) { return user_dispatcher()->disabled; }
/// The kernel's counters, read afresh each time (the kernel changes them between any
/// two instructions of a program that spins on them).
USER_INLINE uint64_t user_preemptions(void) { return ((volatile user_dispatcher_frame *)user_dispatcher())->preemptions; }
USER_INLINE uint64_t user_upcalls(void) { return ((volatile user_dispatcher_frame *)user_dispatcher())->upcalls; }

/// A user-level thread's saved state: its stack pointer while switched out
/// cooperatively (callee-saved registers on its stack), or a whole save area while it
/// is preempted.
typedef struct {
    uint64_t saved_rsp, padding;
    user_save_area area;
} user_thread_state;
_Static_assert(__builtin_offsetof(user_thread_state, area) == 16, "STATE_AREA in switch.S");

/// Saves the callee-saved registers of the running thread in `from`, continues `to`
/// (switched out cooperatively) and returns when something switches back (switch.S).
void user_thread_switch(user_thread_state *from, user_thread_state *to);
/// The same, but `to` was preempted: resumes its save area with system call `resume`.
/// Returns 0 when something switches back, or the kernel's status if it refused the
/// save area.
uint64_t user_thread_switch_to_area(user_thread_state *from, user_thread_state *to, uint64_t resume);
/// Continues `to` from an upcall or a finished thread, whose stack is abandoned; a
/// preempted `to` through system call `resume`, and if the kernel refuses its save
/// area the domain ends through system call `exit` with the status.
_Noreturn void user_thread_enter(user_thread_state *to, uint64_t preempted, uint64_t resume, uint64_t exit);
/// Prepares a new thread's stack ending at `top` so that switching to it calls
/// `swordfish_thread_main`.
void user_thread_prepare(user_thread_state *state, uint64_t top);
/// Copies the save area the kernel filled at preemption into `state`.
USER_INLINE void user_thread_save_preempted(user_thread_state *state) { state->area = user_dispatcher()->enabled_area; }
/// Copies the save area the kernel filled at a fault into `state`.
USER_INLINE void user_thread_save_faulted(user_thread_state *state) { state->area = user_dispatcher()->trap_area; }
/// Registers the upcall entry (for run, page-fault and trap upcalls) and its stack.
void user_dispatcher_register(void);
/// Fills `frame` (a zeroed page) for a new dispatcher of this domain on another core:
/// the upcall entry, its stack ending at `stack_top`, disabled (it starts at its run
/// upcall), the program's name and the library's `record`.
void user_dispatcher_prepare(user_dispatcher_frame *frame, uint64_t stack_top, uint64_t record);

USER_INLINE uint64_t user_timestamp(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }

/// Deliberate misbehaviour for the isolation tests (the probe program).
USER_INLINE uint64_t user_read(uint64_t address) { return *(volatile uint64_t *)address; }
USER_INLINE void user_write(uint64_t address, uint64_t value) { *(volatile uint64_t *)address = value; }
USER_INLINE void user_halt(void) { __asm__ volatile("hlt"); }
/// Calls the code at `address`.
USER_INLINE void user_call(uint64_t address) { ((void (*)(void))address)(); }
/// Spins with the direction flag set for `cycles` TSC cycles (past a timer tick), then
/// clears it: the kernel must not inherit the flag when the tick interrupts, and must
/// give it back on return. Returns whether the flag was still set at the end.
USER_INLINE int user_spin_with_direction_flag(uint64_t cycles) {
    uint64_t start = user_timestamp(), flags;
    __asm__ volatile("std" : : : "memory");
    while (user_timestamp() - start < cycles) {}
    __asm__ volatile("pushfq; popq %0; cld" : "=r"(flags) : : "memory");
    return (flags >> 10) & 1;
}

/// For the probe: sets MXCSR (rounding down) and the x87 control word (53-bit
/// precision) to unusual values and every vector register to all ones, makes system
/// call `number` (one the kernel answers at once), and says what came back wrong: bit 0
/// a vector register not zeroed, bit 1 MXCSR changed, bit 2 the x87 control word
/// changed. The caller's MXCSR and control word are restored.
USER_INLINE uint64_t user_syscall_register_check(uint64_t number) {
    uint32_t mxcsr = 0x3F80, saved_mxcsr, mxcsr_after;
    uint16_t fcw = 0x27F, saved_fcw, fcw_after;
    uint64_t high, low;
    __asm__ volatile("stmxcsr %[sm]\n\tfnstcw %[sf]\n\tldmxcsr %[m]\n\tfldcw %[f]\n\t"
                     "pcmpeqd %%xmm0, %%xmm0\n\tmovdqa %%xmm0, %%xmm1\n\tmovdqa %%xmm0, %%xmm2\n\t"
                     "movdqa %%xmm0, %%xmm3\n\tmovdqa %%xmm0, %%xmm4\n\tmovdqa %%xmm0, %%xmm5\n\t"
                     "movdqa %%xmm0, %%xmm6\n\tmovdqa %%xmm0, %%xmm7\n\tmovdqa %%xmm0, %%xmm8\n\t"
                     "movdqa %%xmm0, %%xmm9\n\tmovdqa %%xmm0, %%xmm10\n\tmovdqa %%xmm0, %%xmm11\n\t"
                     "movdqa %%xmm0, %%xmm12\n\tmovdqa %%xmm0, %%xmm13\n\tmovdqa %%xmm0, %%xmm14\n\t"
                     "movdqa %%xmm0, %%xmm15\n\t"
                     "syscall\n\t"
                     "por %%xmm1, %%xmm0\n\tpor %%xmm2, %%xmm0\n\tpor %%xmm3, %%xmm0\n\tpor %%xmm4, %%xmm0\n\t"
                     "por %%xmm5, %%xmm0\n\tpor %%xmm6, %%xmm0\n\tpor %%xmm7, %%xmm0\n\tpor %%xmm8, %%xmm0\n\t"
                     "por %%xmm9, %%xmm0\n\tpor %%xmm10, %%xmm0\n\tpor %%xmm11, %%xmm0\n\tpor %%xmm12, %%xmm0\n\t"
                     "por %%xmm13, %%xmm0\n\tpor %%xmm14, %%xmm0\n\tpor %%xmm15, %%xmm0\n\t"
                     "movq %%xmm0, %[low]\n\tpsrldq $8, %%xmm0\n\tmovq %%xmm0, %[high]\n\t"
                     "stmxcsr %[am]\n\tfnstcw %[af]\n\tldmxcsr %[sm]\n\tfldcw %[sf]"
                     : [low] "=&r"(low), [high] "=&r"(high), [am] "=m"(mxcsr_after), [af] "=m"(fcw_after),
                       [sm] "=m"(saved_mxcsr), [sf] "=m"(saved_fcw), "+a"(number)
                     : [m] "m"(mxcsr), [f] "m"(fcw)
                     : "rdx", USER_SYSCALL_CLOBBERS);
    return ((low | high) != 0 ? 1 : 0) | (mxcsr_after != mxcsr ? 2 : 0) | (fcw_after != fcw ? 4 : 0);
}

/// The argument string the kernel passed at start (address and length).
uint64_t user_argument_bytes(void);
uint64_t user_argument_count(void);
