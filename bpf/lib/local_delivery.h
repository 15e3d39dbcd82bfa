/* Delivery to an endpoint of this node, shared by every program that can reach one. */
#ifndef VESICLE_LIB_LOCAL_DELIVERY_H
#define VESICLE_LIB_LOCAL_DELIVERY_H

#include "common.h"
#include "eth.h"
#include "ipv4.h"
#include "endpoint.h"
#include "counters.h"

/* Addresses the frame as the pod's router would and puts it straight into the pod's
 * interface: bpf_redirect_peer enters the peer's ingress in the pod's namespace without a
 * trip through the backlog queue. */
static __always_inline int redirect_to_endpoint(struct __sk_buff *skb, struct ethhdr *eth,
						const struct endpoint_info *ep, __u8 reason,
						__u8 direction)
{
	mac_copy(eth->h_dest, ep->mac);
	mac_copy(eth->h_source, ep->node_mac);
	count(skb, reason, direction);
	return bpf_redirect_peer(ep->ifindex, 0);
}

/* The same as one routing hop: the TTL goes down by one, and a packet that would expire goes
 * to the stack, which answers with ICMP time exceeded. */
static __always_inline int route_to_endpoint(struct __sk_buff *skb, struct ethhdr *eth,
					     struct iphdr *ip, const struct endpoint_info *ep,
					     __u8 direction)
{
	if (ip->ttl <= 1)
		return to_stack(skb, direction);
	ipv4_decrease_ttl(ip);
	return redirect_to_endpoint(skb, eth, ep, REASON_FORWARDED, direction);
}

#endif
