// lwIP as a Swordfish program uses it: one Ethernet interface whose frames the program
// carries to and from its driver, and two clients that prove the stack both ways, an
// ICMP echo through lwIP's raw API and a TCP stream whose echo is checked byte by byte.
// Addresses are in host order (10.0.2.15 is 0x0A00020F). Only standard C types here:
// Swift imports this header, not lwIP's.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// Called by lwIP with each frame to send (without virtio's header).
typedef void (*swordfish_lwip_sender)(const void *frame, size_t length);

/// Starts lwIP with one interface of Ethernet address `mac` at `address`.
void swordfish_lwip_start(const uint8_t mac[6], uint32_t address, uint32_t netmask, uint32_t gateway,
                          swordfish_lwip_sender sender);
/// Gives lwIP a received frame (copied: the buffer may be reused at once).
void swordfish_lwip_input(const void *frame, size_t length);
/// Runs lwIP's timers that are due.
void swordfish_lwip_poll(void);
/// lwIP's clock, in its milliseconds (see sys_now in lwip_port.c).
uint32_t swordfish_lwip_now(void);

/// Sends an ICMP echo request with `data_bytes` bytes of data to `destination`
/// through lwIP's raw API; 0 if lwIP took it.
int swordfish_lwip_ping(uint32_t destination, uint16_t identifier, uint16_t sequence, size_t data_bytes);
/// Echo replies received so far whose identifier, sequence and data matched a request.
uint32_t swordfish_lwip_echo_replies(void);

/// Connects to `address`:`port` with lwIP's TCP and sends `bytes` bytes of a pattern,
/// checking that the same bytes come back; 0 if the connection was started.
int swordfish_lwip_tcp_echo(uint32_t address, uint16_t port, size_t bytes);
/// 0 while it runs, 1 once every byte came back right, negative for a failure:
/// -1 connection error or reset, -2 closed early, -3 a byte came back wrong.
int swordfish_lwip_tcp_echo_state(void);
/// Bytes sent and bytes echoed so far.
size_t swordfish_lwip_tcp_sent(void);
size_t swordfish_lwip_tcp_echoed(void);
