/* IPv4 helpers. */
#ifndef VESICLE_LIB_IPV4_H
#define VESICLE_LIB_IPV4_H

#include <linux/ip.h>
#include "common.h"

/* ip_decrease_ttl() from the kernel: incremental checksum update, RFC 1624. */
static __always_inline void ipv4_decrease_ttl(struct iphdr *ip)
{
	__u32 check = ip->check;

	check += bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

#endif
