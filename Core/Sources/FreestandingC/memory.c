// Written with x86 string instructions so the compiler cannot turn them back into calls
// to themselves (it recognises plain byte loops as memset/memcpy). Runs of 64 bytes or
// more move eight bytes per iteration (`stosq`, `movsq`): under QEMU's TCG every
// iteration of a `rep` string instruction is emulated on its own, so clearing a page
// with `rep stosb` took 4,096 of them, and a page is cleared for every object retyped
// from RAM. On hardware, either form runs at the same speed.
#include "freestanding.h"
#include <stdint.h>

void *memset(void *d, int c, size_t n) {
    void *r = d;
    if (n >= 64) {
        size_t head = (0 - (uintptr_t)d) & 7;     // bytes to the next 8-byte boundary
        n -= head;
        __asm__ volatile("rep stosb" : "+D"(d), "+c"(head) : "a"(c) : "memory");
        size_t words = n >> 3;
        uint64_t pattern = (uint64_t)(uint8_t)c * 0x0101010101010101ull;
        __asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
        n &= 7;
    }
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return r;
}

void *memcpy(void *d, const void *s, size_t n) {
    void *r = d;
    if (n >= 64) {
        size_t words = n >> 3;
        __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(words) : : "memory");
        n &= 7;
    }
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

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
