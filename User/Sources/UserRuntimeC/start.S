// A user program starts here with RDI = its argument string and RSI = its length (both
// on its stack, placed by the kernel); the kernel points FS at its dispatcher frame. The library
// registers its upcalls, then main (the Swift program's top-level code) runs as the
// first thread; if it returns, the program exits with status 0 (system call 1).
.section .text.start, "ax"
.global _start
_start:
    xorl %ebp, %ebp
    andq $~15, %rsp
    movq %rdi, user_arguments(%rip)
    movq %rsi, user_arguments_length(%rip)
    call user_dispatcher_register
    xorl %edi, %edi
    xorl %esi, %esi
    call main
    movl $1, %eax
    xorl %edi, %edi
    syscall
1:  jmp 1b

.section .bss
.p2align 3
.global user_arguments, user_arguments_length
user_arguments: .skip 8
user_arguments_length: .skip 8

