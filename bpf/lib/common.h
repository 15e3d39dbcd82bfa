/* Definitions every program needs: kernel types, helpers, verdicts. */
#ifndef VESICLE_LIB_COMMON_H
#define VESICLE_LIB_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Bounds check that the verifier can follow. */
static __always_inline int ctx_has(const struct __sk_buff *skb, const void *p, __u32 len)
{
	return (const char *)p + len <= (const char *)(long)skb->data_end;
}

static __always_inline void *ctx_data(const struct __sk_buff *skb)
{
	return (void *)(long)skb->data;
}

#endif
