// See include/matrix_multiply.h. The include path is relative to this file so that the
// Linux side (gcc, without SwiftPM's include folders) finds it too.
#include "include/matrix_multiply.h"

static double matrix_a[MATRIX_N * MATRIX_N], matrix_b[MATRIX_N * MATRIX_N], matrix_c[MATRIX_N * MATRIX_N];

void matrix_fill(void) {
    for (int i = 0; i < MATRIX_N; i++) {
        for (int j = 0; j < MATRIX_N; j++) {
            matrix_a[i * MATRIX_N + j] = (double)((i * 7 + j * 3) % 11) - 5.0;
            matrix_b[i * MATRIX_N + j] = (double)((i * 5 + j * 2) % 13) - 6.0;
            matrix_c[i * MATRIX_N + j] = 0.0;
        }
    }
}

// Every run first raises the floating-point inexact flag, the same on both systems. Under
// QEMU's TCG, SSE arithmetic takes its fast path (the host's FPU) only once that sticky
// flag is set, since it cannot tell cheaply when a result is inexact, and this multiply's
// results are all exact. A Linux thread inherits the flag from glibc's start-up; a
// Swordfish thread starts from a clean MXCSR. Without this the emulator, not the system,
// made one side's arithmetic 1.5x slower. On hardware the flag changes nothing.
static void raise_inexact(void) {
    volatile double third = 1.0;
    third = third / 3.0;
}

void matrix_multiply_rows(int first, int last) {
    raise_inexact();
    for (int i = first; i < last; i++) {
        for (int j = 0; j < MATRIX_N; j++) matrix_c[i * MATRIX_N + j] = 0.0;
    }
    for (int kk = 0; kk < MATRIX_N; kk += MATRIX_BLOCK) {
        for (int jj = 0; jj < MATRIX_N; jj += MATRIX_BLOCK) {
            for (int i = first; i < last; i++) {
                for (int k = kk; k < kk + MATRIX_BLOCK; k++) {
                    double aik = matrix_a[i * MATRIX_N + k];
                    for (int j = jj; j < jj + MATRIX_BLOCK; j++) matrix_c[i * MATRIX_N + j] += aik * matrix_b[k * MATRIX_N + j];
                }
            }
        }
    }
}

int64_t matrix_checksum(void) {
    int64_t sum = 0;
    for (int i = 0; i < MATRIX_N; i++) {
        for (int j = 0; j < MATRIX_N; j++) sum += (int64_t)matrix_c[i * MATRIX_N + j] * (i + 1);
    }
    return sum;
}
