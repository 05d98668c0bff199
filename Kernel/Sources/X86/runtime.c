// The C library functions that Embedded Swift's runtime and clang's code generation
// call, written with `rep` string instructions so the compiler cannot turn them back
// into calls to themselves; and the AP trampoline set-up.
#include "x86.h"

void *memset(void *d, int c, size_t n) {
    void *r = d;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return r;
}

void *memcpy(void *d, const void *s, size_t n) {
    void *r = d;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return r;
}

void *memmove(void *d, const void *s, size_t n) {
    if ((uintptr_t)d <= (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) return memcpy(d, s, n);
    void *r = d;
    d = (char *)d + n - 1;
    s = (const char *)s + n - 1;
    __asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return r;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

void kernel_free(void *pointer);
void free(void *pointer) { kernel_free(pointer); }

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

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
