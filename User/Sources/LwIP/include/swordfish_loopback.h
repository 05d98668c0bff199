// IP loopback across cores (docs/network.md): lwIP in each of two domains whose
// Ethernet frames a channel carries. The program copies each frame it receives over
// the channel into lwIP's receive queue here (the peer's memory may change under it;
// lwIP parses only the copy), and hands the queue to lwIP from its loop; the clients
// are a TCP stream whose receiver checks what arrived against the sender's checksum,
// and 1,000-byte UDP datagrams whose contents are checked. Addresses in host order.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// Where a frame of `length` bytes is to be written for the link (it may wait for room),
/// or NULL to drop it; then the frame, once written.
typedef void *(*swordfish_loop_reserve)(size_t length);
typedef void (*swordfish_loop_commit)(size_t length);
/// Makes lwIP's interface (started by swordfish_lwip_start) write its frames straight
/// into the link's ring through these, and turns its checksums off: the channel does
/// not corrupt frames, and the stream is checked end to end.
void swordfish_loop_attach(swordfish_loop_reserve reserve, swordfish_loop_commit commit);
/// Turns the attached interface's checksums back on: a link to netd carries frames to and
/// from a real network, whose peers check them.
void swordfish_loop_checksums_on(void);

/// Frames the queue holds before the program must hand them to lwIP.
#define SWORDFISH_LOOP_QUEUE 24

/// Copies a received frame into the queue; 0, or -1 if it is full or lwIP has no pbuf.
int swordfish_loop_queue(const void *frame, size_t length);
/// Free places in the queue.
int swordfish_loop_queue_room(void);
/// Hands every queued frame to lwIP.
void swordfish_loop_deliver(void);
/// Asks who has `address` (ARP); 1 once lwIP knows its Ethernet address.
void swordfish_loop_resolve(uint32_t address);
int swordfish_loop_resolved(uint32_t address);

/// The TCP receiver: listens on `port` and takes one connection after another, counting
/// their bytes into a checksum; when the sender shuts its side, answers with the byte
/// count and checksum (16 bytes) and closes. 0 if listening.
int swordfish_loop_tcp_listen(uint16_t port);
/// Connections the receiver has answered, and its failures (a reset, no memory).
uint32_t swordfish_loop_tcp_answered(void);
uint32_t swordfish_loop_tcp_receiver_failures(void);

/// The TCP sender: connects to `address`:`port` and sends `bytes` bytes of a pseudo-random
/// pattern through a 64 KiB buffer, checksumming what it queues, then shuts its side and
/// reads the receiver's answer. 0 if the connection was started.
int swordfish_loop_tcp_send(uint32_t address, uint16_t port, uint64_t bytes);
/// 0 while it runs, 1 once the answer matched, negative for a failure: -1 connection
/// error or reset, -2 closed without an answer, -3 the answer did not match.
int swordfish_loop_tcp_state(void);
/// Bytes queued; the counter value when the connection was made.
uint64_t swordfish_loop_tcp_sent(void);
uint64_t swordfish_loop_tcp_connected_at(void);
/// The receiver's answer (bytes, checksum) and the sender's own checksum.
uint64_t swordfish_loop_tcp_answer_bytes(void);
uint64_t swordfish_loop_tcp_answer_sum(void);
uint64_t swordfish_loop_tcp_sum(void);

/// The size of every datagram of the UDP clients.
#define SWORDFISH_LOOP_DATAGRAM 1000

/// The UDP receiver on `port`: checks every 1,000-byte datagram's contents, echoes it
/// if `echo`, and answers a report request with the count of good and bad ones. 0 if bound.
int swordfish_loop_udp_serve(uint16_t port, int echo);
/// The UDP sender's socket; 0 if bound.
int swordfish_loop_udp_open(uint32_t address, uint16_t port);
/// Sends datagram `sequence`; 0 if lwIP took it.
int swordfish_loop_udp_send(uint32_t sequence);
/// Echoes received whose contents checked, and datagrams that came back wrong.
uint32_t swordfish_loop_udp_echoes(void);
uint32_t swordfish_loop_udp_bad(void);
/// Asks the receiver for its counts; 1 once an answer came, with them.
int swordfish_loop_udp_ask(void);
int swordfish_loop_udp_answer(uint32_t *good, uint32_t *bad);
