/* The part of string.h lwIP uses; FreestandingC and lwip_port.c define them. */
#pragma once
#include <stddef.h>
void *memcpy(void *destination, const void *source, size_t count);
void *memmove(void *destination, const void *source, size_t count);
void *memset(void *destination, int value, size_t count);
int memcmp(const void *a, const void *b, size_t count);
size_t strlen(const char *string);
int strncmp(const char *a, const char *b, size_t count);
