// The user side of the system-call convention (see Kernel/Sources/CPUDriver/SystemCalls.swift):
// number in RAX, arguments in RDI, RSI, RDX, R10; status back in RAX, a value in RDX.
#pragma once
#include <stdint.h>
#include <stddef.h>

typedef struct { uint64_t status, value; } user_syscall_result;

static inline user_syscall_result user_syscall(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
    user_syscall_result r;
    register uint64_t r10 __asm__("r10") = a3;
    __asm__ volatile("syscall"
                     : "=a"(r.status), "=d"(r.value)
                     : "a"(number), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
                     : "rcx", "r11", "memory");
    return r;
}

/// A capability invocation: system call 3 with six argument registers.
static inline user_syscall_result user_invoke(uint64_t target, uint64_t operation, uint64_t a0, uint64_t a1,
                                              uint64_t a2, uint64_t a3) {
    user_syscall_result r;
    register uint64_t r10 __asm__("r10") = a1;
    register uint64_t r8 __asm__("r8") = a2;
    register uint64_t r9 __asm__("r9") = a3;
    __asm__ volatile("syscall"
                     : "=a"(r.status), "=d"(r.value)
                     : "a"(3ull), "D"(target), "S"(operation), "d"(a0), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

/// The heap arena in the program's own data segment (start.S).
extern char user_heap_arena[], user_heap_arena_end[];
static inline uint64_t user_heap_start(void) { return (uint64_t)user_heap_arena; }
static inline uint64_t user_heap_end(void) { return (uint64_t)user_heap_arena_end; }

static inline uint64_t user_timestamp(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }

/// Deliberate misbehaviour for the isolation tests (the probe program).
static inline uint64_t user_read(uint64_t address) { return *(volatile uint64_t *)address; }
static inline void user_write(uint64_t address, uint64_t value) { *(volatile uint64_t *)address = value; }
static inline void user_halt(void) { __asm__ volatile("hlt"); }
/// Spins with the direction flag set for `cycles` TSC cycles (past a timer tick), then
/// clears it: the kernel must not inherit the flag when the tick interrupts.
static inline void user_spin_with_direction_flag(uint64_t cycles) {
    uint64_t start = user_timestamp();
    __asm__ volatile("std" : : : "memory");
    while (user_timestamp() - start < cycles) {}
    __asm__ volatile("cld" : : : "memory");
}

/// The argument string the kernel passed at start (address and length).
uint64_t user_argument_bytes(void);
uint64_t user_argument_count(void);
