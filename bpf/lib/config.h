/* Load-time settings: const volatile globals in .rodata, which libbpf rewrites before load, so
 * one compiled object serves every node. 0 means unset. */
#ifndef VESICLE_LIB_CONFIG_H
#define VESICLE_LIB_CONFIG_H

#include "common.h"

#define ROUTING_MODE_NONE 0    /* a single node: remote destinations go to the stack */
#define ROUTING_MODE_OVERLAY 1 /* remote pods through the VXLAN device */
#define ROUTING_MODE_NATIVE 2  /* remote pods routed unencapsulated by a FIB lookup */

const volatile __be32 CFG_GATEWAY_IP4 = 0;  /* the only ARP target answered; 0: any router address */
const volatile __u32 CFG_ROUTING_MODE = ROUTING_MODE_NONE;
const volatile __u32 CFG_ENCAP_IFINDEX = 0; /* the VXLAN device (collect_md) in overlay mode */
const volatile __be32 CFG_NODE_IP4 = 0;	    /* this node's underlay address: the tunnel's source */

#endif
