// A TCP server on lwIP's raw API as a Swordfish program uses it (httpd): lwIP accepts
// connections on one port and reports what happens on each as events to one handler;
// the program writes and closes by connection number. Only standard C types here.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// The most connections open at once; one more is refused (lwIP resets it).
#define SWORDFISH_TCP_CONNECTIONS 256

enum swordfish_tcp_event_kind {
    /// A new connection, numbered `connection` (below SWORDFISH_TCP_CONNECTIONS).
    SWORDFISH_TCP_ACCEPTED = 0,
    /// `length` bytes arrived at `data` (valid during the call only).
    SWORDFISH_TCP_RECEIVED = 1,
    /// The peer sent its FIN: it sends nothing more.
    SWORDFISH_TCP_PEER_CLOSED = 2,
    /// The peer acknowledged `length` more bytes: there is room to write again.
    SWORDFISH_TCP_SENT = 3,
    /// The connection is gone (reset, or lwIP gave up on it); the number is free.
    SWORDFISH_TCP_GONE = 4,
};

typedef void (*swordfish_tcp_handler)(uint32_t connection, int kind, const void *data, size_t length);

/// Listens on `port`; 0 if lwIP took it.
int swordfish_tcp_listen(uint16_t port, swordfish_tcp_handler handler);
/// Bytes lwIP can queue on `connection` now (0 for a number not open).
size_t swordfish_tcp_room(uint32_t connection);
/// Queues `length` bytes (at most the room); `copy` 0 lets lwIP send straight from
/// `data`, which must then stay unchanged until acknowledged. 0 if queued.
int swordfish_tcp_write(uint32_t connection, const void *data, size_t length, int copy, int more);
/// Sends what is queued.
void swordfish_tcp_flush(uint32_t connection);
/// Sends a FIN after what is queued; the connection still receives (and reports) until closed.
void swordfish_tcp_shutdown(uint32_t connection);
/// Closes `connection` after what is queued (no events follow); the number is free.
void swordfish_tcp_close(uint32_t connection);
/// Resets `connection` (no events follow); the number is free.
void swordfish_tcp_abort(uint32_t connection);
/// Connections open now.
uint32_t swordfish_tcp_open_count(void);
