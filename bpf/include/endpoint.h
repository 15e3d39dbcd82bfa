/* Endpoint records shared by the datapath and user space (maps/ codecs).
 * Fixed-width fields, explicit padding: the Java codecs are checked
 * against this layout through the object's BTF. */
#ifndef VESICLE_ENDPOINT_H
#define VESICLE_ENDPOINT_H

#include <linux/types.h>

#define ENDPOINT_FAMILY_IPV4 4
#define ENDPOINT_FAMILY_IPV6 6

/* Key of the endpoints map: a pod address. Room for IPv6 from the start. */
struct endpoint_key {
	union {
		__be32 ip4;
		__u8 ip6[16];
	} addr;
	__u8 family;
	__u8 pad[3];
};

/* Endpoint flags. */
#define ENDPOINT_F_HOST 0x1 /* reserved: the node itself */

/* Value of both endpoint maps (by address and by host-side ifindex). */
struct endpoint_info {
	__be32 ip4;		/* the pod's IPv4 address */
	__u32 ifindex;		/* host-side veth, in the node namespace */
	__u32 endpoint_id;	/* agent-assigned endpoint id */
	__u32 identity;		/* security identity */
	__u32 flags;		/* ENDPOINT_F_* */
	__u8 mac[6];		/* the pod interface's MAC */
	__u8 node_mac[6];	/* the host-side veth's MAC: the pod's router */
};

#endif
