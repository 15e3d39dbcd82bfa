// SPDX-License-Identifier: GPL-2.0
/* The datapath, one object so its programs share maps and settings:
 * from_container at the tc ingress of each pod's host-side veth (every packet a pod sends),
 * from_overlay at the tc ingress of the VXLAN device, from_netdev at the tc ingress of the
 * uplink (native routing), from_host at the tc egress of the host device vsl_host (the node's
 * own traffic to remote pods). */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/eth.h"
#include "lib/ipv4.h"
#include "lib/arp.h"
#include "lib/counters.h"
#include "lib/endpoints.h"
#include "lib/ipcache.h"

static __always_inline int deliver_local(struct __sk_buff *skb, struct ethhdr *eth,
					 struct iphdr *ip, const struct endpoint_info *dst)
{
	/* Expiring packets go to the stack, which sends ICMP time exceeded. */
	if (ip->ttl <= 1) {
		count(skb, REASON_TO_STACK, METRIC_EGRESS);
		return TC_ACT_OK;
	}
	ipv4_decrease_ttl(ip);
	mac_copy(eth->h_dest, dst->mac);
	mac_copy(eth->h_source, dst->node_mac);
	count(skb, REASON_FORWARDED, METRIC_EGRESS);
	/* Straight into the peer's ingress in the pod's namespace: no backlog queue. */
	return bpf_redirect_peer(dst->ifindex, 0);
}

static __always_inline int handle_ipv4(struct __sk_buff *skb, const struct endpoint_info *src)
{
	struct ethhdr *eth = ctx_data(skb);
	struct iphdr *ip = (void *)(eth + 1);

	if (!ctx_has(skb, ip, sizeof(*ip)))
		return drop(skb, DROP_TRUNCATED, METRIC_EGRESS);
	if (ip->version != 4 || ip->ihl < 5)
		return drop(skb, DROP_INVALID_IP_HEADER, METRIC_EGRESS);
	if (bpf_ntohs(ip->tot_len) < ip->ihl * 4 ||
	    skb->len < sizeof(*eth) + bpf_ntohs(ip->tot_len))
		return drop(skb, DROP_TRUNCATED, METRIC_EGRESS);
	if (ip->saddr != src->ip4)
		return drop(skb, DROP_INVALID_SOURCE_IP, METRIC_EGRESS);

	struct endpoint_info *dst = lookup_endpoint_ip4(ip->daddr);

	if (dst)
		return deliver_local(skb, eth, ip, dst);
	count(skb, REASON_TO_STACK, METRIC_EGRESS);
	return TC_ACT_OK;
}

SEC("tc")
int from_container(struct __sk_buff *skb)
{
	struct ethhdr *eth = ctx_data(skb);

	if (!ctx_has(skb, eth, sizeof(*eth)))
		return drop(skb, DROP_TRUNCATED, METRIC_EGRESS);

	struct endpoint_info *src = lookup_source_endpoint(skb->ifindex);

	if (!src)
		return drop(skb, DROP_UNKNOWN_ENDPOINT, METRIC_EGRESS);
	if (!mac_equal(eth->h_source, src->mac))
		return drop(skb, DROP_INVALID_SOURCE_MAC, METRIC_EGRESS);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return handle_ipv4(skb, src);
	case bpf_htons(ETH_P_ARP):
		return handle_arp(skb, src, CFG_GATEWAY_IP4, METRIC_EGRESS);
	default:
		/* IPv6 included: pods get no IPv6 address yet, so nothing legitimate. */
		return drop(skb, DROP_UNSUPPORTED_L3, METRIC_EGRESS);
	}
}

SEC("tc")
int from_overlay(struct __sk_buff *skb)
{
	count(skb, REASON_TO_STACK, METRIC_INGRESS);
	return TC_ACT_OK;
}

SEC("tc")
int from_netdev(struct __sk_buff *skb)
{
	count(skb, REASON_TO_STACK, METRIC_INGRESS);
	return TC_ACT_OK;
}

SEC("tc")
int from_host(struct __sk_buff *skb)
{
	return drop(skb, DROP_UNKNOWN_DESTINATION, METRIC_EGRESS);
}

char LICENSE[] SEC("license") = "GPL";
