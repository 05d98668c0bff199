// Interrupt and exception entry. Each vector has a stub that pushes a dummy error code
// where the CPU pushes none (so every frame has the same shape) and the vector number,
// then jumps to the common path, which saves the general registers and the full
// FPU/SSE state (the kernel's Swift code uses SSE registers) and calls the Swift
// dispatcher `x86_trap_dispatch(frame)`. Nothing else happens in assembly.

.macro STUB vector
    .p2align 4
trap_stub_\vector:
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    pushq $0
    .endif
    pushq $\vector
    jmp trap_common
.endm

.section .text
.altmacro
.set i, 0
.rept 256
    STUB %i
    .set i, i + 1
.endr

trap_common:
    testb $3, 24(%rsp)                  // CS of the interrupted code: ring 3?
    jnz x86_user_trap                   // user.S: back to the kernel's event loop
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rbx                     // %rbx: the frame (callee-saved across the call)
    // NMI, double fault and machine check can arrive anywhere, even between `swapgs`
    // and `iretq` on the way to user mode, or before the `swapgs` of a system call:
    // then CS says kernel but GS.base is the user's, which is always 0 here. Switch to
    // the kernel's for the handler and back afterwards (%r12 remembers; callee-saved).
    xorl %r12d, %r12d
    movq 120(%rsp), %rax                // the vector, above the 15 saved registers
    cmpq $2, %rax
    je 1f
    cmpq $8, %rax
    je 1f
    cmpq $18, %rax
    jne 2f
1:  movl $0xC0000101, %ecx              // IA32_GS_BASE
    rdmsr
    orl %edx, %eax
    jnz 2f
    swapgs
    movl $1, %r12d
2:  andq $~15, %rsp
    subq $512, %rsp
    fxsave (%rsp)
    movq %rbx, %rdi
    call x86_trap_dispatch
    fxrstor (%rsp)
    testl %r12d, %r12d
    jz 3f
    swapgs
3:  movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp                      // vector and error code
    iretq

.macro STUB_ADDRESS vector
    .quad trap_stub_\vector
.endm
.section .rodata
.p2align 4
.global x86_trap_stubs
x86_trap_stubs:
.set i, 0
.rept 256
    STUB_ADDRESS %i
    .set i, i + 1
.endr
