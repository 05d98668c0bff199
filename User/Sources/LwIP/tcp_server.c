// A TCP server on lwIP's raw API (swordfish_tcp_server.h): one listening pcb, a table
// of open connections by number, every lwIP callback turned into one event for the
// program's handler. NO_SYS: all of it runs inside the program's calls into lwIP.
#include "swordfish_tcp_server.h"
#include "lwip/tcp.h"

static struct tcp_pcb *listener;
static swordfish_tcp_handler handler;
static struct tcp_pcb *connections[SWORDFISH_TCP_CONNECTIONS];
static uint32_t open_count;
/// The last pcb the program aborted: a callback whose pcb it is must answer ERR_ABRT.
static struct tcp_pcb *aborted;

static uint32_t number_of(void *argument) { return (uint32_t)(uintptr_t)argument; }

/// Forgets the pcb of `connection` and its callbacks; lwIP still owns the pcb.
static void release(uint32_t connection) {
    struct tcp_pcb *pcb = connections[connection];
    if (pcb == NULL) return;
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    connections[connection] = NULL;
    open_count--;
}

static err_t received(void *argument, struct tcp_pcb *pcb, struct pbuf *data, err_t error) {
    uint32_t connection = number_of(argument);
    if (data == NULL) {
        aborted = NULL;
        if (connections[connection] == pcb) handler(connection, SWORDFISH_TCP_PEER_CLOSED, NULL, 0);
        return aborted == pcb ? ERR_ABRT : ERR_OK;
    }
    if (error != ERR_OK || connections[connection] != pcb) {
        pbuf_free(data);
        return ERR_OK;
    }
    // Taken at once (the program copies what it keeps): lwIP resets a connection closed
    // with data it still counts as unread.
    tcp_recved(pcb, data->tot_len);
    aborted = NULL;
    for (struct pbuf *part = data; part != NULL && connections[connection] == pcb; part = part->next) {
        handler(connection, SWORDFISH_TCP_RECEIVED, part->payload, part->len);
    }
    pbuf_free(data);
    // The handler may have aborted it: lwIP must not touch the pcb again.
    return aborted == pcb ? ERR_ABRT : ERR_OK;
}

static err_t sent(void *argument, struct tcp_pcb *pcb, u16_t length) {
    uint32_t connection = number_of(argument);
    aborted = NULL;
    if (connections[connection] == pcb) handler(connection, SWORDFISH_TCP_SENT, NULL, length);
    return aborted == pcb ? ERR_ABRT : ERR_OK;
}

static void failed(void *argument, err_t error) {
    (void)error;
    uint32_t connection = number_of(argument);
    // lwIP has freed the pcb already.
    if (connections[connection] == NULL) return;
    connections[connection] = NULL;
    open_count--;
    handler(connection, SWORDFISH_TCP_GONE, NULL, 0);
}

static err_t accepted(void *argument, struct tcp_pcb *pcb, err_t error) {
    (void)argument;
    if (error != ERR_OK || pcb == NULL) return ERR_VAL;
    for (uint32_t connection = 0; connection < SWORDFISH_TCP_CONNECTIONS; connection++) {
        if (connections[connection] != NULL) continue;
        connections[connection] = pcb;
        open_count++;
        tcp_arg(pcb, (void *)(uintptr_t)connection);
        tcp_recv(pcb, received);
        tcp_sent(pcb, sent);
        tcp_err(pcb, failed);
        tcp_nagle_disable(pcb);
        handler(connection, SWORDFISH_TCP_ACCEPTED, NULL, 0);
        return ERR_OK;
    }
    // Full: lwIP aborts the new connection.
    return ERR_MEM;
}

int swordfish_tcp_listen(uint16_t port, swordfish_tcp_handler program_handler) {
    if (listener != NULL) return -1;
    struct tcp_pcb *pcb = tcp_new();
    if (pcb == NULL) return -1;
    if (tcp_bind(pcb, IP_ADDR_ANY, port) != ERR_OK) {
        tcp_abort(pcb);
        return -1;
    }
    listener = tcp_listen(pcb);
    if (listener == NULL) return -1;
    handler = program_handler;
    tcp_accept(listener, accepted);
    return 0;
}

size_t swordfish_tcp_room(uint32_t connection) {
    if (connection >= SWORDFISH_TCP_CONNECTIONS || connections[connection] == NULL) return 0;
    struct tcp_pcb *pcb = connections[connection];
    if (tcp_sndqueuelen(pcb) + 2 >= TCP_SND_QUEUELEN) return 0;
    return tcp_sndbuf(pcb);
}

int swordfish_tcp_write(uint32_t connection, const void *data, size_t length, int copy, int more) {
    if (connection >= SWORDFISH_TCP_CONNECTIONS || connections[connection] == NULL || length > 0xFFFF) return -1;
    u8_t flags = (u8_t)((copy ? TCP_WRITE_FLAG_COPY : 0) | (more ? TCP_WRITE_FLAG_MORE : 0));
    return tcp_write(connections[connection], data, (u16_t)length, flags) == ERR_OK ? 0 : -1;
}

void swordfish_tcp_flush(uint32_t connection) {
    if (connection < SWORDFISH_TCP_CONNECTIONS && connections[connection] != NULL) tcp_output(connections[connection]);
}

void swordfish_tcp_shutdown(uint32_t connection) {
    if (connection < SWORDFISH_TCP_CONNECTIONS && connections[connection] != NULL) tcp_shutdown(connections[connection], 0, 1);
}

void swordfish_tcp_close(uint32_t connection) {
    if (connection >= SWORDFISH_TCP_CONNECTIONS || connections[connection] == NULL) return;
    struct tcp_pcb *pcb = connections[connection];
    release(connection);
    if (tcp_close(pcb) != ERR_OK) {
        aborted = pcb;
        tcp_abort(pcb);
    }
}

void swordfish_tcp_abort(uint32_t connection) {
    if (connection >= SWORDFISH_TCP_CONNECTIONS || connections[connection] == NULL) return;
    struct tcp_pcb *pcb = connections[connection];
    release(connection);
    aborted = pcb;
    tcp_abort(pcb);
}

uint32_t swordfish_tcp_open_count(void) { return open_count; }
