/* Ethernet helpers. */
#ifndef VESICLE_LIB_ETH_H
#define VESICLE_LIB_ETH_H

#include "common.h"

static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
	/* 4 + 2 byte compares: the verifier-friendly form of memcmp(a, b, 6). */
	return *(const __u32 *)a == *(const __u32 *)b &&
	       *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, ETH_ALEN);
}

#endif
