/* Datapath events: drop notifications, sampled traces and policy verdicts, written to the pinned
 * ring buffer vsl_events when the agent has switched them on in vsl_events_config. A full ring
 * never blocks nor slows the packet: the event is counted in vsl_events_lost and the packet goes
 * on. */
#ifndef VESICLE_LIB_EVENTS_H
#define VESICLE_LIB_EVENTS_H

#include <linux/in.h>
#include <linux/ip.h>
#include "common.h"
#include "metrics.h"
#include "datapath_event.h"
#include "endpoints.h"
#include "ipcache.h"

#define EVENTS_RING_BYTES (2 * 1024 * 1024)
/* The reader is woken once this much waits, not per event: a wakeup costs more than the event.
 * It also looks every 100 ms, so a lone event waits no longer than that. */
#define EVENTS_WAKEUP_BYTES (64 * 1024)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_events SEC(".maps");

/* An array, not a const volatile: operators switch events on and off while pods run. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct events_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_events_config SEC(".maps");

/* Events the ring had no room for, by type (per CPU: no atomics on the hot path). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, EVENT_TYPES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vsl_events_lost SEC(".maps");

static __always_inline void events_count_lost(__u32 type)
{
	__u64 *lost = bpf_map_lookup_elem(&vsl_events_lost, &type);

	if (lost)
		*lost += 1;
}

/* Addresses, protocol and ports of an IPv4 packet; family stays 0 when there is none. */
static __always_inline void events_read_ip4(const struct __sk_buff *skb, struct datapath_event *e)
{
	struct iphdr ip;
	__be16 proto;

	if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto)) < 0 ||
	    proto != bpf_htons(ETH_P_IP) ||
	    bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &ip, sizeof(ip)) < 0 || ip.version != 4 ||
	    ip.ihl < 5)
		return;
	e->family = 4;
	e->protocol = ip.protocol;
	e->saddr = ip.saddr;
	e->daddr = ip.daddr;
	/* TCP, UDP and SCTP start with the two ports; a fragment past the first has none. */
	if ((ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP || ip.protocol == IPPROTO_SCTP) &&
	    !(ip.frag_off & bpf_htons(0x1fff))) {
		__be16 ports[2];

		if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr) + ip.ihl * 4, ports, sizeof(ports)) == 0) {
			e->sport = ports[0];
			e->dport = ports[1];
		}
	}
}

/* The identity of an address: a local endpoint's, else the ipcache's; 0 when neither knows it. */
static __always_inline __u32 events_identity_ip4(__be32 addr, __u32 *endpoint_id)
{
	struct endpoint_info *ep = lookup_endpoint_ip4(addr);

	if (ep) {
		if (endpoint_id && !*endpoint_id)
			*endpoint_id = ep->endpoint_id;
		return ep->identity;
	}
	struct ipcache_value *remote = lookup_ipcache_ip4(addr);

	return remote ? remote->identity : 0;
}

/* Fills e from the packet; the sending endpoint (by the device egress programs run on) comes first.
 * A function of its own, not inlined: the event path is rare next to the packet's, and its
 * prototype keeps struct datapath_event in the object's BTF (a ring buffer names no value type),
 * where the Java codec is checked against it. */
static __noinline void events_describe(const struct __sk_buff *skb, struct datapath_event *e,
					    __u8 type, __u8 reason, __u8 direction)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->timestamp_ns = bpf_ktime_get_ns();
	e->type = type;
	e->reason = reason;
	e->direction = direction;
	e->ifindex = skb->ifindex;
	e->length = skb->len;
	events_read_ip4(skb, e);
	if (direction == METRIC_EGRESS) {
		struct endpoint_info *sender = lookup_source_endpoint(skb->ifindex);

		if (sender) {
			e->endpoint_id = sender->endpoint_id;
			e->src_identity = sender->identity;
		}
	}
	if (e->family) {
		if (!e->src_identity)
			e->src_identity = events_identity_ip4(e->saddr, direction == METRIC_EGRESS ? &e->endpoint_id : 0);
		e->dst_identity = events_identity_ip4(e->daddr, direction == METRIC_INGRESS ? &e->endpoint_id : 0);
	}
}

static __always_inline __u64 events_wakeup(void)
{
	return bpf_ringbuf_query(&vsl_events, BPF_RB_AVAIL_DATA) >= EVENTS_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
										  : BPF_RB_NO_WAKEUP;
}

/* Sends one event of type, or counts it lost. */
static __always_inline void events_send(const struct __sk_buff *skb, __u8 type, __u8 reason,
					__u8 direction)
{
	struct datapath_event *e = bpf_ringbuf_reserve(&vsl_events, sizeof(*e), 0);

	if (!e) {
		events_count_lost(type);
		return;
	}
	events_describe(skb, e, type, reason, direction);
	bpf_ringbuf_submit(e, events_wakeup());
}

static __always_inline struct events_config *events_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&vsl_events_config, &zero);
}

/* After a verdict was counted: a drop notification, or a sampled trace of a packet let through. */
static __always_inline void events_notify(const struct __sk_buff *skb, __u8 reason, __u8 direction)
{
	struct events_config *cfg = events_config();

	if (!cfg || !cfg->flags)
		return;
	if (reason >= DROP_REASON_MIN) {
		if (cfg->flags & EVENTS_F_DROP)
			events_send(skb, EVENT_DROP, reason, direction);
		return;
	}
	if (!(cfg->flags & EVENTS_F_TRACE))
		return;
	__u32 sample = cfg->trace_sample;

	if (sample > 1 && bpf_get_prandom_u32() % sample)
		return;
	events_send(skb, EVENT_TRACE, reason, direction);
}

/* For policy: a verdict event (identities as policy resolved them, which beat the lookups). */
static __always_inline void events_policy_verdict(const struct __sk_buff *skb, __u8 verdict,
						  __u8 reason, __u8 direction, __u32 src_identity,
						  __u32 dst_identity)
{
	struct events_config *cfg = events_config();

	if (!cfg || !(cfg->flags & EVENTS_F_POLICY_VERDICT))
		return;
	struct datapath_event *e = bpf_ringbuf_reserve(&vsl_events, sizeof(*e), 0);

	if (!e) {
		events_count_lost(EVENT_POLICY_VERDICT);
		return;
	}
	events_describe(skb, e, EVENT_POLICY_VERDICT, reason, direction);
	e->policy_verdict = verdict;
	e->src_identity = src_identity;
	e->dst_identity = dst_identity;
	bpf_ringbuf_submit(e, events_wakeup());
}

#endif
