/* Flows of local pods that went through the node's stack on their way to another node: a
 * Service's traffic, which the stack's DNAT (kube-proxy's rules) turned towards a remote pod.
 * Their replies must go back through the stack too, whose conntrack reverses the DNAT; delivered
 * straight into the pod they would come from the backend's address, which the pod never spoke to.
 * from_host notes such a flow by the 5-tuple its replies will carry; the programs that deliver
 * from other nodes look the reply up before delivering. Pinned: flows outlive an agent restart. */
#ifndef VESICLE_LIB_STACK_FLOWS_H
#define VESICLE_LIB_STACK_FLOWS_H

#include <linux/ip.h>
#include <linux/in.h>
#include "common.h"
#include "counters.h"

#define STACK_FLOWS_MAX 65536

/* IPv4 fragment bits of frag_off (net/ip.h, not exported to user space). */
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

/* From linux/icmp.h, which drags in libc headers unfit for BPF. */
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8

struct icmp_echo {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};

/* A reply's 5-tuple, from the local pod's point of view. Ports are 0 for fragments and
 * protocols without ports; ICMP echo carries its identifier as the local port. */
struct stack_flow_key {
	__be32 remote_ip;
	__be32 local_ip;
	__be16 remote_port;
	__be16 local_port;
	__u8 proto;
	__u8 pad[3];
};

/* LRU: nothing removes a flow when it ends; the least recently used make room. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct stack_flow_key);
	__type(value, __u8); /* 1: seen */
	__uint(max_entries, STACK_FLOWS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_stack_flows SEC(".maps");

/* The ports of the packet in its own direction. An echo request's identifier counts as its
 * source port and an echo reply's as its destination port, so a request and its reply match.
 * Read with bpf_skb_load_bytes: the L4 header may lie beyond the linear data. */
static __always_inline void flow_ports(struct __sk_buff *skb, const struct iphdr *ip, __be16 *sport,
				       __be16 *dport)
{
	__u32 l4 = sizeof(struct ethhdr) + ip->ihl * 4;

	*sport = 0;
	*dport = 0;
	/* Only the first fragment has the ports; all fragments count by addresses alone. */
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
		__be16 ports[2];

		if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)) == 0) {
			*sport = ports[0];
			*dport = ports[1];
		}
	} else if (ip->protocol == IPPROTO_ICMP) {
		struct icmp_echo icmp;

		if (bpf_skb_load_bytes(skb, l4, &icmp, sizeof(icmp)) < 0)
			return;
		if (icmp.type == ICMP_ECHO)
			*sport = icmp.id;
		else if (icmp.type == ICMP_ECHOREPLY)
			*dport = icmp.id;
	}
}

/* Notes the flow of a packet a local pod sent through the stack, keyed as its replies. */
static __always_inline void stack_flow_note(struct __sk_buff *skb, const struct iphdr *ip)
{
	struct stack_flow_key key = { .remote_ip = ip->daddr, .local_ip = ip->saddr, .proto = ip->protocol };
	__u8 seen = 1;

	flow_ports(skb, ip, &key.local_port, &key.remote_port);
	/* A hit refreshes the entry's recency: no write for each packet of a known flow. */
	if (bpf_map_lookup_elem(&vsl_stack_flows, &key))
		return;
	bpf_map_update_elem(&vsl_stack_flows, &key, &seen, BPF_ANY);
}

/* Whether a packet for a local pod replies to a flow that went through the stack. */
static __always_inline int stack_flow_reply(struct __sk_buff *skb, const struct iphdr *ip)
{
	struct stack_flow_key key = { .remote_ip = ip->saddr, .local_ip = ip->daddr, .proto = ip->protocol };

	flow_ports(skb, ip, &key.remote_port, &key.local_port);
	return bpf_map_lookup_elem(&vsl_stack_flows, &key) != NULL;
}

/* Count such a reply handed to the stack, which un-NATs it and routes it to the pod. */
static __always_inline int reply_via_stack(const struct __sk_buff *skb, __u8 direction)
{
	count(skb, REASON_VIA_STACK, direction);
	return TC_ACT_OK;
}

#endif
