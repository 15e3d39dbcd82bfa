/* Datapath counters and the reasons they are kept under. */
#ifndef VESICLE_METRICS_H
#define VESICLE_METRICS_H

#include <linux/types.h>

/* Direction, from the endpoint's point of view. */
#define METRIC_INGRESS 0 /* towards the endpoint */
#define METRIC_EGRESS 1  /* from the endpoint */

/* Reasons below DROP_REASON_MIN are verdicts that let the packet go on. */
enum metric_reason {
	REASON_FORWARDED = 0,	  /* redirected to a local endpoint */
	REASON_TO_STACK = 1,	  /* handed to the node's network stack */
	REASON_ARP_REPLY = 2,	  /* ARP request answered in BPF */
	REASON_ENCAPSULATED = 3,  /* sent into the overlay tunnel towards a remote node */
	REASON_FIB_FORWARDED = 4, /* routed straight out of a node device by a FIB lookup (native routing) */
	REASON_DECAPSULATED = 5,  /* arrived through the overlay tunnel, delivered to a local endpoint */
	REASON_VIA_STACK = 6,	  /* for a local endpoint, replying to a flow the stack NATed: handed to the stack */

	DROP_REASON_MIN = 130,
	DROP_INVALID_SOURCE_IP = 130,	/* source IP is not the endpoint's */
	DROP_INVALID_SOURCE_MAC = 131,	/* source MAC is not the endpoint's */
	DROP_TRUNCATED = 132,		/* headers shorter than they claim */
	DROP_UNKNOWN_ENDPOINT = 133,	/* sent from a device we do not know */
	DROP_UNSUPPORTED_L3 = 134,	/* neither IPv4 nor ARP (IPv6 too, for now) */
	DROP_INVALID_ARP = 135,		/* ARP that is no request for a router address */
	DROP_INVALID_IP_HEADER = 136,	/* IPv4 header malformed (version, IHL) */
	DROP_FIB_LOOKUP_FAILED = 137,	/* no usable route to a remote destination */
	DROP_NO_TUNNEL_KEY = 138,	/* from the overlay device without tunnel metadata */
	DROP_UNKNOWN_DESTINATION = 139, /* from the host device to an address the ipcache does not know */
	DROP_ENCAP_FAILED = 140,	/* tunnel metadata could not be set (no overlay device configured) */
};

struct metrics_key {
	__u8 reason;	/* enum metric_reason */
	__u8 direction; /* METRIC_INGRESS or METRIC_EGRESS */
	__u16 pad;
};

/* Per-CPU value: user space adds the CPUs up. */
struct metrics_value {
	__u64 packets;
	__u64 bytes;
};

#endif
