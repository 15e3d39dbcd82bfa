/* Events the datapath sends to user space through the vsl_events ring buffer, and the settings
 * the agent writes at run time to switch them. Shared with user space (maps/ codecs, checked
 * against BTF). */
#ifndef VESICLE_DATAPATH_EVENT_H
#define VESICLE_DATAPATH_EVENT_H

#include <linux/types.h>

/* Event types (also the index of the lost-event counters). */
#define EVENT_DROP 1		/* a packet dropped, with the reason */
#define EVENT_TRACE 2		/* a packet let through (forwarded, to the stack, ...), sampled */
#define EVENT_POLICY_VERDICT 3	/* a policy decision */
#define EVENT_TYPES 4		/* counters kept: 0 unused, then one per type */

/* events_config.flags: which events are sent. */
#define EVENTS_F_DROP 0x1
#define EVENTS_F_TRACE 0x2
#define EVENTS_F_POLICY_VERDICT 0x4

/* policy_verdict values of EVENT_POLICY_VERDICT. */
#define POLICY_VERDICT_ALLOW 1
#define POLICY_VERDICT_DENY 2

/* The one entry of vsl_events_config, written by the agent while programs run. */
struct events_config {
	__u32 flags;		/* EVENTS_F_* */
	__u32 trace_sample;	/* trace events: 1 in trace_sample packets (0 or 1: every one) */
};

/* One event. family is 0 when the packet was not IPv4 (or too short to read): then the addresses,
 * protocol and ports are 0; ports are 0 for protocols without them. Identities are 0 when unknown. */
struct datapath_event {
	__u64 timestamp_ns;	/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u8 type;		/* EVENT_* */
	__u8 reason;		/* enum metric_reason */
	__u8 direction;		/* METRIC_INGRESS or METRIC_EGRESS */
	__u8 family;		/* 4, or 0 when not parsed */
	__u8 protocol;		/* IP protocol number */
	__u8 policy_verdict;	/* POLICY_VERDICT_* for EVENT_POLICY_VERDICT, else 0 */
	__u8 pad[2];
	__u32 ifindex;		/* the device the program ran on */
	__u32 endpoint_id;	/* the local endpoint the packet came from or goes to; 0 when none */
	__u32 src_identity;
	__u32 dst_identity;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32 length;		/* skb->len */
};

#endif
