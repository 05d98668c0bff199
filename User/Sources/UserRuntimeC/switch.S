// Switching between user-level threads. A cooperative switch saves what the SysV ABI
// makes callee-saved (RBX, RBP, R12–R15, MXCSR and the x87 control word) on the old
// thread's stack and its stack pointer in its user_thread_state; everything else the
// compiler already assumes lost across a call. A thread the kernel preempted has all
// of its registers in a save area instead, and only the kernel can reload those
// atomically with clearing the disabled flag: the resume system call, whose number
// (like exit's) the Swift caller passes in from the ABI module.

#define STATE_AREA 16                   // offsetof(user_thread_state, area)

.macro PUSH_CALLEE_SAVED
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
.endm

// Also zeroes RAX: a thread that left by user_thread_switch_to_area comes back through
// here too, and 0 tells it that it was resumed, not refused.
.macro POP_CALLEE_SAVED
    xorl %eax, %eax
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
.endm

.section .text
// void user_thread_switch(user_thread_state *from, user_thread_state *to)
.global user_thread_switch
user_thread_switch:
    PUSH_CALLEE_SAVED
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    POP_CALLEE_SAVED
    ret

// uint64_t user_thread_switch_to_area(user_thread_state *from, user_thread_state *to, uint64_t resume)
.global user_thread_switch_to_area
user_thread_switch_to_area:
    PUSH_CALLEE_SAVED
    movq %rsp, (%rdi)
    leaq STATE_AREA(%rsi), %rdi
    movq %rdx, %rax
    syscall
    // Only a refused save area comes back here, with the status in RAX.
    movq %rax, %rcx
    POP_CALLEE_SAVED
    movq %rcx, %rax
    ret

// _Noreturn void user_thread_enter(user_thread_state *to, uint64_t preempted, uint64_t resume, uint64_t exit)
.global user_thread_enter
user_thread_enter:
    testq %rsi, %rsi
    jnz 1f
    movq (%rdi), %rsp
    POP_CALLEE_SAVED
    ret
1:  leaq STATE_AREA(%rdi), %rdi
    movq %rcx, %r12                     // syscall clobbers RCX; nothing returns here
    movq %rdx, %rax
    syscall
    movq %rax, %rdi                     // refused: exit with the status
    movq %r12, %rax
    syscall
    ud2

// The first code of a new thread, "returned" to by its first switch.
user_thread_trampoline:
    andq $~15, %rsp
    call swordfish_thread_main
    ud2

// void user_thread_prepare(user_thread_state *state, uint64_t top): a stack that
// POP_CALLEE_SAVED and `ret` turn into a call of the trampoline, with zeroed registers
// and the default floating-point controls.
.global user_thread_prepare
user_thread_prepare:
    andq $~15, %rsi
    leaq user_thread_trampoline(%rip), %rax
    movq %rax, -8(%rsi)
    xorl %eax, %eax
    movq %rax, -16(%rsi)
    movq %rax, -24(%rsi)
    movq %rax, -32(%rsi)
    movq %rax, -40(%rsi)
    movq %rax, -48(%rsi)
    movq %rax, -56(%rsi)
    movl $0x1F80, -64(%rsi)             // MXCSR
    movl $0x37F, -60(%rsi)              // x87 control word
    leaq -64(%rsi), %rax
    movq %rax, (%rdi)
    ret
