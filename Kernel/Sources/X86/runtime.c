// `free` for the Embedded Swift runtime (Swift may not define it itself) and the AP
// trampoline set-up. memset and friends come from Core's FreestandingC.
#include "x86.h"
#include "freestanding.h"

void kernel_free(void *pointer);
void free(void *pointer) { kernel_free(pointer); }

extern char ap_trampoline_start[], ap_trampoline_end[];
extern uint64_t ap_trampoline_cr3, ap_trampoline_stack, ap_trampoline_handoff, ap_trampoline_entry;

void x86_prepare_trampoline(uint64_t destination, uint64_t cr3, uint64_t stack_top,
                            uint64_t handoff, void (*entry)(uint64_t)) {
    char *copy = (char *)destination;
    memcpy(copy, ap_trampoline_start, (size_t)(ap_trampoline_end - ap_trampoline_start));
#define FIELD(symbol) ((uint64_t *)(copy + ((char *)&symbol - ap_trampoline_start)))
    *FIELD(ap_trampoline_cr3) = cr3;
    *FIELD(ap_trampoline_stack) = stack_top;
    *FIELD(ap_trampoline_handoff) = handoff;
    *FIELD(ap_trampoline_entry) = (uint64_t)entry;
#undef FIELD
}
