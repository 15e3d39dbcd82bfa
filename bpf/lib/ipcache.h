/* The ipcache map: longest-prefix match from a destination to its identity and tunnel endpoint.
 * Pinned: remote destinations stay reachable while the agent restarts. */
#ifndef VESICLE_LIB_IPCACHE_H
#define VESICLE_LIB_IPCACHE_H

#include "common.h"
#include "ipcache_entry.h"

#define IPCACHE_MAX 512000

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
	__uint(max_entries, IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_ipcache SEC(".maps");

static __always_inline struct ipcache_value *lookup_ipcache_ip4(__be32 addr)
{
	struct ipcache_key key = {
		.prefixlen = 32 + 32,
		.family = IPCACHE_FAMILY_IPV4,
		.addr.ip4 = addr,
	};

	return bpf_map_lookup_elem(&vsl_ipcache, &key);
}

#endif
