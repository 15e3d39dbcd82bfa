/* Per-CPU packet and byte counters keyed by reason and direction. */
#ifndef VESICLE_LIB_COUNTERS_H
#define VESICLE_LIB_COUNTERS_H

#include "common.h"
#include "metrics.h"
#include "events.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct metrics_key);
	__type(value, struct metrics_value);
	__uint(max_entries, 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_metrics SEC(".maps");

static __always_inline void count(const struct __sk_buff *skb, __u8 reason, __u8 direction)
{
	struct metrics_key key = { .reason = reason, .direction = direction };
	struct metrics_value *value = bpf_map_lookup_elem(&vsl_metrics, &key);

	events_notify(skb, reason, direction); /* drop notifications and sampled traces, when on */

	if (likely(value)) {
		/* Per-CPU slot: no atomics needed. */
		value->packets += 1;
		value->bytes += skb->len;
		return;
	}
	struct metrics_value first = { .packets = 1, .bytes = skb->len };
	bpf_map_update_elem(&vsl_metrics, &key, &first, BPF_NOEXIST);
}

/* Count a packet handed on to the stack (on egress: to the device) and return the verdict. */
static __always_inline int to_stack(const struct __sk_buff *skb, __u8 direction)
{
	count(skb, REASON_TO_STACK, direction);
	return TC_ACT_OK;
}

/* Count a drop and return the verdict for it. */
static __always_inline int drop(const struct __sk_buff *skb, __u8 reason, __u8 direction)
{
	count(skb, reason, direction);
	return TC_ACT_SHOT;
}

#endif
