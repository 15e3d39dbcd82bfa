// SPDX-License-Identifier: GPL-2.0
/* Programs of types tc refuses: attaching them must fail and leave the device as it was. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("socket")
int socket_accept(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
