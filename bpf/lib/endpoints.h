/* Local endpoints: by address (where to deliver) and by host-side ifindex
 * (who is sending). Both pinned: they outlive the agent. */
#ifndef VESICLE_LIB_ENDPOINTS_H
#define VESICLE_LIB_ENDPOINTS_H

#include "common.h"
#include "endpoint.h"

#define ENDPOINTS_MAX 65536

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct endpoint_key);
	__type(value, struct endpoint_info);
	__uint(max_entries, ENDPOINTS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32); /* ifindex of the host-side veth */
	__type(value, struct endpoint_info);
	__uint(max_entries, ENDPOINTS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_lxc SEC(".maps");

static __always_inline struct endpoint_info *lookup_endpoint_ip4(__be32 addr)
{
	struct endpoint_key key = { .addr.ip4 = addr, .family = ENDPOINT_FAMILY_IPV4 };

	return bpf_map_lookup_elem(&vsl_endpoints, &key);
}

static __always_inline struct endpoint_info *lookup_source_endpoint(__u32 ifindex)
{
	return bpf_map_lookup_elem(&vsl_lxc, &ifindex);
}

#endif
