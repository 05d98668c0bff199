// What the host benchmark needs from Linux and the CPU that Swift's Glibc module does
// not offer: the time-stamp counter, pinning a thread to one CPU, futex wait/wake, and
// eventfds. Each helper is one system call or one instruction; the benchmark loops
// themselves are in Swift (Sources/swordfish-hostbench).
#pragma once
#include <stdint.h>

/// The time-stamp counter, unserialised: the same instruction the guest's
/// `CPU.timestamp()` uses, so host and guest cycles mean the same thing.
static inline uint64_t hostbench_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/// CLOCK_MONOTONIC in nanoseconds.
uint64_t hostbench_monotonic_ns(void);

/// Pins the calling thread to `cpu`. 0 on success, else an errno value.
int hostbench_pin_current_thread(int cpu);

/// The CPUs this process may run on, lowest first: up to `capacity` of them go to
/// `cpus`; returns how many there are (0 if the mask cannot be read).
int hostbench_allowed_cpus(int *cpus, int capacity);

/// The CPU the caller is running on (sched_getcpu), or -1.
int hostbench_current_cpu(void);

/// FUTEX_WAIT (private): sleeps while `*word == expected`. Returns 0 when woken, or
/// -1 with errno (EAGAIN: the word had already changed; EINTR: a signal).
int hostbench_futex_wait(uint32_t *word, uint32_t expected);

/// FUTEX_WAKE (private): wakes up to `count` waiters on `word`; returns how many woke.
int hostbench_futex_wake(uint32_t *word, int count);

/// Atomic accesses to a futex word, so Swift and the kernel agree on its type.
static inline uint32_t hostbench_load_acquire(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }
static inline void hostbench_store_release(uint32_t *word, uint32_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }

/// A new blocking eventfd with count 0, or -1 with errno.
int hostbench_eventfd(void);

/// A connected pair of Unix stream sockets in `fds`. 0 on success, -1 with errno.
int hostbench_socketpair(int fds[2]);
