/* The overlay: VXLAN through a device in external (collect_md) mode. BPF sets and reads the
 * tunnel metadata; the device builds and strips the outer headers, so GSO packets cross it
 * whole and are segmented (or offloaded) after encapsulation. */
#ifndef VESICLE_LIB_TUNNEL_H
#define VESICLE_LIB_TUNNEL_H

#include "common.h"
#include "config.h"
#include "counters.h"

#define TUNNEL_TTL 64

/* Sends the packet into the tunnel towards the node at tunnel_endpoint (network order). The
 * VNI carries the sender's security identity, so the receiving node knows who sent it without
 * a lookup. */
static __always_inline int encap_and_redirect(struct __sk_buff *skb, __be32 tunnel_endpoint,
					      __u32 src_identity, __u8 direction)
{
	struct bpf_tunnel_key key = {
		.tunnel_id = src_identity,
		.remote_ipv4 = bpf_ntohl(tunnel_endpoint),
		.tunnel_ttl = TUNNEL_TTL,
		/* 0 lets the kernel pick the source by route; set, every node's VXLAN packets come
		 * from its underlay address whatever the routes say. */
		.local_ipv4 = bpf_ntohl(CFG_NODE_IP4),
	};

	if (!CFG_ENCAP_IFINDEX)
		return drop(skb, DROP_ENCAP_FAILED, direction);
	/* No outer UDP checksum: the inner packet carries its own, and the sender saves the work
	 * (RFC 7348 allows zero over IPv4). */
	if (bpf_skb_set_tunnel_key(skb, &key, sizeof(key), BPF_F_ZERO_CSUM_TX) < 0)
		return drop(skb, DROP_ENCAP_FAILED, direction);
	count(skb, REASON_ENCAPSULATED, direction);
	return bpf_redirect(CFG_ENCAP_IFINDEX, 0);
}

/* The security identity of whoever sent a packet that came out of the tunnel, or -1 when the
 * packet carries no tunnel metadata (it did not come through a collect_md device). */
static __always_inline __s64 tunnel_source_identity(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};

	if (bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0) < 0)
		return -1;
	return key.tunnel_id;
}

#endif
