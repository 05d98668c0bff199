/* lwIP's options for Swordfish (lwIP's src/include/lwip/opt.h lists them all): one
 * thread, no operating-system layer (NO_SYS: the program calls lwIP from its own loop
 * and feeds it frames), IPv4 over Ethernet with ARP, ICMP, raw, UDP and TCP. */
#pragma once

#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define LWIP_STATS 0
#define LWIP_HAVE_LOOPIF 0
#define LWIP_NETIF_LOOPBACK 0
/* lwIP's own errno values: there is no errno.h. */
#define LWIP_PROVIDE_ERRNO 1

/* Memory: lwIP's heap and pools are static arrays in the program's data. */
#define MEM_ALIGNMENT 8
#define MEM_SIZE (512 * 1024)
#define PBUF_POOL_SIZE 32
#define TCP_MSS 1460
#define TCP_WND (16 * TCP_MSS)
#define TCP_SND_BUF (16 * TCP_MSS)
#define TCP_SND_QUEUELEN 40
/* init.c checks that every queued segment has a pool entry. */
#define MEMP_NUM_TCP_SEG 1024

/* IP loopback across cores (User/Sources/loopback): a channel, not a wire, carries its
 * frames, so that interface turns checksums off as Linux's loopback device does (its
 * stream is checked end to end instead); every other interface keeps them. The TCP
 * sender there queues its data by reference (PBUF_ROM), a pbuf per segment. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
/* httpd (tcp_server.c): 256 connections at once plus the ones closing, and the
 * segments and pbufs of their answers (sent straight from the files, PBUF_ROM). */
#define MEMP_NUM_TCP_PCB 320
#define MEMP_NUM_PBUF 1024
