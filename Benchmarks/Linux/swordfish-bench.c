// swordfish-bench: the Linux side of `swordfish bench`.
//
// Runs inside a stock Debian kernel booted under the same QEMU command line as Swordfish,
// started by the initramfs's /init. Each row is one operation measured the way the
// Swordfish kernel measures it: a plain rdtsc before and after each operation, a
// warm-up that is not recorded, then many samples, summarised as the median and the
// 99th percentile (sorted[n/2] and sorted[min(n-1, n*99/100)], as Core's
// SampleSummary does). One line per row on standard output:
//
//     BENCH name=<row> unit=cycles median=<n> p99=<n> samples=<n>
//     BENCH name=<row> unsupported reason=<words>
//
// preceded by `BENCH info cpus=<n> tsc_mhz=<n>` and followed by `BENCH done`. The row
// names are the ones the host tool's report knows; Benchmarks/Linux/README.md says
// what each one stands for.
//
// Usage: swordfish-bench [quick]     run every row (quick: a tenth of the samples)
//        swordfish-bench exit <code> end QEMU through its isa-debug-exit device
//        swordfish-bench nothing     exit 0 at once (the program spawn-remote starts)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// The isa-debug-exit device on QEMU's line (QEMUConfiguration.debugExitPort).
#define DEBUG_EXIT_PORT 0xf4
// Every message on a pipe or socket is one Swordfish channel message: a cache line.
#define MESSAGE_BYTES 64
#define CACHE_LINE 64

static int quick;
static int cpu_count;

// ---------------------------------------------------------------------------------
// Time and samples

static inline uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void die(const char *what) {
    printf("BENCH error %s: %s\n", what, strerror(errno));
    fflush(stdout);
    _exit(1);
}

// Samples of one row, sized before the run so that recording never allocates.
struct samples {
    uint64_t *values;
    int count;
    int capacity;
};

static struct samples samples_make(int capacity) {
    struct samples s = {calloc((size_t)capacity, sizeof(uint64_t)), 0, capacity};
    if (!s.values) die("calloc");
    return s;
}

static void record(struct samples *s, uint64_t value) {
    if (s->count < s->capacity) s->values[s->count++] = value;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, const char *unit, struct samples *s) {
    if (s->count == 0) {
        printf("BENCH name=%s unsupported reason=no samples\n", name);
    } else {
        qsort(s->values, (size_t)s->count, sizeof(uint64_t), compare_u64);
        int p99 = s->count * 99 / 100;
        if (p99 > s->count - 1) p99 = s->count - 1;
        printf("BENCH name=%s unit=%s median=%llu p99=%llu samples=%d\n", name, unit,
               (unsigned long long)s->values[s->count / 2], (unsigned long long)s->values[p99], s->count);
    }
    fflush(stdout);
}

static void unsupported(const char *name, const char *reason) {
    printf("BENCH name=%s unsupported reason=%s\n", name, reason);
    fflush(stdout);
}

// Rounds for a row: `full` normally, a tenth with `quick`; warm-up is a tenth of that.
static int rounds(int full) { return quick ? full / 10 : full; }
static int warmup(int rounds) { return rounds / 10 + 1; }

// TSC cycles per microsecond, against CLOCK_MONOTONIC over a fixed interval.
static uint64_t tsc_mhz(void) {
    uint64_t interval = quick ? 100000000u : 250000000u;
    uint64_t start_ns = monotonic_ns(), start_tsc = rdtsc(), now;
    while ((now = monotonic_ns()) - start_ns < interval) {}
    uint64_t cycles = rdtsc() - start_tsc, elapsed = now - start_ns;
    return (cycles * 1000u + elapsed / 2) / elapsed;
}

// ---------------------------------------------------------------------------------
// Processes, threads and cores

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
}

static void pin_thread(pthread_t thread, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (pthread_setaffinity_np(thread, sizeof set, &set) != 0) die("pthread_setaffinity_np");
}

static void unpin(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu = 0; cpu < cpu_count; cpu++) CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

// Starts `child(argument)` in a new process pinned to `cpu`; the caller is pinned to
// `self_cpu`. Standard output is flushed first so that the child does not repeat it.
static pid_t spawn_pinned(int self_cpu, int cpu, void (*child)(void *), void *argument) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        pin(cpu);
        child(argument);
        _exit(0);
    }
    pin(self_cpu);
    return pid;
}

static void reap(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    unpin();
}

static void read_fully(int fd, void *buffer, size_t count) {
    char *p = buffer;
    while (count > 0) {
        ssize_t n = read(fd, p, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("read");
        p += n;
        count -= (size_t)n;
    }
}

static void write_fully(int fd, const void *buffer, size_t count) {
    const char *p = buffer;
    while (count > 0) {
        ssize_t n = write(fd, p, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) die("write");
        p += n;
        count -= (size_t)n;
    }
}

// ---------------------------------------------------------------------------------
// null-syscall: the cheapest system call that does real work, through syscall(2) so
// that no C library cache answers it.

static void bench_null_syscall(void) {
    int n = rounds(100000);
    struct samples s = samples_make(n);
    for (int i = 0; i < warmup(n); i++) syscall(SYS_getppid);
    for (int i = 0; i < n; i++) {
        uint64_t start = rdtsc();
        syscall(SYS_getppid);
        record(&s, rdtsc() - start);
    }
    report("null-syscall", "cycles", &s);
}

// map-unmap-page: one page mapped into this process and unmapped again, on one CPU:
// mmap with MAP_POPULATE (so the page-table entry is written at once, as Swordfish's
// map writes it) and munmap, timed together. Linux also allocates and zeroes the page;
// Swordfish maps a frame the domain already holds.

static void bench_map_unmap(void) {
    long page_size = sysconf(_SC_PAGESIZE);
    int n = rounds(20000), w = warmup(n);
    struct samples s = samples_make(n);
    for (int i = 0; i < w + n; i++) {
        uint64_t start = rdtsc();
        char *page = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (page == MAP_FAILED) die("mmap");
        munmap(page, (size_t)page_size);
        uint64_t cycles = rdtsc() - start;
        if (i >= w) record(&s, cycles);
    }
    report("map-unmap-page", "cycles", &s);
}

// thread-yield-roundtrip: two threads of this process, both pinned to CPU 0, hand it to
// each other with sched_yield; one sample is the caller's yield until it runs again
// (two switches between kernel threads). Swordfish's row is the same with user-level
// threads on one dispatcher.

static volatile int yield_partner_stops;

static void *yield_partner(void *argument) {
    (void)argument;
    while (!yield_partner_stops) sched_yield();
    return NULL;
}

static void bench_thread_yield(void) {
    int n = rounds(20000), w = warmup(n);
    struct samples s = samples_make(n);
    pthread_t partner;
    pin(0);
    yield_partner_stops = 0;
    if (pthread_create(&partner, NULL, yield_partner, NULL) != 0) die("pthread_create");
    pin_thread(partner, 0);
    for (int i = 0; i < w + n; i++) {
        uint64_t start = rdtsc();
        sched_yield();
        uint64_t cycles = rdtsc() - start;
        if (i >= w) record(&s, cycles);
    }
    yield_partner_stops = 1;
    pthread_join(partner, NULL);
    unpin();
    report("thread-yield-roundtrip", "cycles", &s);
}

// ---------------------------------------------------------------------------------
// Round trips between two processes over a pair of one-way descriptors: the parent
// sends a message and waits for the child's answer. The same loop serves pipes,
// Unix sockets (one socketpair, both directions) and eventfds (8-byte counters).

struct duplex {
    int to_child_write, to_child_read;
    int to_parent_write, to_parent_read;
    size_t message_bytes;
    int total;
};

static void echo_child(void *argument) {
    struct duplex *d = argument;
    char message[MESSAGE_BYTES];
    for (int i = 0; i < d->total; i++) {
        read_fully(d->to_child_read, message, d->message_bytes);
        write_fully(d->to_parent_write, message, d->message_bytes);
    }
}

static void round_trips(const char *name, struct duplex d, int parent_cpu, int child_cpu, int n) {
    int w = warmup(n);
    d.total = w + n;
    struct samples s = samples_make(n);
    char message[MESSAGE_BYTES];
    memset(message, 0, sizeof message);
    uint64_t one = 1;
    if (d.message_bytes == sizeof one) memcpy(message, &one, sizeof one);
    pid_t pid = spawn_pinned(parent_cpu, child_cpu, echo_child, &d);
    for (int i = 0; i < d.total; i++) {
        uint64_t start = rdtsc();
        write_fully(d.to_child_write, message, d.message_bytes);
        read_fully(d.to_parent_read, message, d.message_bytes);
        if (i >= w) record(&s, rdtsc() - start);
    }
    reap(pid);
    report(name, "cycles", &s);
}

static struct duplex pipes(void) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) die("pipe");
    return (struct duplex){down[1], down[0], up[1], up[0], MESSAGE_BYTES, 0};
}

static void close_duplex(struct duplex d) {
    int fds[] = {d.to_child_write, d.to_child_read, d.to_parent_write, d.to_parent_read};
    for (int i = 0; i < 4; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= fds[j] == fds[i];
        if (!seen) close(fds[i]);
    }
}

static void bench_pipe(const char *name, int child_cpu) {
    struct duplex d = pipes();
    round_trips(name, d, 0, child_cpu, rounds(20000));
    close_duplex(d);
}

static void bench_eventfd(void) {
    int down = eventfd(0, 0), up = eventfd(0, 0);
    if (down < 0 || up < 0) die("eventfd");
    struct duplex d = {down, down, up, up, sizeof(uint64_t), 0};
    round_trips("cross-core-eventfd", d, 0, 1, rounds(20000));
    close_duplex(d);
}

static void bench_unix_socket(void) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) die("socketpair");
    struct duplex d = {fds[0], fds[1], fds[1], fds[0], MESSAGE_BYTES, 0};
    round_trips("cross-core-unix-socket", d, 0, 1, rounds(20000));
    close_duplex(d);
}

// ---------------------------------------------------------------------------------
// cross-core-futex: two processes and two futex words in shared memory, each word
// written by one side; a waiter sleeps in FUTEX_WAIT until the other side's value
// changes, and every store is followed by FUTEX_WAKE.

struct futex_pair {
    _Alignas(CACHE_LINE) uint32_t ping;
    _Alignas(CACHE_LINE) uint32_t pong;
    int total;
};

static void futex_wait(uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake(uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

// Waits until *word == value, sleeping while it holds anything else.
static void futex_await(uint32_t *word, uint32_t value) {
    uint32_t seen;
    while ((seen = __atomic_load_n(word, __ATOMIC_ACQUIRE)) != value) futex_wait(word, seen);
}

static void futex_child(void *argument) {
    struct futex_pair *pair = argument;
    for (uint32_t i = 1; i <= (uint32_t)pair->total; i++) {
        futex_await(&pair->ping, i);
        __atomic_store_n(&pair->pong, i, __ATOMIC_RELEASE);
        futex_wake(&pair->pong);
    }
}

static void bench_futex(void) {
    int n = rounds(20000), w = warmup(n);
    struct futex_pair *pair = mmap(NULL, sizeof *pair, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pair == MAP_FAILED) die("mmap");
    pair->total = w + n;
    struct samples s = samples_make(n);
    pid_t pid = spawn_pinned(0, 1, futex_child, pair);
    for (uint32_t i = 1; i <= (uint32_t)pair->total; i++) {
        uint64_t start = rdtsc();
        __atomic_store_n(&pair->ping, i, __ATOMIC_RELEASE);
        futex_wake(&pair->ping);
        futex_await(&pair->pong, i);
        if ((int)i > w) record(&s, rdtsc() - start);
    }
    reap(pid);
    munmap(pair, sizeof *pair);
    report("cross-core-futex", "cycles", &s);
}

// ---------------------------------------------------------------------------------
// cacheline-floor: two threads on two cores bounce a counter between two cache lines,
// each written by one thread only (Core/Sources/Channel/PingPong.swift, the floor of
// the Swordfish channel). No system call: the coherence protocol alone.

struct floor_lines {
    _Alignas(CACHE_LINE) volatile uint64_t initiator;
    _Alignas(CACHE_LINE) volatile uint64_t responder;
    _Alignas(CACHE_LINE) int total;
};

static void *floor_responder(void *argument) {
    struct floor_lines *lines = argument;
    uint64_t last = 0;
    for (int i = 0; i < lines->total; i++) {
        uint64_t seen;
        while ((seen = __atomic_load_n(&lines->initiator, __ATOMIC_ACQUIRE)) == last) {}
        __atomic_store_n(&lines->responder, seen, __ATOMIC_RELEASE);
        last = seen;
    }
    return NULL;
}

static void bench_cacheline_floor(void) {
    int n = rounds(100000), w = warmup(n);
    static struct floor_lines lines;
    lines.initiator = lines.responder = 0;
    lines.total = w + n;
    struct samples s = samples_make(n);
    pthread_t responder;
    pin(0);
    if (pthread_create(&responder, NULL, floor_responder, &lines) != 0) die("pthread_create");
    pin_thread(responder, 1);
    for (uint64_t value = 1; value <= (uint64_t)lines.total; value++) {
        uint64_t start = rdtsc();
        __atomic_store_n(&lines.initiator, value, __ATOMIC_RELEASE);
        while (__atomic_load_n(&lines.responder, __ATOMIC_ACQUIRE) != value) {}
        if (value > (uint64_t)w) record(&s, rdtsc() - start);
    }
    pthread_join(responder, NULL);
    unpin();
    report("cacheline-floor", "cycles", &s);
}

// ---------------------------------------------------------------------------------
// unmap-shared-page and mprotect-shared-page: one process with a thread spinning on
// every other core. For each sample the main thread (core 0) maps and writes a page,
// every other thread reads it (so each core holds a translation for it), and then the
// main thread times one munmap, or one mprotect from read-write to read-only. Either
// must remove the stale translations on every core before it returns: on x86 Linux,
// a TLB shootdown by inter-processor interrupt.

struct shootdown {
    _Alignas(CACHE_LINE) volatile uint64_t generation;   // written by the main thread
    volatile char *volatile page;                         // written by the main thread
    volatile int stop;                                    // written by the main thread
    _Alignas(CACHE_LINE) volatile uint64_t acknowledged[64 * 8];  // thread k writes [k * 8]
};

struct toucher {
    struct shootdown *shared;
    int index;
};

static void *touch_loop(void *argument) {
    struct toucher *me = argument;
    struct shootdown *shared = me->shared;
    uint64_t seen = 0;
    while (!shared->stop) {
        uint64_t generation = __atomic_load_n(&shared->generation, __ATOMIC_ACQUIRE);
        if (generation == seen) continue;
        (void)shared->page[0];
        seen = generation;
        __atomic_store_n(&shared->acknowledged[me->index * 8], generation, __ATOMIC_RELEASE);
    }
    return NULL;
}

// Every other thread reads `page`; returns once all of them have.
static void touch_everywhere(struct shootdown *shared, volatile char *page, int threads) {
    shared->page = page;
    uint64_t generation = shared->generation + 1;
    __atomic_store_n(&shared->generation, generation, __ATOMIC_RELEASE);
    for (int k = 0; k < threads; k++) {
        while (__atomic_load_n(&shared->acknowledged[k * 8], __ATOMIC_ACQUIRE) != generation) {}
    }
}

static void bench_shootdown(void) {
    int others = cpu_count - 1;
    if (others > 64) others = 64;
    static struct shootdown shared;
    memset((void *)&shared, 0, sizeof shared);
    pthread_t threads[64];
    struct toucher touchers[64];
    pin(0);
    for (int k = 0; k < others; k++) {
        touchers[k] = (struct toucher){&shared, k};
        if (pthread_create(&threads[k], NULL, touch_loop, &touchers[k]) != 0) die("pthread_create");
        pin_thread(threads[k], k + 1);
    }
    long page_size = sysconf(_SC_PAGESIZE);

    int n = rounds(2000), w = warmup(n);
    struct samples unmaps = samples_make(n);
    for (int i = 0; i < w + n; i++) {
        char *page = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) die("mmap");
        page[0] = (char)i;
        touch_everywhere(&shared, page, others);
        uint64_t start = rdtsc();
        munmap(page, (size_t)page_size);
        uint64_t cycles = rdtsc() - start;
        if (i >= w) record(&unmaps, cycles);
    }
    report("unmap-shared-page", "cycles", &unmaps);

    struct samples protects = samples_make(n);
    char *page = mmap(NULL, (size_t)page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) die("mmap");
    for (int i = 0; i < w + n; i++) {
        if (mprotect(page, (size_t)page_size, PROT_READ | PROT_WRITE) != 0) die("mprotect");
        page[0] = (char)i;
        touch_everywhere(&shared, page, others);
        uint64_t start = rdtsc();
        mprotect(page, (size_t)page_size, PROT_READ);
        uint64_t cycles = rdtsc() - start;
        if (i >= w) record(&protects, cycles);
    }
    munmap(page, (size_t)page_size);
    report("mprotect-shared-page", "cycles", &protects);

    shared.stop = 1;
    for (int k = 0; k < others; k++) pthread_join(threads[k], NULL);
    unpin();
}

// ---------------------------------------------------------------------------------
// tcp-loopback-stream: one TCP connection over 127.0.0.1; the sender (core 0) writes a
// fixed amount in 64 KiB writes and waits for the receiver (core 1 when there is one)
// to confirm it has read everything. One sample per connection, in MB/s (10^6 bytes);
// the reported p99 is the rate that 99% of the runs reached (the 1st percentile).

struct tcp_receiver {
    int listener;
    int connections;
};

static void tcp_receive(void *argument) {
    struct tcp_receiver *r = argument;
    static char buffer[1 << 16];
    for (int c = 0; c < r->connections; c++) {
        int fd = accept(r->listener, NULL, NULL);
        if (fd < 0) die("accept");
        ssize_t n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {}
        char done = 1;
        write_fully(fd, &done, 1);
        close(fd);
    }
}

static void bench_tcp(void) {
    int runs = quick ? 3 : 7;
    size_t total = (quick ? 8u : 32u) << 20;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) die("socket");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0) die("bind");
    if (listen(listener, 4) != 0) die("listen");
    if (getsockname(listener, (struct sockaddr *)&address, &length) != 0) die("getsockname");

    struct tcp_receiver receiver = {listener, runs + 1};
    pid_t pid = spawn_pinned(0, cpu_count > 1 ? 1 : 0, tcp_receive, &receiver);
    static char buffer[1 << 16];
    memset(buffer, 0x5a, sizeof buffer);
    struct samples s = samples_make(runs);
    for (int run = 0; run < runs + 1; run++) {           // run 0 is the warm-up
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket");
        if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
        size_t amount = run == 0 ? sizeof buffer * 16 : total;
        uint64_t start = monotonic_ns();
        for (size_t sent = 0; sent < amount; sent += sizeof buffer) write_fully(fd, buffer, sizeof buffer);
        shutdown(fd, SHUT_WR);
        char done;
        read_fully(fd, &done, 1);
        uint64_t elapsed = monotonic_ns() - start;
        close(fd);
        if (run > 0 && elapsed > 0) record(&s, (uint64_t)((double)amount * 1000.0 / (double)elapsed));
    }
    reap(pid);
    close(listener);
    // Throughput: larger is better, so the p99 is taken from the slow end.
    qsort(s.values, (size_t)s.count, sizeof(uint64_t), compare_u64);
    for (int i = 0; i < s.count / 2; i++) {
        uint64_t t = s.values[i];
        s.values[i] = s.values[s.count - 1 - i];
        s.values[s.count - 1 - i] = t;
    }
    if (s.count == 0) {
        unsupported("tcp-loopback-stream", "no samples");
        return;
    }
    int p99 = s.count * 99 / 100;
    if (p99 > s.count - 1) p99 = s.count - 1;
    printf("BENCH name=tcp-loopback-stream unit=MB/s median=%llu p99=%llu samples=%d\n",
           (unsigned long long)s.values[s.count / 2], (unsigned long long)s.values[p99], s.count);
    fflush(stdout);
}

// ---------------------------------------------------------------------------------
// udp-loopback-packets: 1,000-byte UDP datagrams over 127.0.0.1 from a sender on CPU 0
// to a receiver on CPU 1 that checks each one's contents (the same pattern as
// Swordfish's, User/Sources/LwIP/loopback.c) and answers a 16-byte request with its
// counts. One sample per run: datagrams the receiver counted over the time from the
// first send to its answer, in packets/s.

#define DATAGRAM 1000
static const char udp_request[16] = "report?";

static uint8_t datagram_byte(uint32_t sequence, size_t index) {
    return index < 4 ? (uint8_t)(sequence >> (8 * index)) : (uint8_t)(sequence * 31 + index * 7 + (index >> 8));
}

static void udp_receive(void *argument) {
    int fd = *(int *)argument;
    uint8_t buffer[2048];
    uint32_t counts[2] = {0, 0};                 // good, bad
    for (;;) {
        struct sockaddr_in from;
        socklen_t length = sizeof from;
        ssize_t n = recvfrom(fd, buffer, sizeof buffer, 0, (struct sockaddr *)&from, &length);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("recvfrom");
        }
        if (n == sizeof udp_request && memcmp(buffer, udp_request, sizeof udp_request) == 0) {
            if (sendto(fd, counts, sizeof counts, 0, (struct sockaddr *)&from, length) < 0) die("sendto");
            continue;
        }
        if (n == 1 && buffer[0] == 'q') return;
        uint32_t sequence = (uint32_t)buffer[0] | (uint32_t)buffer[1] << 8 | (uint32_t)buffer[2] << 16 | (uint32_t)buffer[3] << 24;
        int good = n == DATAGRAM;
        for (size_t i = 0; good && i < DATAGRAM; i++) good = buffer[i] == datagram_byte(sequence, i);
        counts[good ? 0 : 1]++;
    }
}

/// The receiver's counts: asked again every 10 ms until they come.
static void udp_counts(int fd, uint32_t counts[2]) {
    for (;;) {
        if (send(fd, udp_request, sizeof udp_request, 0) < 0 && errno != ENOBUFS && errno != EAGAIN) die("send");
        for (uint64_t until = monotonic_ns() + 10000000u; monotonic_ns() < until;) {
            if (recv(fd, counts, 2 * sizeof(uint32_t), MSG_DONTWAIT) == 2 * sizeof(uint32_t)) return;
        }
    }
}

static void bench_udp(void) {
    int runs = quick ? 3 : 7;
    uint32_t datagrams = quick ? 20000 : 100000;
    int receiver = socket(AF_INET, SOCK_DGRAM, 0), sender = socket(AF_INET, SOCK_DGRAM, 0);
    if (receiver < 0 || sender < 0) die("socket");
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    if (bind(receiver, (struct sockaddr *)&address, sizeof address) != 0) die("bind");
    if (getsockname(receiver, (struct sockaddr *)&address, &length) != 0) die("getsockname");
    if (connect(sender, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
    pid_t pid = spawn_pinned(0, cpu_count > 1 ? 1 : 0, udp_receive, &receiver);
    close(receiver);
    uint8_t datagram[DATAGRAM];
    struct samples s = samples_make(runs);
    uint32_t sequence = 0, before[2] = {0, 0}, after[2];
    for (int run = 0; run < runs + 1; run++) {           // run 0 is the warm-up
        uint32_t count = run == 0 ? datagrams / 10 : datagrams;
        uint64_t start = monotonic_ns();
        for (uint32_t i = 0; i < count; i++, sequence++) {
            for (size_t b = 0; b < DATAGRAM; b++) datagram[b] = datagram_byte(sequence, b);
            while (send(sender, datagram, DATAGRAM, 0) < 0) {
                if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) die("send");
            }
        }
        udp_counts(sender, after);
        uint64_t elapsed = monotonic_ns() - start;
        if (after[1] != before[1]) die("udp: the receiver counted bad datagrams");
        if (run > 0 && elapsed > 0) record(&s, (uint64_t)((double)(after[0] - before[0]) * 1e9 / (double)elapsed));
        before[0] = after[0];
        before[1] = after[1];
    }
    char quit = 'q';
    send(sender, &quit, 1, 0);
    reap(pid);
    close(sender);
    // Throughput: larger is better, so the p99 is taken from the slow end.
    qsort(s.values, (size_t)s.count, sizeof(uint64_t), compare_u64);
    if (s.count == 0) {
        unsupported("udp-loopback-packets", "no samples");
        return;
    }
    int p99 = s.count / 100;
    printf("BENCH name=udp-loopback-packets unit=packets/s median=%llu p99=%llu samples=%d\n",
           (unsigned long long)s.values[s.count / 2], (unsigned long long)s.values[p99], s.count);
    fflush(stdout);
}

// ---------------------------------------------------------------------------------
// spawn-remote: fork, pin the child to CPU 1, exec this (static) binary with `nothing`,
// which exits at once, and wait for it: start a program on the other core and wait for
// its end, as Swordfish's Monitor.spawn followed by Monitor.awaitEnd.

static void bench_spawn_remote(const char *self) {
    int n = rounds(200), w = warmup(n);
    struct samples s = samples_make(n);
    for (int i = 0; i < w + n; i++) {
        fflush(stdout);
        uint64_t start = rdtsc();
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            pin(1);
            execl(self, self, "nothing", (char *)NULL);
            _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        uint64_t elapsed = rdtsc() - start;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            unsupported("spawn-remote", "the child did not exit 0");
            return;
        }
        if (i >= w) record(&s, elapsed);
    }
    report("spawn-remote", "cycles", &s);
}

// ---------------------------------------------------------------------------------
// cross-core-cap-transfer: pass a file descriptor (a memfd of one page, the counterpart
// of a frame capability) with SCM_RIGHTS over a Unix socket to a process pinned to
// CPU 1, which passes the one it got straight back; each side closes what it received
// but the original. One sample is the round trip.

static void send_fd(int socket, int fd) {
    char byte = 0;
    struct iovec iov = {&byte, 1};
    union { char buffer[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buffer,
                             .msg_controllen = sizeof control.buffer};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    while (sendmsg(socket, &message, 0) < 0) if (errno != EINTR) die("sendmsg");
}

static int receive_fd(int socket) {
    char byte;
    struct iovec iov = {&byte, 1};
    union { char buffer[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buffer,
                             .msg_controllen = sizeof control.buffer};
    while (recvmsg(socket, &message, 0) < 0) if (errno != EINTR) die("recvmsg");
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header == NULL || header->cmsg_type != SCM_RIGHTS) die("no descriptor came");
    int fd;
    memcpy(&fd, CMSG_DATA(header), sizeof(int));
    return fd;
}

static void bench_cap_transfer(void) {
    int n = rounds(2000), w = warmup(n);
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) die("socketpair");
    int page = (int)syscall(SYS_memfd_create, "frame", 0);
    if (page < 0 || ftruncate(page, 4096) != 0) die("memfd");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        pin(1);
        close(fds[0]);
        for (int i = 0; i < w + n; i++) {
            int got = receive_fd(fds[1]);
            send_fd(fds[1], got);
            close(got);
        }
        _exit(0);
    }
    pin(0);
    close(fds[1]);
    struct samples s = samples_make(n);
    for (int i = 0; i < w + n; i++) {
        uint64_t start = rdtsc();
        send_fd(fds[0], page);
        int back = receive_fd(fds[0]);
        uint64_t elapsed = rdtsc() - start;
        close(back);
        if (i >= w) record(&s, elapsed);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    close(fds[0]);
    close(page);
    unpin();
    report("cross-core-cap-transfer", "cycles", &s);
}

// ---------------------------------------------------------------------------------

static void exit_qemu(int code) {
    if (ioperm(DEBUG_EXIT_PORT, 1, 1) != 0) die("ioperm");
    outb((unsigned char)code, DEBUG_EXIT_PORT);
}

// ---------------------------------------------------------------------------------
// parallel-matmul: the blocked matrix multiply Swordfish's `parallel` program runs, from
// the same source, with one pinned thread per CPU each taking an equal share of the rows.
// One sample is a run, threads created and joined included; every run's result is
// checked against one thread's.

#include "../../User/Sources/MatrixMultiply/matrix_multiply.c"

struct rows {
    int first, last;
};

static void *multiply_rows(void *argument) {
    struct rows *rows = argument;
    matrix_multiply_rows(rows->first, rows->last);
    return NULL;
}

static void bench_parallel_matmul(void) {
    int threads = cpu_count > 64 ? 64 : cpu_count;
    matrix_fill();
    matrix_multiply_rows(0, MATRIX_N);
    int64_t expected = matrix_checksum();
    int n = quick ? 3 : 20, w = 1;
    struct samples s = samples_make(n);
    for (int round = 0; round < w + n; round++) {
        pthread_t thread[64];
        struct rows rows[64];
        matrix_fill();
        uint64_t start = rdtsc();
        for (int t = 0; t < threads; t++) {
            rows[t] = (struct rows){MATRIX_N * t / threads, MATRIX_N * (t + 1) / threads};
            pthread_attr_t attributes;
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(t, &set);
            pthread_attr_init(&attributes);
            pthread_attr_setaffinity_np(&attributes, sizeof set, &set);
            if (pthread_create(&thread[t], &attributes, multiply_rows, &rows[t]) != 0) die("pthread_create");
            pthread_attr_destroy(&attributes);
        }
        for (int t = 0; t < threads; t++) pthread_join(thread[t], NULL);
        uint64_t cycles = rdtsc() - start;
        if (matrix_checksum() != expected) die("parallel-matmul: a run's result differs from one thread's");
        if (round >= w) record(&s, cycles);
    }
    report("parallel-matmul", "cycles", &s);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "nothing") == 0) return 0;   // spawn-remote's child
    if (argc == 3 && strcmp(argv[1], "exit") == 0) {
        exit_qemu(atoi(argv[2]));
        return 1;                                   // only without the device
    }
    for (int i = 1; i < argc; i++) quick |= strcmp(argv[i], "quick") == 0;
    cpu_count = (int)sysconf(_SC_NPROCESSORS_ONLN);
    printf("BENCH info cpus=%d tsc_mhz=%llu\n", cpu_count, (unsigned long long)tsc_mhz());
    fflush(stdout);

    bench_null_syscall();
    bench_map_unmap();
    bench_pipe("same-core-roundtrip", 0);
    bench_thread_yield();
    const char *cross[] = {"cross-core-roundtrip", "cross-core-eventfd", "cross-core-futex",
                           "cross-core-unix-socket", "cacheline-floor", "unmap-shared-page",
                           "mprotect-shared-page", "cross-core-user-roundtrip",
                           "cross-core-user-wake-roundtrip", "spawn-remote", "cross-core-cap-transfer"};
    if (cpu_count > 1) {
        bench_pipe("cross-core-roundtrip", 1);
        /* Swordfish's counterpart is two user domains over a channel of rings; here, the
           same two processes over a pipe, measured again under the row's own name. */
        bench_pipe("cross-core-user-roundtrip", 1);
        /* A pipe's reader sleeps in read until the writer wakes it: the counterpart of a
           channel whose receiver sleeps between messages. */
        bench_pipe("cross-core-user-wake-roundtrip", 1);
        bench_spawn_remote(argv[0]);
        bench_cap_transfer();
        bench_eventfd();
        bench_futex();
        bench_unix_socket();
        bench_cacheline_floor();
        bench_shootdown();
    } else {
        for (size_t i = 0; i < sizeof cross / sizeof cross[0]; i++) unsupported(cross[i], "one-cpu");
    }
    bench_tcp();
    bench_udp();
    bench_parallel_matmul();
    printf("BENCH done\n");
    fflush(stdout);
    return 0;
}
