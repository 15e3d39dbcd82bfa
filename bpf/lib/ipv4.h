/* IPv4 helpers. */
#ifndef VESICLE_LIB_IPV4_H
#define VESICLE_LIB_IPV4_H

#include <linux/ip.h>
#include "common.h"
#include "metrics.h"

/* ip_decrease_ttl() from the kernel: incremental checksum update, RFC 1624. */
static __always_inline void ipv4_decrease_ttl(struct iphdr *ip)
{
	__u32 check = ip->check;

	check += bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

/* 0 when the IPv4 header right after eth is whole and sane, else the drop reason. The total
 * length is checked against the frame, so a packet is never forwarded with bytes it lacks.
 * skb->len covers a GSO packet's whole payload, so this holds for those too. */
static __always_inline int ipv4_header_invalid(const struct __sk_buff *skb, const struct ethhdr *eth,
					       const struct iphdr *ip)
{
	if (!ctx_has(skb, ip, sizeof(*ip)))
		return DROP_TRUNCATED;
	if (ip->version != 4 || ip->ihl < 5)
		return DROP_INVALID_IP_HEADER;
	if (bpf_ntohs(ip->tot_len) < ip->ihl * 4 || skb->len < sizeof(*eth) + bpf_ntohs(ip->tot_len))
		return DROP_TRUNCATED;
	return 0;
}

#endif
