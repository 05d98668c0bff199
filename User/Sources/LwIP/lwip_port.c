// The port of lwIP (fetched and built by `swordfish build`, docs/network.md) to a
// Swordfish user program, and the two clients of swordfish_lwip.h. NO_SYS: lwIP runs
// only when the program calls it, on the program's one thread.
#include "swordfish_lwip.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/raw.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/ip4_addr.h"
#include "lwip/inet_chksum.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "netif/ethernet.h"

// MARK: What lwIP needs of the platform

/// lwIP's milliseconds: 2^21 time stamp counter cycles, 0.8 ms at 2.6 GHz. User
/// programs do not know the counter's rate; lwIP's timers (ARP ages, TCP retransmits)
/// only need a clock that moves at about that pace.
uint32_t sys_now(void) {
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    return (uint32_t)((((uint64_t)high << 32) | low) >> 21);
}

uint32_t swordfish_lwip_now(void) { return sys_now(); }

unsigned int swordfish_lwip_random(void) {
    uint32_t low, high;
    __asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
    // The low bits of the counter, mixed (an odd multiplier) so that calls close in time differ widely.
    return (low ^ high) * 2654435761u;
}

int strncmp(const char *a, const char *b, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (a[i] != b[i] || a[i] == 0) return (unsigned char)a[i] - (unsigned char)b[i];
    }
    return 0;
}

int atoi(const char *text) {
    int sign = 1, value = 0;
    if (*text == '-') { sign = -1; text++; }
    while (*text >= '0' && *text <= '9') value = value * 10 + (*text++ - '0');
    return sign * value;
}

// MARK: The interface

static struct netif interface;
static swordfish_lwip_sender sender;
static uint8_t interface_address[6];
static uint8_t outgoing[1514];

/// lwIP's frames out: copied whole into one buffer (a pbuf may be a chain), then to the driver.
static err_t link_output(struct netif *netif, struct pbuf *frame) {
    (void)netif;
    if (frame->tot_len > sizeof outgoing) return ERR_BUF;
    pbuf_copy_partial(frame, outgoing, frame->tot_len, 0);
    sender(outgoing, frame->tot_len);
    return ERR_OK;
}

static err_t interface_init(struct netif *netif) {
    netif->name[0] = 's';
    netif->name[1] = 'f';
    netif->output = etharp_output;
    netif->linkoutput = link_output;
    netif->mtu = 1500;
    netif->hwaddr_len = ETH_HWADDR_LEN;
    for (int i = 0; i < ETH_HWADDR_LEN; i++) netif->hwaddr[i] = interface_address[i];
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

void swordfish_lwip_start(const uint8_t mac[6], uint32_t address, uint32_t netmask, uint32_t gateway,
                          swordfish_lwip_sender send) {
    sender = send;
    for (int i = 0; i < 6; i++) interface_address[i] = mac[i];
    lwip_init();
    ip4_addr_t a, m, g;
    a.addr = lwip_htonl(address);
    m.addr = lwip_htonl(netmask);
    g.addr = lwip_htonl(gateway);
    netif_add(&interface, &a, &m, &g, NULL, interface_init, ethernet_input);
    netif_set_default(&interface);
    netif_set_up(&interface);
}

void swordfish_lwip_input(const void *frame, size_t length) {
    // lwIP reads the frame itself, every field through its own checks.
    if (length == 0 || length > sizeof outgoing) return;
    struct pbuf *copy = pbuf_alloc(PBUF_RAW, (u16_t)length, PBUF_POOL);
    if (copy == NULL) return;
    if (pbuf_take(copy, frame, (u16_t)length) != ERR_OK || interface.input(copy, &interface) != ERR_OK) pbuf_free(copy);
}

void swordfish_lwip_poll(void) { sys_check_timeouts(); }

// MARK: ICMP echo through the raw API

static struct raw_pcb *echo_pcb;
static uint32_t echo_replies;
static uint16_t echo_identifier, echo_sequence;
static size_t echo_data_bytes;

static uint8_t echo_data(uint16_t sequence, size_t index) { return (uint8_t)(index + sequence); }

/// A raw ICMP packet, IP header first: counted when it is the reply to the last request.
static u8_t echo_received(void *argument, struct raw_pcb *pcb, struct pbuf *packet, const ip_addr_t *source) {
    (void)argument; (void)pcb; (void)source;
    uint8_t first;
    if (pbuf_copy_partial(packet, &first, 1, 0) != 1) return 0;
    u16_t header = (u16_t)((first & 0x0F) * 4);
    struct icmp_echo_hdr echo;
    if (header < IP_HLEN || pbuf_copy_partial(packet, &echo, sizeof echo, header) != sizeof echo) return 0;
    if (echo.type != ICMP_ER || echo.id != lwip_htons(echo_identifier) || echo.seqno != lwip_htons(echo_sequence)) return 0;
    if (packet->tot_len != header + sizeof echo + echo_data_bytes) return 0;
    for (size_t i = 0; i < echo_data_bytes; i++) {
        if (pbuf_get_at(packet, (u16_t)(header + sizeof echo + i)) != echo_data(echo_sequence, i)) return 0;
    }
    echo_replies++;
    pbuf_free(packet);
    return 1;
}

int swordfish_lwip_ping(uint32_t destination, uint16_t identifier, uint16_t sequence, size_t data_bytes) {
    if (echo_pcb == NULL) {
        echo_pcb = raw_new(IP_PROTO_ICMP);
        if (echo_pcb == NULL) return -1;
        raw_recv(echo_pcb, echo_received, NULL);
        raw_bind(echo_pcb, IP_ADDR_ANY);
    }
    if (data_bytes > 1024) return -1;
    echo_identifier = identifier;
    echo_sequence = sequence;
    echo_data_bytes = data_bytes;
    struct pbuf *packet = pbuf_alloc(PBUF_IP, (u16_t)(sizeof(struct icmp_echo_hdr) + data_bytes), PBUF_RAM);
    if (packet == NULL) return -1;
    struct icmp_echo_hdr *echo = (struct icmp_echo_hdr *)packet->payload;
    ICMPH_TYPE_SET(echo, ICMP_ECHO);
    ICMPH_CODE_SET(echo, 0);
    echo->chksum = 0;
    echo->id = lwip_htons(identifier);
    echo->seqno = lwip_htons(sequence);
    uint8_t *data = (uint8_t *)(echo + 1);
    for (size_t i = 0; i < data_bytes; i++) data[i] = echo_data(sequence, i);
    echo->chksum = inet_chksum(echo, (u16_t)packet->len);
    ip_addr_t to;
    ip_addr_set_ip4_u32(&to, lwip_htonl(destination));
    err_t result = raw_sendto(echo_pcb, packet, &to);
    pbuf_free(packet);
    return result == ERR_OK ? 0 : -1;
}

uint32_t swordfish_lwip_echo_replies(void) { return echo_replies; }

// MARK: A TCP stream and its echo

static struct tcp_pcb *stream;
static size_t stream_bytes, stream_sent, stream_echoed;
static int stream_state;

static uint8_t stream_byte(size_t index) { return (uint8_t)(index * 7 + index / 251); }

/// Queues as much of the pattern as lwIP's send buffer takes.
static void stream_push(void) {
    uint8_t chunk[536];
    while (stream != NULL && stream_sent < stream_bytes) {
        size_t room = tcp_sndbuf(stream), count = stream_bytes - stream_sent;
        if (count > room) count = room;
        if (count > sizeof chunk) count = sizeof chunk;
        if (count == 0) break;
        for (size_t i = 0; i < count; i++) chunk[i] = stream_byte(stream_sent + i);
        if (tcp_write(stream, chunk, (u16_t)count, TCP_WRITE_FLAG_COPY) != ERR_OK) break;
        stream_sent += count;
    }
    if (stream != NULL) tcp_output(stream);
}

/// Ends the stream with `state`; ERR_ABRT if it had to abort the connection, which a
/// callback must then return to lwIP.
static err_t stream_finish(int state) {
    stream_state = state;
    err_t result = ERR_OK;
    if (stream != NULL) {
        tcp_arg(stream, NULL);
        tcp_recv(stream, NULL);
        tcp_sent(stream, NULL);
        tcp_err(stream, NULL);
        if (tcp_close(stream) != ERR_OK) {
            tcp_abort(stream);
            result = ERR_ABRT;
        }
        stream = NULL;
    }
    return result;
}

static err_t stream_received(void *argument, struct tcp_pcb *pcb, struct pbuf *data, err_t error) {
    (void)argument;
    if (data == NULL || error != ERR_OK) {
        if (data != NULL) pbuf_free(data);
        return stream_finish(stream_echoed == stream_bytes ? 1 : -2);
    }
    for (u16_t i = 0; i < data->tot_len; i++) {
        if (stream_echoed >= stream_bytes || pbuf_get_at(data, i) != stream_byte(stream_echoed)) {
            tcp_recved(pcb, data->tot_len);
            pbuf_free(data);
            return stream_finish(-3);
        }
        stream_echoed++;
    }
    tcp_recved(pcb, data->tot_len);
    pbuf_free(data);
    return stream_echoed == stream_bytes ? stream_finish(1) : ERR_OK;
}

static err_t stream_sent_some(void *argument, struct tcp_pcb *pcb, u16_t length) {
    (void)argument; (void)pcb; (void)length;
    stream_push();
    return ERR_OK;
}

static void stream_failed(void *argument, err_t error) {
    (void)argument; (void)error;
    stream = NULL;                       // lwIP has freed it
    if (stream_state == 0) stream_state = -1;
}

static err_t stream_connected(void *argument, struct tcp_pcb *pcb, err_t error) {
    (void)argument; (void)pcb;
    if (error != ERR_OK) return stream_finish(-1);
    stream_push();
    return ERR_OK;
}

int swordfish_lwip_tcp_echo(uint32_t address, uint16_t port, size_t bytes) {
    if (stream != NULL) return -1;
    stream = tcp_new();
    if (stream == NULL) return -1;
    stream_bytes = bytes;
    stream_sent = stream_echoed = 0;
    stream_state = 0;
    tcp_recv(stream, stream_received);
    tcp_sent(stream, stream_sent_some);
    tcp_err(stream, stream_failed);
    ip_addr_t to;
    ip_addr_set_ip4_u32(&to, lwip_htonl(address));
    if (tcp_connect(stream, &to, port, stream_connected) != ERR_OK) {
        stream_finish(-1);
        return -1;
    }
    return 0;
}

int swordfish_lwip_tcp_echo_state(void) { return stream_state; }
size_t swordfish_lwip_tcp_sent(void) { return stream_sent; }
size_t swordfish_lwip_tcp_echoed(void) { return stream_echoed; }
