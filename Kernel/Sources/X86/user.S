// Entering and leaving user mode. To the CPU driver, running user code looks like a
// function call: `x86_enter_user(context)` saves the kernel's callee-saved registers and
// stack pointer in the per-core block, loads the user's registers and `iretq`s to ring 3.
// A system call, interrupt or exception in ring 3 saves the user's registers into the
// context and returns from `x86_enter_user` on the kernel stack, so the event loop
// carries on where it was. The kernel never returns to user mode from a trap directly.
//
// Per-core block words used here (GS.base = the block while in the kernel; `swapgs`
// parks it in IA32_KERNEL_GS_BASE while user code runs):
//   %gs:8   the kernel stack pointer inside x86_enter_user
//   %gs:16  the context of the user code now running
//   %gs:24  scratch
//   %gs:32  the context whose x87 registers the FPU holds: the last one entered
//
// Floating point. A trap saves the whole FPU state (`fxsave`) and an entry by `iretq`
// reloads it. A system call is a call in the SysV sense (user.h declares the vector
// and x87 registers clobbered), so its entry keeps only what a call keeps, MXCSR and
// the x87 control word, in the context's fxsave image (with the x87 stack marked
// empty), and `fxsave`/`fxrstor`, which TCG emulates slowly, leave the system-call
// path. The kernel uses vector registers but never the x87 unit, so when the same
// context goes back by `sysretq` the FPU still holds its x87 state: MXCSR is reloaded
// and the vector registers zeroed (they may hold kernel data). After another context
// ran, the image is reloaded whole.

#define CTX_RAX 0
#define CTX_RBX 8
#define CTX_RCX 16
#define CTX_RDX 24
#define CTX_RSI 32
#define CTX_RDI 40
#define CTX_RBP 48
#define CTX_R8 56
#define CTX_R9 64
#define CTX_R10 72
#define CTX_R11 80
#define CTX_R12 88
#define CTX_R13 96
#define CTX_R14 104
#define CTX_R15 112
#define CTX_RIP 120
#define CTX_RSP 128
#define CTX_RFLAGS 136
#define CTX_VECTOR 144
#define CTX_ERROR 152
#define CTX_FAULT 160
#define CTX_FROM_SYSCALL 168
#define CTX_FPU 176

#define CTX_FCW (CTX_FPU + 0)
#define CTX_FTW (CTX_FPU + 4)
#define CTX_MXCSR (CTX_FPU + 24)

#define USER_CODE 0x23
#define USER_DATA 0x1B

// The registers both ways back to ring 3 load alike: all but RCX and R11 (which
// `sysretq` takes RIP and RFLAGS in), RSP and RDI (the context pointer itself).
.macro LOAD_GENERAL
    movq CTX_RAX(%rdi), %rax
    movq CTX_RBX(%rdi), %rbx
    movq CTX_RDX(%rdi), %rdx
    movq CTX_RSI(%rdi), %rsi
    movq CTX_RBP(%rdi), %rbp
    movq CTX_R8(%rdi), %r8
    movq CTX_R9(%rdi), %r9
    movq CTX_R10(%rdi), %r10
    movq CTX_R12(%rdi), %r12
    movq CTX_R13(%rdi), %r13
    movq CTX_R14(%rdi), %r14
    movq CTX_R15(%rdi), %r15
.endm

.section .rodata
kernel_mxcsr: .long 0x1F80
kernel_fcw: .word 0x37F

.section .text
.global x86_enter_user
x86_enter_user:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %gs:8
    movq %rdi, %gs:16
    cmpq $0, CTX_FROM_SYSCALL(%rdi)
    jne 1f
    fxrstor CTX_FPU(%rdi)
    movq %rdi, %gs:32
    // The iretq frame: user SS, RSP, RFLAGS (interrupts on), CS, RIP.
    pushq $USER_DATA
    pushq CTX_RSP(%rdi)
    movq CTX_RFLAGS(%rdi), %rax
    andq $0x0CD5, %rax                  // only arithmetic flags and DF from the user
    orq $0x202, %rax                    // IF, and the always-one bit
    pushq %rax
    pushq $USER_CODE
    pushq CTX_RIP(%rdi)
    LOAD_GENERAL
    movq CTX_RCX(%rdi), %rcx
    movq CTX_R11(%rdi), %r11
    movq CTX_RDI(%rdi), %rdi
    swapgs
    iretq

// Back from a system call by `sysretq`: RCX = RIP and R11 = RFLAGS, as `syscall` left
// them (the caller checked that RIP is canonical: Intel's `sysretq` faults in ring 0
// otherwise). The user's stack is loaded last, with interrupts still off.
1:  cmpq %rdi, %gs:32
    jne 2f
    ldmxcsr CTX_MXCSR(%rdi)
    pxor %xmm0, %xmm0
    pxor %xmm1, %xmm1
    pxor %xmm2, %xmm2
    pxor %xmm3, %xmm3
    pxor %xmm4, %xmm4
    pxor %xmm5, %xmm5
    pxor %xmm6, %xmm6
    pxor %xmm7, %xmm7
    pxor %xmm8, %xmm8
    pxor %xmm9, %xmm9
    pxor %xmm10, %xmm10
    pxor %xmm11, %xmm11
    pxor %xmm12, %xmm12
    pxor %xmm13, %xmm13
    pxor %xmm14, %xmm14
    pxor %xmm15, %xmm15
3:  movq CTX_RIP(%rdi), %rcx
    movq CTX_RFLAGS(%rdi), %r11
    andq $0x0CD5, %r11
    orq $0x202, %r11
    LOAD_GENERAL
    movq CTX_RSP(%rdi), %rsp
    movq CTX_RDI(%rdi), %rdi
    swapgs
    sysretq
2:  fxrstor CTX_FPU(%rdi)
    movq %rdi, %gs:32
    jmp 3b

// Saves every general register but %rax (already in the context) and returns to the
// kernel; %rax = context, %ecx = the return value.
.macro SAVE_AND_LEAVE
    movq %rbx, CTX_RBX(%rax)
    movq %rdx, CTX_RDX(%rax)
    movq %rsi, CTX_RSI(%rax)
    movq %rdi, CTX_RDI(%rax)
    movq %rbp, CTX_RBP(%rax)
    movq %r8, CTX_R8(%rax)
    movq %r9, CTX_R9(%rax)
    movq %r10, CTX_R10(%rax)
    movq %r12, CTX_R12(%rax)
    movq %r13, CTX_R13(%rax)
    movq %r14, CTX_R14(%rax)
    movq %r15, CTX_R15(%rax)
    // The kernel's own MXCSR (callee-saved in the SysV ABI): the user may have
    // changed it.
    ldmxcsr kernel_mxcsr(%rip)
    movq %gs:8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    movl %ecx, %eax
    ret
.endm

// `syscall`: RCX = user RIP, R11 = user RFLAGS, interrupts masked by IA32_FMASK, still
// on the user stack.
.global x86_syscall_entry
x86_syscall_entry:
    swapgs
    cld                                 // FMASK clears DF too; kept as a safeguard
    movq %rax, %gs:24
    movq %gs:16, %rax
    movq %rcx, CTX_RIP(%rax)
    movq %r11, CTX_RFLAGS(%rax)
    movq %r11, CTX_R11(%rax)
    movq %rcx, CTX_RCX(%rax)
    movq %rsp, CTX_RSP(%rax)
    movq %gs:24, %rcx
    movq %rcx, CTX_RAX(%rax)
    movq $1, CTX_FROM_SYSCALL(%rax)
    stmxcsr CTX_MXCSR(%rax)             // what a call keeps; the x87 stack is empty
    fnstcw CTX_FCW(%rax)
    movb $0, CTX_FTW(%rax)
    xorl %ecx, %ecx                     // return value 0: a system call
    SAVE_AND_LEAVE

// From traps.S when an interrupt or exception arrives in ring 3. The stack (the TSS's
// RSP0) holds: vector, error code, RIP, CS, RFLAGS, RSP, SS.
.global x86_user_trap
x86_user_trap:
    swapgs
    cld                                 // interrupt gates do not clear DF: the user's
                                        // `std` must not reach the kernel's rep movsb
    movq %rax, %gs:24
    movq %gs:16, %rax
    movq %rcx, CTX_RCX(%rax)
    movq %r11, CTX_R11(%rax)
    movq %gs:24, %rcx
    movq %rcx, CTX_RAX(%rax)
    movq $0, CTX_FROM_SYSCALL(%rax)
    movq 0(%rsp), %rcx
    movq %rcx, CTX_VECTOR(%rax)
    movq 8(%rsp), %rcx
    movq %rcx, CTX_ERROR(%rax)
    movq 16(%rsp), %rcx
    movq %rcx, CTX_RIP(%rax)
    movq 32(%rsp), %rcx
    movq %rcx, CTX_RFLAGS(%rax)
    movq 40(%rsp), %rcx
    movq %rcx, CTX_RSP(%rax)
    // CR2 only for a page fault: otherwise it may still hold another domain's address.
    xorl %ecx, %ecx
    cmpq $14, 0(%rsp)
    jne 1f
    movq %cr2, %rcx
1:  movq %rcx, CTX_FAULT(%rax)
    fxsave CTX_FPU(%rax)
    fldcw kernel_fcw(%rip)
    movl $1, %ecx                       // return value 1: a trap
    SAVE_AND_LEAVE
