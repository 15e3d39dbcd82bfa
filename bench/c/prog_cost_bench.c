/* What from_container costs per packet, apart from the kernel around it: BPF_PROG_TEST_RUN with
 * a repeat count runs the program on a 64-byte UDP frame from one local endpoint to another (the
 * same-node path) and reports the kernel's own mean time per run. The repeat loop's clock stops
 * while the task is preempted, so the figure holds on a busy machine where packet rates do not.
 * Objects given together are measured in alternating rounds; the median of each is printed.
 * Usage: prog_cost_bench ROUNDS OBJECT...   prints "<object> <median ns per run>" per object. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bpf/include/endpoint.h"

/* A run rewrites the frame in place and the next run of a repeat sees it so: the receiver's
 * router MAC is the sender's own MAC (the rewritten frame still passes the anti-spoofing check),
 * and the TTL starts at 255, so REPEAT forwards never expire it. */
#define REPEAT 200
#define CALLS 10000
#define MAX_OBJECTS 4
#define MAX_ROUNDS 64

/* Two endpoints on the node: the sender at host-side ifindex 1 (a test run's packet arrives on
 * loopback), the receiver at 12 (the run only records the redirect). */
static const unsigned char POD_MAC[2][6] = { { 2, 0, 0, 0, 0, 2 }, { 2, 0, 0, 0, 1, 2 } };
static const unsigned char NODE_MAC[2][6] = { { 2, 0, 0, 0, 1, 2 }, { 2, 0, 0, 0, 0, 2 } };

static struct endpoint_info endpoint(int i)
{
	struct endpoint_info info = { .ifindex = i ? 12 : 1, .endpoint_id = 1 + i, .identity = 5 };

	info.ip4 = htonl(0x0ac50002 + i); /* 10.197.0.2, 10.197.0.3 */
	memcpy(info.mac, POD_MAC[i], 6);
	memcpy(info.node_mac, NODE_MAC[i], 6);
	return info;
}

static int fill_endpoints(struct bpf_object *obj)
{
	int by_ip = bpf_object__find_map_fd_by_name(obj, "vsl_endpoints");
	int by_ifindex = bpf_object__find_map_fd_by_name(obj, "vsl_lxc");

	for (int i = 0; i < 2; i++) {
		struct endpoint_info info = endpoint(i);
		struct endpoint_key key = { .addr.ip4 = info.ip4, .family = ENDPOINT_FAMILY_IPV4 };
		__u32 ifindex = info.ifindex;

		if (bpf_map_update_elem(by_ip, &key, &info, 0) || bpf_map_update_elem(by_ifindex, &ifindex, &info, 0))
			return -1;
	}
	return 0;
}

/* 14 + 20 + 8 + 22 bytes of payload: a 64-byte frame as iperf3 -l 64 sends, less its payload. */
static void build_frame(unsigned char *frame, size_t len)
{
	struct ethhdr *eth = (void *)frame;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct endpoint_info from = endpoint(0), to = endpoint(1);

	memset(frame, 0, len);
	memcpy(eth->h_source, from.mac, 6);
	memcpy(eth->h_dest, from.node_mac, 6);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 255;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(len - sizeof(*eth));
	ip->saddr = from.ip4;
	ip->daddr = to.ip4;
	udp->source = htons(40000);
	udp->dest = htons(5201);
	udp->len = htons(len - sizeof(*eth) - sizeof(*ip));
}

struct measured {
	const char *path;
	int prog_fd;
	double ns[MAX_ROUNDS];
};

/* Mean ns per run over CALLS test runs of REPEAT runs each. */
static int run_once(struct measured *m, double *ns)
{
	double total = 0;
	unsigned char frame[64], out[128];
	build_frame(frame, sizeof(frame));
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = sizeof(frame), .data_out = out,
		    .data_size_out = sizeof(out), .repeat = REPEAT);
	for (int call = 0; call < CALLS; call++) {
		opts.data_size_out = sizeof(out);
		if (bpf_prog_test_run_opts(m->prog_fd, &opts)) {
			perror(m->path);
			return -1;
		}
		if (opts.retval != 7 /* TC_ACT_REDIRECT */) {
			fprintf(stderr, "%s: from_container returned %u, not a redirect\n", m->path, opts.retval);
			return -1;
		}
		total += opts.duration;
	}
	*ns = total / CALLS;
	return 0;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[1]) : 0;
	int count = argc - 2;
	struct measured objects[MAX_OBJECTS] = {};

	if (rounds < 1 || rounds > MAX_ROUNDS || count < 1 || count > MAX_OBJECTS) {
		fprintf(stderr, "usage: %s ROUNDS(1..%d) OBJECT... (up to %d)\n", argv[0], MAX_ROUNDS, MAX_OBJECTS);
		return 2;
	}
	for (int o = 0; o < count; o++) {
		struct bpf_object *obj = bpf_object__open_file(argv[2 + o], NULL);
		struct bpf_map *map;

		if (!obj) {
			perror(argv[2 + o]);
			return 1;
		}
		bpf_object__for_each_map(map, obj)
			bpf_map__set_pin_path(map, NULL); /* private maps: nothing pinned, nothing shared */
		if (bpf_object__load(obj) || fill_endpoints(obj)) {
			fprintf(stderr, "%s: load or fill failed\n", argv[2 + o]);
			return 1;
		}
		objects[o].path = argv[2 + o];
		objects[o].prog_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "from_container"));
	}
	for (int r = 0; r < rounds; r++)
		for (int o = 0; o < count; o++)
			if (run_once(&objects[o], &objects[o].ns[r]))
				return 1;
	for (int o = 0; o < count; o++) {
		qsort(objects[o].ns, rounds, sizeof(double), compare);
		printf("%s %.1f\n", objects[o].path, objects[o].ns[rounds / 2]);
	}
	return 0;
}
