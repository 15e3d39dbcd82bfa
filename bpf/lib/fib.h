/* Native routing: the kernel's FIB decides the next hop, BPF sends the packet there directly,
 * skipping the stack's forwarding path (netfilter, the qdisc of the device it came from). */
#ifndef VESICLE_LIB_FIB_H
#define VESICLE_LIB_FIB_H

#include <linux/ip.h>
#include "common.h"
#include "eth.h"
#include "ipv4.h"
#include "counters.h"

#define AF_INET 2
/* skb->mark of a packet fib_redirect sent out: the stack never saw it. */
#define MARK_FORWARDED_BY_BPF 0x0f5e0000

/* Routes the packet by the FIB and redirects it out of the device the route names. A hop
 * (forwarding a pod's packet) decrements the TTL; the node's own packets are not forwarded and
 * keep theirs. Returns the verdict. */
static __always_inline int fib_redirect(struct __sk_buff *skb, struct ethhdr *eth, struct iphdr *ip,
					__u8 direction, int hop)
{
	/* A forwarding lookup, as if the packet arrived on the device it is on: that device needs
	 * forwarding enabled (net.ipv4.ip_forward=1 enables it on all). BPF_FIB_LOOKUP_OUTPUT
	 * would not spare that check, and it takes ifindex as the output device, so only routes
	 * out of that very device would match.
	 * tot_len stays 0: then the kernel checks the MTU with the skb itself, which knows
	 * about GSO; a tot_len would make every GSO packet look too big to forward. */
	struct bpf_fib_lookup params = {
		.family = AF_INET,
		.tos = ip->tos,
		.l4_protocol = ip->protocol,
		.ipv4_src = ip->saddr,
		.ipv4_dst = ip->daddr,
		.ifindex = skb->ifindex,
	};
	int ret = bpf_fib_lookup(skb, &params, sizeof(params), 0);

	if (ret == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		/* The stack fragments it or answers ICMP fragmentation needed. */
		return to_stack(skb, direction);
	if (ret != BPF_FIB_LKUP_RET_SUCCESS && ret != BPF_FIB_LKUP_RET_NO_NEIGH)
		return drop(skb, DROP_FIB_LOOKUP_FAILED, direction);
	if (params.ifindex == skb->ifindex)
		/* Back where it comes from (a route to the cluster via vsl_host, say): a loop. */
		return drop(skb, DROP_FIB_LOOKUP_FAILED, direction);
	if (hop)
		ipv4_decrease_ttl(ip);
	/* Tells to_netdev this packet skipped the stack (the mark never leaves the node). */
	skb->mark = MARK_FORWARDED_BY_BPF;
	count(skb, REASON_FIB_FORWARDED, direction);
	if (ret == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* The next hop's MAC is not known yet: the kernel resolves it and queues the packet
		 * meanwhile. ipv4_dst now holds the next hop (the gateway, or the destination). */
		struct bpf_redir_neigh nh = { .nh_family = AF_INET, .ipv4_nh = params.ipv4_dst };

		return bpf_redirect_neigh(params.ifindex, &nh, sizeof(nh), 0);
	}
	mac_copy(eth->h_dest, params.dmac);
	mac_copy(eth->h_source, params.smac);
	return bpf_redirect(params.ifindex, 0);
}

#endif
