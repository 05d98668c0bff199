// The C library functions that Embedded Swift's runtime and clang's code generation
// call, for code with no C library: the kernel and user programs. (On the host the libc
// versions are used; nothing there links this target.)
#pragma once
#include <stddef.h>

void *memset(void *destination, int value, size_t count);
void *memcpy(void *destination, const void *source, size_t count);
void *memmove(void *destination, const void *source, size_t count);
int memcmp(const void *a, const void *b, size_t count);
size_t strlen(const char *text);
