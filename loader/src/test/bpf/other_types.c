// SPDX-License-Identifier: GPL-2.0
/* Maps named and shaped like bpf_lxc's (same type, sizes and max entries) whose key or value
 * types have other names: pinned, they must not be reused by bpf_lxc. No .rodata. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct other_key {
	__u8 bytes[20];
};

struct other_info {
	__u32 words[8];
};

struct endpoint_info {
	__u32 words[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct other_key);
	__type(value, struct endpoint_info);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct other_info);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_lxc SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
