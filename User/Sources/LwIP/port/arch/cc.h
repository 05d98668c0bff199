/* lwIP's port to Swordfish user programs: the compiler and platform (lwIP's
 * doc/sys_arch.txt). Built freestanding: no C library but what these headers declare
 * and the program links (FreestandingC and lwip_port.c). */
#pragma once

#define BYTE_ORDER LITTLE_ENDIAN
/* clang's freestanding headers give stdint.h, stddef.h and limits.h; there is no
 * inttypes.h or ctype.h, so lwIP uses its own format macros and character tests. */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

/* Diagnostics go nowhere (lwIP's debug output is off); a failed assertion ends the
 * program through the port, with the file and line. */
void swordfish_lwip_assert(const char *message, const char *file, int line);
#define LWIP_PLATFORM_DIAG(x) do { } while (0)
#define LWIP_PLATFORM_ASSERT(x) swordfish_lwip_assert((x), __FILE__, __LINE__)

/* TCP's initial sequence numbers and ports: from the time stamp counter. */
unsigned int swordfish_lwip_random(void);
#define LWIP_RAND() ((u32_t)swordfish_lwip_random())
