// Application-processor start-up code. An AP leaves INIT in 16-bit real mode and, on
// the STARTUP IPI, runs from physical address vector * 4 KiB. The bootstrap core copies
// this block below 1 MiB (x86_prepare_trampoline) and patches the four fields at its
// end. The code is position-dependent on its copy's address, which it finds in %cs.
// After INIT an AP has caches disabled (CR0.CD/NW set): we clear them here.

#define TRAMPOLINE_BASE 0x8000
#define AT(label) (label - ap_trampoline_start + TRAMPOLINE_BASE)

.section .rodata.trampoline, "a"
.global ap_trampoline_start, ap_trampoline_end
.global ap_trampoline_cr3, ap_trampoline_stack, ap_trampoline_handoff, ap_trampoline_entry
.code16
ap_trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl AT(ap_gdt_pointer)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $AT(ap_protected)

.code32
ap_protected:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax    // PAE, OSFXSR, OSXMMEXCPT
    movl %eax, %cr4
    movl AT(ap_trampoline_cr3), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $((1 << 8) | (1 << 11)), %eax               // EFER.LME, EFER.NXE
    wrmsr
    movl %cr0, %eax
    andl $~((1 << 30) | (1 << 29) | (1 << 2)), %eax // clear CD, NW, EM
    orl $((1 << 31) | (1 << 1) | 1), %eax           // PG, MP, PE
    movl %eax, %cr0
    ljmp $0x18, $AT(ap_long)

.code64
ap_long:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq AT(ap_trampoline_stack), %rsp
    xorl %ebp, %ebp
    movabsq $x86_point_gs_at_no_block, %rax
    call *%rax
    movq AT(ap_trampoline_handoff), %rdi
    movq AT(ap_trampoline_entry), %rax
    call *%rax
1:  cli
    hlt
    jmp 1b

.p2align 3
ap_gdt:
    .quad 0
    .quad 0x00CF9A000000FFFF            // 0x08: 32-bit code
    .quad 0x00CF92000000FFFF            // 0x10: data
    .quad 0x00AF9A000000FFFF            // 0x18: 64-bit code
ap_gdt_pointer:
    .word ap_gdt_pointer - ap_gdt - 1
    .long AT(ap_gdt)
.p2align 3
ap_trampoline_cr3:      .quad 0
ap_trampoline_stack:    .quad 0
ap_trampoline_handoff:  .quad 0
ap_trampoline_entry:    .quad 0
ap_trampoline_end:
