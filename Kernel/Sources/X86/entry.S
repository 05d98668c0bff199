// Bootstrap-core entry. QEMU's PVH loader enters `_start32` in 32-bit protected mode
// with paging off and %ebx = physical address of the hvm_start_info structure. We
// build just enough page tables to reach 64-bit mode (the first 4 GiB identity-mapped
// with 2 MiB pages), turn on SSE, and call Swift (`main`). Swift later replaces these
// tables with a map of all RAM.

#define CR0_PE  (1 << 0)
#define CR0_MP  (1 << 1)
#define CR0_EM  (1 << 2)
#define CR0_PG  (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define EFER_MSR 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

// PVH ELF note (Xen ELF note type 18, XEN_ELFNOTE_PHYS32_ENTRY): where to enter.
.section .note.pvh, "a"
.p2align 2
.long 4
.long 4
.long 18
.asciz "Xen"
.p2align 2
.long _start32

.section .text.boot, "ax"
.code32
.global _start32
_start32:
    cli
    cld
    movl %ebx, x86_pvh_start_info

    // PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages (4 GiB).
    movl $x86_boot_pdpt, %eax
    orl $0x3, %eax
    movl %eax, x86_boot_pml4
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    addl $x86_boot_pd, %eax
    orl $0x3, %eax
    movl %eax, x86_boot_pdpt(,%ecx,8)
    incl %ecx
    cmpl $4, %ecx
    jb 1b
    xorl %ecx, %ecx                     // entry i maps physical i * 2 MiB
2:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax                     // present, writable, large page
    movl %eax, x86_boot_pd(,%ecx,8)
    movl %ecx, %eax
    shrl $11, %eax                      // bits 32+ of the address: i / 2048
    movl %eax, x86_boot_pd+4(,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jb 2b

    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4
    movl $x86_boot_pml4, %eax
    movl %eax, %cr3
    movl $EFER_MSR, %ecx
    rdmsr
    orl $(EFER_LME | EFER_NXE), %eax
    wrmsr
    movl %cr0, %eax
    andl $~CR0_EM, %eax
    orl $(CR0_PG | CR0_PE | CR0_MP), %eax
    movl %eax, %cr0
    lgdt boot_gdt_pointer
    ljmp $0x08, $start64

.code64
start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq $x86_boot_stack_top, %rsp
    xorl %ebp, %ebp                     // ends the frame-pointer chain for backtraces
    call x86_point_gs_at_no_block
    xorl %edi, %edi
    xorl %esi, %esi
    call main
    cli
3:  hlt
    jmp 3b

// Until a core installs its per-core block, GS.base points at a zero word, so
// `%gs:0` reads 0 ("no block yet") instead of whatever lies at address 0.
.global x86_point_gs_at_no_block
x86_point_gs_at_no_block:
    movl $0xC0000101, %ecx              // IA32_GS_BASE
    movl $x86_no_core_block, %eax
    xorl %edx, %edx
    wrmsr
    ret

// x86_reload_segments(code: %di, data: %si): far return into the new code segment.
.global x86_reload_segments
x86_reload_segments:
    movw %si, %ds
    movw %si, %es
    movw %si, %ss
    popq %rax                           // return address
    pushq %rdi
    pushq %rax
    lretq

.section .rodata
.p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF            // 0x08: 64-bit code
    .quad 0x00CF92000000FFFF            // 0x10: data
boot_gdt_pointer:
    .word boot_gdt_pointer - boot_gdt - 1
    .long boot_gdt

.section .bss
.p2align 12
.global x86_boot_pml4
x86_boot_pml4:      .skip 4096
x86_boot_pdpt:      .skip 4096
x86_boot_pd:        .skip 4 * 4096
.global x86_kernel_tables, x86_kernel_tables_end
x86_kernel_tables:  .skip 96 * 4096         // the kernel's own page tables (KernelAddressSpace)
x86_kernel_tables_end:
.global x86_boot_stack_bottom, x86_boot_stack_top
x86_boot_stack_bottom:
    .skip 64 * 1024
x86_boot_stack_top:
.global x86_boot_arena, x86_boot_arena_end
x86_boot_arena:     .skip 2 * 1024 * 1024
x86_boot_arena_end:
.p2align 3
x86_no_core_block:  .skip 8                 // read-only once booted: always zero
.global x86_pvh_start_info
x86_pvh_start_info: .skip 8
