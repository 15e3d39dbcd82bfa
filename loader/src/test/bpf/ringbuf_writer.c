// SPDX-License-Identifier: GPL-2.0
/* Writes each packet it runs on (its first 64 bytes at most) as one record to a small ring
 * buffer; returns 1 when the ring had no room. For RingBufferTest. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_RECORD 64

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024);
} records SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} not_a_ring SEC(".maps");

SEC("tc")
int write_record(struct __sk_buff *skb)
{
	__u8 bytes[MAX_RECORD];
	__u32 len = skb->len;

	if (len > MAX_RECORD)
		len = MAX_RECORD;
	if (len == 0 || bpf_skb_load_bytes(skb, 0, bytes, len) < 0)
		return 2;
	return bpf_ringbuf_output(&records, bytes, len, 0) < 0 ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
