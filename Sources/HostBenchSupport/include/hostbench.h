// Host-benchmark helpers that Swift cannot express directly (filled in with the benchmark).
#pragma once
#include <stdint.h>
static inline uint64_t hostbench_rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }
