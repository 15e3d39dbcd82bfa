/* ARP from pods: a pod's router is the host-side veth, and it answers in BPF, so pods
 * need no static neighbour entries and the node's stack sees no ARP request from them. */
#ifndef VESICLE_LIB_ARP_H
#define VESICLE_LIB_ARP_H

#include "common.h"
#include "eth.h"
#include "endpoint.h"
#include "counters.h"

/* From linux/if_arp.h, which drags in libc headers unfit for BPF. */
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2

/* Ethernet/IPv4 ARP as it appears on the wire after the Ethernet header. */
struct arp_eth_ip4 {
	struct {
		__be16 ar_hrd;
		__be16 ar_pro;
		__u8 ar_hln;
		__u8 ar_pln;
		__be16 ar_op;
	} hdr;
	__u8 sha[ETH_ALEN];
	__be32 sip;
	__u8 tha[ETH_ALEN];
	__be32 tip;
} __attribute__((packed));

/* ARP from endpoint ep: a request for its router is answered here; its reply to the node's own
 * request (node-to-pod traffic: kubelet probes, host ports) goes on to the node's stack; anything
 * else, or anything not from the pod's own addresses, is dropped. gateway is the one address
 * answered for, or 0 to answer for every address but the asker's own. */
static __always_inline int handle_arp(struct __sk_buff *skb, const struct endpoint_info *ep,
				      __be32 gateway, __u8 direction)
{
	struct ethhdr *eth = ctx_data(skb);
	struct arp_eth_ip4 *arp = (void *)(eth + 1);

	if (!ctx_has(skb, arp, sizeof(*arp)))
		return drop(skb, DROP_TRUNCATED, direction);
	if (arp->hdr.ar_hrd != bpf_htons(ARPHRD_ETHER) || arp->hdr.ar_pro != bpf_htons(ETH_P_IP) ||
	    arp->hdr.ar_hln != ETH_ALEN || arp->hdr.ar_pln != 4)
		return drop(skb, DROP_INVALID_ARP, direction);
	if (!mac_equal(arp->sha, ep->mac))
		return drop(skb, DROP_INVALID_SOURCE_MAC, direction);
	if (arp->sip != ep->ip4)
		return drop(skb, DROP_INVALID_SOURCE_IP, direction);
	if (arp->hdr.ar_op == bpf_htons(ARPOP_REPLY))
		return to_stack(skb, direction);
	/* A probe for its own address (duplicate detection) must stay unanswered. */
	if (arp->hdr.ar_op != bpf_htons(ARPOP_REQUEST) || arp->tip == arp->sip ||
	    (gateway && arp->tip != gateway))
		return drop(skb, DROP_INVALID_ARP, direction);

	__be32 target = arp->tip;

	arp->hdr.ar_op = bpf_htons(ARPOP_REPLY);
	mac_copy(arp->tha, arp->sha);
	arp->tip = arp->sip;
	mac_copy(arp->sha, ep->node_mac);
	arp->sip = target;
	mac_copy(eth->h_dest, ep->mac);
	mac_copy(eth->h_source, ep->node_mac);

	count(skb, REASON_ARP_REPLY, direction);
	/* Back out of the device it came in on: into the pod. */
	return bpf_redirect(skb->ifindex, 0);
}

#endif
