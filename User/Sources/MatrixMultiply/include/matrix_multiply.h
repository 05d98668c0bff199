// The parallel workload of `swordfish bench` (`parallel-matmul`, docs/spanning.md): a
// blocked multiply of two square matrices of doubles. One source, this folder's, runs in
// the `parallel` user program (on a domain spanning every core, one thread per core) and,
// included by Benchmarks/Linux/swordfish-bench.c, in the Linux guest with pthreads, both
// built at -O2. The matrices are this file's globals, so no allocator is involved.
#pragma once
#include <stdint.h>

enum { MATRIX_N = 128, MATRIX_BLOCK = 32 };

/// Fills the inputs with small integers, the same every time, and clears the result.
void matrix_fill(void);
/// Rows `first ..< last` of the result, the product of the inputs, computed by blocks of
/// MATRIX_BLOCK (so each block of the inputs is reused from the cache). Threads given
/// disjoint rows share nothing they write.
void matrix_multiply_rows(int first, int last);
/// The result's checksum: every entry times its row number plus one, summed. The
/// entries are integers well below 2^53, so the sum is exact whatever the order.
int64_t matrix_checksum(void);
