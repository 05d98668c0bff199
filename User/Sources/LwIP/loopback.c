// The clients and receive queue of swordfish_loopback.h: lwIP's raw API, NO_SYS, called
// from the program's one loop.
#include "swordfish_loopback.h"
#include "lwip/netif.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "lwip/ip4_addr.h"

// MARK: Frames from the channel, waiting for lwIP

static struct pbuf *queue[SWORDFISH_LOOP_QUEUE];
static unsigned queue_first, queue_count;

int swordfish_loop_queue_room(void) { return SWORDFISH_LOOP_QUEUE - (int)queue_count; }

int swordfish_loop_queue(const void *frame, size_t length) {
    if (queue_count == SWORDFISH_LOOP_QUEUE || length == 0 || length > 0xFFFF) return -1;
    struct pbuf *copy = pbuf_alloc(PBUF_RAW, (u16_t)length, PBUF_POOL);
    if (copy == NULL) return -1;
    if (pbuf_take(copy, frame, (u16_t)length) != ERR_OK) {
        pbuf_free(copy);
        return -1;
    }
    queue[(queue_first + queue_count++) % SWORDFISH_LOOP_QUEUE] = copy;
    return 0;
}

void swordfish_loop_deliver(void) {
    while (queue_count > 0) {
        struct pbuf *frame = queue[queue_first];
        queue_first = (queue_first + 1) % SWORDFISH_LOOP_QUEUE;
        queue_count--;
        // lwIP reads the copy, every field through its own checks.
        if (netif_default == NULL || netif_default->input(frame, netif_default) != ERR_OK) pbuf_free(frame);
    }
}

static swordfish_loop_reserve reserve;
static swordfish_loop_commit commit;

/// lwIP's frames out: the pbuf chain copied once, into the ring.
static err_t ring_output(struct netif *netif, struct pbuf *frame) {
    (void)netif;
    void *place = reserve(frame->tot_len);
    if (place == NULL) return ERR_OK;           // dropped, as a wire would
    pbuf_copy_partial(frame, place, frame->tot_len, 0);
    commit(frame->tot_len);
    return ERR_OK;
}

void swordfish_loop_attach(swordfish_loop_reserve r, swordfish_loop_commit c) {
    reserve = r;
    commit = c;
    if (netif_default == NULL) return;
    netif_default->linkoutput = ring_output;
    NETIF_SET_CHECKSUM_CTRL(netif_default, NETIF_CHECKSUM_DISABLE_ALL);
}

void swordfish_loop_checksums_on(void) {
    if (netif_default != NULL) NETIF_SET_CHECKSUM_CTRL(netif_default, NETIF_CHECKSUM_ENABLE_ALL);
}

void swordfish_loop_resolve(uint32_t address) {
    ip4_addr_t a;
    a.addr = lwip_htonl(address);
    if (netif_default != NULL) etharp_request(netif_default, &a);
}

int swordfish_loop_resolved(uint32_t address) {
    ip4_addr_t a;
    a.addr = lwip_htonl(address);
    struct eth_addr *mac;
    const ip4_addr_t *found;
    return netif_default != NULL && etharp_find_addr(netif_default, &a, &mac, &found) >= 0;
}

// MARK: The checksum both ends of the stream keep

/// Fletcher-like over the stream's 64-bit words (little-endian, a last partial word
/// zero-filled): the second sum weighs every word by its place, so bytes lost, added,
/// changed or moved change it. Chunks may end anywhere; `carry` holds a partial word.
struct sum { uint64_t a, b, carry; unsigned carried; };

static void sum_add(struct sum *s, const uint8_t *bytes, size_t count) {
    while (count > 0 && s->carried > 0) {
        s->carry |= (uint64_t)*bytes++ << (8 * s->carried);
        count--;
        if (++s->carried == 8) {
            s->a += s->carry;
            s->b += s->a;
            s->carry = 0;
            s->carried = 0;
        }
    }
    uint64_t a = s->a, b = s->b;
    for (; count >= 8; count -= 8, bytes += 8) {
        uint64_t word;
        __builtin_memcpy(&word, bytes, 8);
        a += word;
        b += a;
    }
    s->a = a;
    s->b = b;
    for (; count > 0; count--) s->carry |= (uint64_t)*bytes++ << (8 * s->carried++);
}

/// The sum of `words` whole words whose own sums (from zero) are `block`, added at once.
static void sum_add_block(struct sum *s, const struct sum *block, uint64_t words) {
    s->b += words * s->a + block->b;
    s->a += block->a;
}

static uint64_t sum_value(const struct sum *s) {
    uint64_t a = s->a, b = s->b;
    if (s->carried > 0) {
        a += s->carry;
        b += a;
    }
    return b ^ (a << 40) ^ (a >> 24);
}

// MARK: The TCP receiver

static struct tcp_pcb *listener;
static uint32_t answered, receiver_failures;

struct receiving {
    uint64_t bytes;
    struct sum sum;
};
static struct receiving receivings[4];

static void receiver_error(void *argument, err_t error) {
    (void)error;
    struct receiving *r = argument;
    if (r != NULL) r->bytes = UINT64_MAX;      // free again (lwIP freed the pcb)
    receiver_failures++;
}

static err_t receiver_received(void *argument, struct tcp_pcb *pcb, struct pbuf *data, err_t error) {
    struct receiving *r = argument;
    if (data == NULL || error != ERR_OK) {
        if (data != NULL) pbuf_free(data);
        // The sender has shut its side: the answer, then close.
        uint64_t answer[2] = {r->bytes, sum_value(&r->sum)};
        err_t written = tcp_write(pcb, answer, sizeof answer, TCP_WRITE_FLAG_COPY);
        tcp_arg(pcb, NULL);
        tcp_recv(pcb, NULL);
        tcp_err(pcb, NULL);
        r->bytes = UINT64_MAX;
        if (written != ERR_OK || tcp_close(pcb) != ERR_OK) {
            receiver_failures++;
            tcp_abort(pcb);
            return ERR_ABRT;
        }
        answered++;
        return ERR_OK;
    }
    for (struct pbuf *q = data; q != NULL; q = q->next) sum_add(&r->sum, q->payload, q->len);
    r->bytes += data->tot_len;
    tcp_recved(pcb, data->tot_len);
    pbuf_free(data);
    return ERR_OK;
}

static err_t receiver_accepted(void *argument, struct tcp_pcb *pcb, err_t error) {
    (void)argument;
    if (error != ERR_OK || pcb == NULL) return ERR_VAL;
    for (size_t i = 0; i < sizeof receivings / sizeof receivings[0]; i++) {
        if (receivings[i].bytes != UINT64_MAX) continue;
        receivings[i].bytes = 0;
        receivings[i].sum = (struct sum){0, 0, 0, 0};
        tcp_arg(pcb, &receivings[i]);
        tcp_recv(pcb, receiver_received);
        tcp_err(pcb, receiver_error);
        return ERR_OK;
    }
    tcp_abort(pcb);
    return ERR_ABRT;
}

int swordfish_loop_tcp_listen(uint16_t port) {
    for (size_t i = 0; i < sizeof receivings / sizeof receivings[0]; i++) receivings[i].bytes = UINT64_MAX;
    struct tcp_pcb *pcb = tcp_new();
    if (pcb == NULL) return -1;
    if (tcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) {
        tcp_close(pcb);
        return -1;
    }
    listener = tcp_listen(pcb);
    if (listener == NULL) return -1;
    tcp_accept(listener, receiver_accepted);
    return 0;
}

uint32_t swordfish_loop_tcp_answered(void) { return answered; }
uint32_t swordfish_loop_tcp_receiver_failures(void) { return receiver_failures; }

// MARK: The TCP sender

static uint8_t pattern[65536];
/// The pattern's own sums: a whole 64 KiB write adds them at once.
static struct sum pattern_sum;
static struct tcp_pcb *source;
static uint64_t source_total, source_sent, source_connected_at;
static struct sum source_sum;
static uint8_t answer[16];
static size_t answer_bytes;
static int source_state, source_shut;

static uint64_t counter(void) {
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return ((uint64_t)high << 32) | low;
}

static err_t source_finish(int state) {
    if (source_state == 0) source_state = state;
    err_t result = ERR_OK;
    if (source != NULL) {
        tcp_arg(source, NULL);
        tcp_recv(source, NULL);
        tcp_sent(source, NULL);
        tcp_err(source, NULL);
        if (tcp_close(source) != ERR_OK) {
            tcp_abort(source);
            result = ERR_ABRT;
        }
        source = NULL;
    }
    return result;
}

/// Queues what lwIP's send buffer takes, a 64 KiB write at a time through `pattern`.
static void source_push(void) {
    while (source != NULL && source_sent < source_total) {
        size_t offset = (size_t)(source_sent % sizeof pattern);
        uint64_t count = sizeof pattern - offset, left = source_total - source_sent, room = tcp_sndbuf(source);
        if (count > left) count = left;
        if (count > room) count = room;
        if (count > 0xFFFF) count = 0xFFFF;
        if (count == 0) break;
        u8_t more = source_sent + count < source_total ? TCP_WRITE_FLAG_MORE : 0;
        // By reference: the pattern never changes while lwIP holds it.
        if (tcp_write(source, pattern + offset, (u16_t)count, more) != ERR_OK) break;
        if (offset == 0) {
            // A write of 64 KiB starts: its sum, whole or (the last) partial.
            if (left >= sizeof pattern) sum_add_block(&source_sum, &pattern_sum, sizeof pattern / 8);
            else sum_add(&source_sum, pattern, (size_t)left);
        }
        source_sent += count;
    }
    if (source == NULL) return;
    if (source_sent == source_total && !source_shut) {
        source_shut = 1;
        tcp_shutdown(source, 0, 1);
    }
    tcp_output(source);
}

static err_t source_received(void *argument, struct tcp_pcb *pcb, struct pbuf *data, err_t error) {
    (void)argument;
    if (data == NULL || error != ERR_OK) {
        if (data != NULL) pbuf_free(data);
        return source_finish(-2);
    }
    u16_t count = data->tot_len;
    if (answer_bytes + count > sizeof answer) {
        tcp_recved(pcb, count);
        pbuf_free(data);
        return source_finish(-3);
    }
    pbuf_copy_partial(data, answer + answer_bytes, count, 0);
    answer_bytes += count;
    tcp_recved(pcb, count);
    pbuf_free(data);
    if (answer_bytes == sizeof answer) {
        uint64_t bytes = swordfish_loop_tcp_answer_bytes(), sum = swordfish_loop_tcp_answer_sum();
        return source_finish(bytes == source_total && sum == sum_value(&source_sum) ? 1 : -3);
    }
    return ERR_OK;
}

static err_t source_sent_some(void *argument, struct tcp_pcb *pcb, u16_t length) {
    (void)argument; (void)pcb; (void)length;
    source_push();
    return ERR_OK;
}

static void source_failed(void *argument, err_t error) {
    (void)argument; (void)error;
    source = NULL;
    if (source_state == 0) source_state = -1;
}

static err_t source_connected(void *argument, struct tcp_pcb *pcb, err_t error) {
    (void)argument; (void)pcb;
    if (error != ERR_OK) return source_finish(-1);
    source_connected_at = counter();
    source_push();
    return ERR_OK;
}

int swordfish_loop_tcp_send(uint32_t address, uint16_t port, uint64_t bytes) {
    if (source != NULL) return -1;
    if (pattern[0] == 0 && pattern[1] == 0) {
        uint64_t x = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i < sizeof pattern; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            pattern[i] = (uint8_t)(x >> 32);
        }
        if (pattern[0] == 0 && pattern[1] == 0) pattern[0] = 1;
        pattern_sum = (struct sum){0, 0, 0, 0};
        sum_add(&pattern_sum, pattern, sizeof pattern);
    }
    source = tcp_new();
    if (source == NULL) return -1;
    source_total = bytes;
    source_sent = 0;
    source_sum = (struct sum){0, 0, 0, 0};
    answer_bytes = 0;
    source_state = 0;
    source_shut = 0;
    source_connected_at = 0;
    tcp_nagle_disable(source);
    tcp_recv(source, source_received);
    tcp_sent(source, source_sent_some);
    tcp_err(source, source_failed);
    ip_addr_t to;
    ip_addr_set_ip4_u32(&to, lwip_htonl(address));
    if (tcp_connect(source, &to, port, source_connected) != ERR_OK) {
        source_finish(-1);
        return -1;
    }
    return 0;
}

int swordfish_loop_tcp_state(void) { return source_state; }
uint64_t swordfish_loop_tcp_sent(void) { return source_sent; }
uint64_t swordfish_loop_tcp_connected_at(void) { return source_connected_at; }
uint64_t swordfish_loop_tcp_sum(void) { return sum_value(&source_sum); }

static uint64_t read_u64(const uint8_t *bytes) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--) value = value << 8 | bytes[i];
    return value;
}

uint64_t swordfish_loop_tcp_answer_bytes(void) { return read_u64(answer); }
uint64_t swordfish_loop_tcp_answer_sum(void) { return read_u64(answer + 8); }

// MARK: UDP

static const uint8_t report_request[16] = {'r', 'e', 'p', 'o', 'r', 't', '?', 0};

static uint8_t datagram_byte(uint32_t sequence, size_t index) {
    return index < 4 ? (uint8_t)(sequence >> (8 * index)) : (uint8_t)(sequence * 31 + index * 7 + (index >> 8));
}

/// Whether `data` is datagram `*sequence`'s 1,000 bytes (the sequence read from its first four).
static int datagram_checks(struct pbuf *data, uint32_t *sequence) {
    if (data->tot_len != SWORDFISH_LOOP_DATAGRAM) return 0;
    uint8_t head[4];
    if (pbuf_copy_partial(data, head, 4, 0) != 4) return 0;
    uint32_t s = (uint32_t)head[0] | (uint32_t)head[1] << 8 | (uint32_t)head[2] << 16 | (uint32_t)head[3] << 24;
    size_t index = 0;
    for (struct pbuf *q = data; q != NULL; q = q->next) {
        const uint8_t *bytes = q->payload;
        for (u16_t i = 0; i < q->len; i++, index++) {
            if (bytes[i] != datagram_byte(s, index)) return 0;
        }
    }
    *sequence = s;
    return 1;
}

static struct udp_pcb *udp_server;
static uint32_t server_good, server_bad;
static int server_echoes;

static void server_received(void *argument, struct udp_pcb *pcb, struct pbuf *data, const ip_addr_t *from, u16_t port) {
    (void)argument;
    uint32_t sequence;
    if (data->tot_len == sizeof report_request) {
        uint8_t request[sizeof report_request];
        pbuf_copy_partial(data, request, sizeof request, 0);
        int same = 1;
        for (size_t i = 0; i < sizeof request; i++) same &= request[i] == report_request[i];
        pbuf_free(data);
        if (!same) {
            server_bad++;
            return;
        }
        struct pbuf *reply = pbuf_alloc(PBUF_TRANSPORT, 8, PBUF_RAM);
        if (reply == NULL) return;
        uint32_t counts[2] = {server_good, server_bad};
        pbuf_take(reply, counts, sizeof counts);
        udp_sendto(pcb, reply, from, port);
        pbuf_free(reply);
        return;
    }
    if (datagram_checks(data, &sequence)) {
        server_good++;
        if (server_echoes) udp_sendto(pcb, data, from, port);
    } else {
        server_bad++;
    }
    pbuf_free(data);
}

int swordfish_loop_udp_serve(uint16_t port, int echo) {
    udp_server = udp_new();
    if (udp_server == NULL || udp_bind(udp_server, IP_ADDR_ANY, port) != ERR_OK) return -1;
    server_echoes = echo;
    udp_recv(udp_server, server_received, NULL);
    return 0;
}

static struct udp_pcb *udp_client;
static uint32_t client_echoes, client_bad, answer_good, answer_bad;
static int answer_came;

static void client_received(void *argument, struct udp_pcb *pcb, struct pbuf *data, const ip_addr_t *from, u16_t port) {
    (void)argument; (void)pcb; (void)from; (void)port;
    uint32_t sequence;
    if (data->tot_len == 8) {
        uint32_t counts[2];
        pbuf_copy_partial(data, counts, sizeof counts, 0);
        answer_good = counts[0];
        answer_bad = counts[1];
        answer_came = 1;
    } else if (datagram_checks(data, &sequence) && sequence == client_echoes) {
        client_echoes++;
    } else {
        client_bad++;
    }
    pbuf_free(data);
}

int swordfish_loop_udp_open(uint32_t address, uint16_t port) {
    udp_client = udp_new();
    if (udp_client == NULL) return -1;
    ip_addr_t to;
    ip_addr_set_ip4_u32(&to, lwip_htonl(address));
    if (udp_bind(udp_client, IP_ADDR_ANY, 0) != ERR_OK || udp_connect(udp_client, &to, port) != ERR_OK) return -1;
    udp_recv(udp_client, client_received, NULL);
    return 0;
}

int swordfish_loop_udp_send(uint32_t sequence) {
    struct pbuf *datagram = pbuf_alloc(PBUF_TRANSPORT, SWORDFISH_LOOP_DATAGRAM, PBUF_RAM);
    if (datagram == NULL) return -1;
    uint8_t *bytes = datagram->payload;
    for (size_t i = 0; i < SWORDFISH_LOOP_DATAGRAM; i++) bytes[i] = datagram_byte(sequence, i);
    err_t result = udp_send(udp_client, datagram);
    pbuf_free(datagram);
    return result == ERR_OK ? 0 : -1;
}

uint32_t swordfish_loop_udp_echoes(void) { return client_echoes; }
uint32_t swordfish_loop_udp_bad(void) { return client_bad; }

int swordfish_loop_udp_ask(void) {
    answer_came = 0;
    struct pbuf *request = pbuf_alloc(PBUF_TRANSPORT, sizeof report_request, PBUF_RAM);
    if (request == NULL) return -1;
    pbuf_take(request, report_request, sizeof report_request);
    err_t result = udp_send(udp_client, request);
    pbuf_free(request);
    return result == ERR_OK ? 0 : -1;
}

int swordfish_loop_udp_answer(uint32_t *good, uint32_t *bad) {
    if (!answer_came) return 0;
    *good = answer_good;
    *bad = answer_bad;
    return 1;
}
