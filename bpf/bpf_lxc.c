// SPDX-License-Identifier: GPL-2.0
/* The datapath, one object so its programs share maps and settings:
 * from_container at the tc ingress of each pod's host-side veth (every packet a pod sends),
 * from_overlay at the tc ingress of the VXLAN device, from_netdev at the tc ingress of the
 * uplink (native routing), from_host at the tc egress of the host device vsl_host (the node's
 * own traffic to remote pods), to_netdev at the tc egress of the uplink (native routing). */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/eth.h"
#include "lib/ipv4.h"
#include "lib/arp.h"
#include "lib/counters.h"
#include "lib/endpoints.h"
#include "lib/ipcache.h"
#include "lib/local_delivery.h"
#include "lib/tunnel.h"
#include "lib/fib.h"
#include "lib/stack_flows.h"

/* Where the ipcache says a remote destination lives: its node's underlay address, or 0 when
 * it is not behind a node of the cluster (the world, a node itself, or no entry at all). In
 * single-node mode the ipcache is not even looked at. */
static __always_inline __be32 remote_tunnel_endpoint(__be32 daddr)
{
	if (CFG_ROUTING_MODE == ROUTING_MODE_NONE)
		return 0;
	struct ipcache_value *remote = lookup_ipcache_ip4(daddr);

	return remote ? remote->tunnel_endpoint : 0;
}

/* Sends a packet for a pod on another node there, as the routing mode says. hop: the packet is
 * forwarded (a pod's), so its TTL goes down by one. */
static __always_inline int forward_to_node(struct __sk_buff *skb, struct ethhdr *eth, struct iphdr *ip,
					   __be32 tunnel_endpoint, __u32 src_identity, __u8 direction,
					   int hop)
{
	if (CFG_ROUTING_MODE == ROUTING_MODE_OVERLAY) {
		if (hop)
			ipv4_decrease_ttl(ip);
		return encap_and_redirect(skb, tunnel_endpoint, src_identity, direction);
	}
	return fib_redirect(skb, eth, ip, direction, hop);
}

static __always_inline int handle_ipv4(struct __sk_buff *skb, const struct endpoint_info *src)
{
	struct ethhdr *eth = ctx_data(skb);
	struct iphdr *ip = (void *)(eth + 1);
	int invalid = ipv4_header_invalid(skb, eth, ip);

	if (invalid)
		return drop(skb, invalid, METRIC_EGRESS);
	if (ip->saddr != src->ip4)
		return drop(skb, DROP_INVALID_SOURCE_IP, METRIC_EGRESS);

	struct endpoint_info *dst = lookup_endpoint_ip4(ip->daddr);

	if (dst)
		return route_to_endpoint(skb, eth, ip, dst, METRIC_EGRESS);

	__be32 tunnel_endpoint = remote_tunnel_endpoint(ip->daddr);

	/* The world and Services: the kernel routes them (and masquerades what leaves the
	 * cluster); expiring packets too, for its ICMP time exceeded. */
	if (!tunnel_endpoint || ip->ttl <= 1)
		return to_stack(skb, METRIC_EGRESS);
	return forward_to_node(skb, eth, ip, tunnel_endpoint, src->identity, METRIC_EGRESS, 1);
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

/* Out of the tunnel: the sending node routed it already (its TTL went down there), so a local
 * endpoint gets it as sent. */
SEC("tc")
int from_overlay(struct __sk_buff *skb)
{
	/* The sender's security identity: policy, next, decides on it. */
	__s64 src_identity = tunnel_source_identity(skb);

	if (src_identity < 0)
		return drop(skb, DROP_NO_TUNNEL_KEY, METRIC_INGRESS);

	struct ethhdr *eth = ctx_data(skb);
	struct iphdr *ip = (void *)(eth + 1);
	int via_stack = 0;

	if (!ctx_has(skb, eth, sizeof(*eth)))
		return drop(skb, DROP_TRUNCATED, METRIC_INGRESS);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		int invalid = ipv4_header_invalid(skb, eth, ip);

		if (invalid)
			return drop(skb, invalid, METRIC_INGRESS);

		struct endpoint_info *dst = lookup_endpoint_ip4(ip->daddr);

		if (dst) {
			if (!stack_flow_reply(skb, ip))
				return redirect_to_endpoint(skb, eth, dst, REASON_DECAPSULATED,
							    METRIC_INGRESS);
			via_stack = 1;
		}
	}
	/* For the node itself, or for a pod through the stack. The inner destination MAC is the
	 * sending pod's router on the other node, not this device's, so the stack would take the
	 * frame for someone else's. */
	if (skb->pkt_type == PACKET_OTHERHOST)
		bpf_skb_change_type(skb, PACKET_HOST);
	return via_stack ? reply_via_stack(skb, METRIC_INGRESS) : to_stack(skb, METRIC_INGRESS);
}

/* Everything arriving on the uplink passes here: only IPv4 for a local endpoint, addressed to
 * this node, is taken (but replies to flows of the stack's); the rest goes on untouched,
 * malformed or not (the stack's business). */
SEC("tc")
int from_netdev(struct __sk_buff *skb)
{
	struct ethhdr *eth = ctx_data(skb);
	struct iphdr *ip = (void *)(eth + 1);

	if (!ctx_has(skb, ip, sizeof(*ip)) || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    skb->pkt_type != PACKET_HOST || ipv4_header_invalid(skb, eth, ip))
		return to_stack(skb, METRIC_INGRESS);

	struct endpoint_info *dst = lookup_endpoint_ip4(ip->daddr);

	if (!dst)
		return to_stack(skb, METRIC_INGRESS);
	if (stack_flow_reply(skb, ip))
		return reply_via_stack(skb, METRIC_INGRESS);
	return route_to_endpoint(skb, eth, ip, dst, METRIC_INGRESS);
}

/* The node's own packets to remote pods, which its routes send out of vsl_host: processes of
 * the node, and packets kube-proxy's DNAT turned towards a remote pod (local pods' among them,
 * noted so that their replies go back through the stack to be un-DNATed). Nothing is behind
 * vsl_host, so a packet for an address the ipcache does not place on a node is dropped. */
SEC("tc")
int from_host(struct __sk_buff *skb)
{
	struct ethhdr *eth = ctx_data(skb);
	struct iphdr *ip = (void *)(eth + 1);

	if (!ctx_has(skb, eth, sizeof(*eth)))
		return drop(skb, DROP_TRUNCATED, METRIC_EGRESS);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		/* ARP for the device's gateway, IPv6 housekeeping: on to vsl_net. */
		return to_stack(skb, METRIC_EGRESS);

	int invalid = ipv4_header_invalid(skb, eth, ip);

	if (invalid)
		return drop(skb, invalid, METRIC_EGRESS);

	__be32 tunnel_endpoint = remote_tunnel_endpoint(ip->daddr);

	if (!tunnel_endpoint)
		return drop(skb, DROP_UNKNOWN_DESTINATION, METRIC_EGRESS);

	/* A local pod's packet here went through the stack (from_container redirects the rest):
	 * its replies must come back that way. The pod, not the node, is its sender. */
	struct endpoint_info *src = lookup_endpoint_ip4(ip->saddr);
	__u32 src_identity = IDENTITY_HOST;

	if (src) {
		stack_flow_note(skb, ip);
		src_identity = src->identity;
	}
	return forward_to_node(skb, eth, ip, tunnel_endpoint, src_identity, METRIC_EGRESS, 0);
}

/* Native routing's counterpart of from_host's note: the stack routes a local pod's DNATed packet
 * out of the uplink directly (the remote pod CIDR's route is there), never through vsl_host.
 * Only looks; the packet goes on whatever it is, uncounted (every packet the node sends passes). */
SEC("tc")
int to_netdev(struct __sk_buff *skb)
{
	struct ethhdr *eth = ctx_data(skb);
	struct iphdr *ip = (void *)(eth + 1);

	if (skb->mark == MARK_FORWARDED_BY_BPF || !ctx_has(skb, ip, sizeof(*ip)) ||
	    eth->h_proto != bpf_htons(ETH_P_IP) || ipv4_header_invalid(skb, eth, ip))
		return TC_ACT_OK;
	if (lookup_endpoint_ip4(ip->saddr))
		stack_flow_note(skb, ip);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
