// `free` for the Swift runtime and the program's argument string; memset and friends
// come from Core's FreestandingC.
#include "user.h"

extern uint64_t user_arguments, user_arguments_length;
void user_free(void *pointer);
void free(void *pointer) { user_free(pointer); }
uint64_t user_argument_bytes(void) { return user_arguments; }
uint64_t user_argument_count(void) { return user_arguments_length; }

// The dispatcher's upcalls all enter the library's scheduler (Threads.swift), on a
// stack of their own: each upcall starts at its top, and none returns.
void swordfish_upcall(uint64_t kind, uint64_t vector, uint64_t address, uint64_t error_code);
static uint8_t upcall_stack[16384] __attribute__((aligned(16)));

void user_dispatcher_register(void) {
    user_dispatcher_frame *frame = user_dispatcher();
    frame->upcall_stack = (uint64_t)(upcall_stack + sizeof upcall_stack);
    frame->page_fault_entry = (uint64_t)swordfish_upcall;
    frame->trap_entry = (uint64_t)swordfish_upcall;
    __asm__ volatile("" : : : "memory");
    frame->run_entry = (uint64_t)swordfish_upcall;      // from here on the kernel upcalls
}

void user_dispatcher_prepare(user_dispatcher_frame *frame, uint64_t stack_top, uint64_t record) {
    frame->disabled = 1;
    frame->upcall_stack = stack_top;
    frame->page_fault_entry = (uint64_t)swordfish_upcall;
    frame->trap_entry = (uint64_t)swordfish_upcall;
    frame->run_entry = (uint64_t)swordfish_upcall;
    frame->library = record;
    for (size_t i = 0; i < sizeof frame->program_name; i++) frame->program_name[i] = user_dispatcher()->program_name[i];
}
