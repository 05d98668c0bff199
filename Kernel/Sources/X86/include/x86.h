// x86-64 instructions that Swift cannot express, as one-line X86_INLINE functions
// (the xv6 `riscv.h` habit: every register access lives in this one file). Only the
// Arch module imports this header; the rest of the kernel talks to Arch.
#pragma once
#include <abi_layout.h>
#include <stdint.h>
#include <stddef.h>

/// Every helper is inlined where Swift calls it. Plain `static inline` is not enough:
/// clang marks these functions "no-builtins" (the toolset's -ffreestanding), which LLVM
/// refuses to inline into Swift code without it, so each one-instruction helper cost a
/// call, a frame and a return (docs/benchmarks.md, "Path lengths").
#define X86_INLINE static inline __attribute__((always_inline))

X86_INLINE uint8_t x86_inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
X86_INLINE void x86_outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
X86_INLINE void x86_outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
X86_INLINE uint16_t x86_inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
X86_INLINE void x86_outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
X86_INLINE uint32_t x86_inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

X86_INLINE uint64_t x86_rdmsr(uint32_t msr) { uint32_t lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return ((uint64_t)hi << 32) | lo; }
X86_INLINE void x86_wrmsr(uint32_t msr, uint64_t v) { __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory"); }
X86_INLINE uint64_t x86_rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }

typedef struct { uint32_t eax, ebx, ecx, edx; } x86_cpuid_result;
X86_INLINE x86_cpuid_result x86_cpuid(uint32_t leaf, uint32_t subleaf) {
    x86_cpuid_result r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

X86_INLINE uint64_t x86_read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
X86_INLINE uint64_t x86_read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
X86_INLINE uint64_t x86_read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
X86_INLINE void x86_write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
X86_INLINE void x86_invlpg(uint64_t address) { __asm__ volatile("invlpg (%0)" : : "r"(address) : "memory"); }
X86_INLINE uint64_t x86_read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
X86_INLINE uint64_t x86_read_rbp(void) { uint64_t v; __asm__ volatile("mov %%rbp, %0" : "=r"(v)); return v; }

/// The per-core block's address: by convention its first word points to itself, and
/// GS.base points at it, so one load through %gs finds the current core's state. Before
/// a core has a block, GS.base points at a zero word (entry.S), so this is NULL.
X86_INLINE void *x86_core_block(void) { void *p; __asm__ volatile("mov %%gs:0, %0" : "=r"(p)); return p; }

typedef struct __attribute__((packed)) { uint16_t limit; uint64_t base; } x86_table_pointer;
X86_INLINE void x86_lgdt(const x86_table_pointer *p) { __asm__ volatile("lgdt (%0)" : : "r"(p) : "memory"); }
X86_INLINE void x86_lidt(const x86_table_pointer *p) { __asm__ volatile("lidt (%0)" : : "r"(p) : "memory"); }
X86_INLINE void x86_ltr(uint16_t selector) { __asm__ volatile("ltr %0" : : "r"(selector) : "memory"); }

X86_INLINE uint64_t x86_read_flags(void) { uint64_t v; __asm__ volatile("pushfq; popq %0" : "=r"(v)); return v; }
X86_INLINE void x86_cli(void) { __asm__ volatile("cli" : : : "memory"); }
X86_INLINE void x86_pause(void) { __asm__ volatile("pause" : : : "memory"); }
/// Enables interrupts and halts in one step: `sti` takes effect after the next
/// instruction, so an interrupt that is already pending wakes the `hlt` instead of
/// slipping in between and being missed. Interrupts are off again on return.
X86_INLINE void x86_wait_for_interrupt(void) { __asm__ volatile("sti; hlt; cli" : : : "memory"); }
/// Lets interrupts that are already pending in, without halting: `sti; nop` opens the
/// one-instruction window, `cli` closes it again.
X86_INLINE void x86_take_pending_interrupts(void) { __asm__ volatile("sti; nop; cli" : : : "memory"); }
X86_INLINE void x86_compiler_barrier(void) { __asm__ volatile("" : : : "memory"); }

X86_INLINE uint32_t x86_mmio_read32(uint64_t address) { return *(volatile uint32_t *)address; }
X86_INLINE void x86_mmio_write32(uint64_t address, uint32_t v) { *(volatile uint32_t *)address = v; }
X86_INLINE uint64_t x86_volatile_load64(const void *p) { return *(const volatile uint64_t *)p; }
X86_INLINE void x86_volatile_store64(void *p, uint64_t v) { *(volatile uint64_t *)p = v; }

/// Stops this core for good: interrupts off, halt forever (an NMI only loops back).
__attribute__((noreturn)) X86_INLINE void x86_stop(void) { for (;;) __asm__ volatile("cli; hlt"); }

/// Reloads CS and the data segment registers after a new GDT is loaded.
void x86_reload_segments(uint16_t code, uint16_t data);

// ---- Symbols defined by the assembly files and the linker script ----

/// One entry stub per interrupt vector (traps.S); the IDT points at these.
extern const uint64_t x86_trap_stubs[256];
X86_INLINE uint64_t x86_trap_stub(unsigned vector) { return x86_trap_stubs[vector & 255]; }
/// Physical address of the boot page tables' root (entry.S), shared read-only by
/// every core until each builds its own.
extern uint64_t x86_boot_pml4[512];
/// The PVH start-info address that QEMU passed in %ebx (entry.S writes it once).
extern uint64_t x86_pvh_start_info;
/// The kernel image bounds (linker script), the bootstrap core's stack and its
/// early-boot bump arena (entry.S), as addresses.
extern char __kernel_start[], __kernel_end[];
extern char x86_boot_arena[], x86_boot_arena_end[];
extern char x86_boot_stack_bottom[], x86_boot_stack_top[];
extern char x86_kernel_tables[], x86_kernel_tables_end[];
X86_INLINE uint64_t x86_kernel_tables_start(void) { return (uint64_t)x86_kernel_tables; }
X86_INLINE uint64_t x86_kernel_tables_limit(void) { return (uint64_t)x86_kernel_tables_end; }
X86_INLINE uint64_t x86_kernel_start(void) { return (uint64_t)__kernel_start; }
X86_INLINE uint64_t x86_kernel_end(void) { return (uint64_t)__kernel_end; }
X86_INLINE uint64_t x86_boot_arena_start(void) { return (uint64_t)x86_boot_arena; }
X86_INLINE uint64_t x86_boot_arena_limit(void) { return (uint64_t)x86_boot_arena_end; }
X86_INLINE uint64_t x86_boot_stack_start(void) { return (uint64_t)x86_boot_stack_bottom; }
X86_INLINE uint64_t x86_boot_stack_end(void) { return (uint64_t)x86_boot_stack_top; }

/// The registers as traps.S pushes them (lowest address first).
typedef struct {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
} x86_trap_frame;

/// A user thread's registers while it is not running (user.S fills and reads it): the
/// save area of the kernel–user ABI, stored whole into dispatcher frames.
typedef sf_save_area x86_user_context;

/// Runs user code from `context` until it makes a system call (returns 0) or takes an
/// interrupt or exception (returns 1, with `vector`, `error_code`, `fault_address`
/// filled in). The user's registers are saved back into `context` either way.
int x86_enter_user(x86_user_context *context);
/// The `syscall` instruction's entry point (user.S).
void x86_syscall_entry(void);

/// Copies the real-mode AP start-up code to `destination` (below 1 MiB, page
/// aligned) and fills in what the new core needs to reach 64-bit Swift code.
void x86_prepare_trampoline(uint64_t destination, uint64_t cr3, uint64_t stack_top,
                            uint64_t handoff, void (*entry)(uint64_t handoff));
