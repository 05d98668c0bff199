/* The part of stdlib.h lwIP uses; lwip_port.c defines it. */
#pragma once
int atoi(const char *text);
