// SPDX-License-Identifier: GPL-2.0
/* Refused by the verifier on purpose: the loader's tests check that its log reaches Java. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int bad_prog(struct __sk_buff *skb)
{
	/* Reads the packet without checking data_end first. */
	return *(__u8 *)(long)skb->data;
}

char LICENSE[] SEC("license") = "GPL";
