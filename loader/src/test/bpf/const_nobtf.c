// SPDX-License-Identifier: GPL-2.0
/* Built without -g, so without BTF: a .rodata constant nobody can set by name, and no structs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 CFG_VERDICT = 0;

SEC("tc")
int const_verdict(struct __sk_buff *skb)
{
	return CFG_VERDICT;
}

char LICENSE[] SEC("license") = "GPL";
