/* The ipcache: every prefix of the cluster the datapath must know about beyond this node (remote
 * pods, remote nodes' pod CIDRs, remote nodes), with who it is and where it lives. Shared with
 * user space (maps/ codecs, checked against BTF). */
#ifndef VESICLE_IPCACHE_ENTRY_H
#define VESICLE_IPCACHE_ENTRY_H

#include <linux/types.h>

#define IPCACHE_FAMILY_IPV4 4

/* LPM trie key: prefixlen counts the bits that matter after it, family and pad included, so an
 * IPv4 /n is stored with prefixlen 32 + n. */
struct ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	union {
		__be32 ip4;
		__u8 ip6[16];
	} addr;
};

/* Value flags. */
#define IPCACHE_F_POD_CIDR 0x1 /* a remote node's whole pod CIDR (pods not yet known one by one) */

struct ipcache_value {
	__u32 identity;		/* security identity of the prefix */
	__be32 tunnel_endpoint; /* underlay IPv4 of the node hosting it; 0: not behind a node (a node itself) */
	__u8 flags;		/* IPCACHE_F_* */
	__u8 pad[3];
};

/* Reserved identities (Cilium's numbering); cluster-allocated ones start at 256. */
#define IDENTITY_UNKNOWN 0
#define IDENTITY_HOST 1
#define IDENTITY_WORLD 2
#define IDENTITY_UNMANAGED 3
#define IDENTITY_HEALTH 4
#define IDENTITY_INIT 5
#define IDENTITY_REMOTE_NODE 6

#endif
