/* The baseline of MapUpdateBenchmark: the same updates of the same map, in C over libbpf.
 * Usage: map_update_bench OBJECT SECONDS. Prints "single <ops/s>" and "batch <entries/s>". */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../bpf/include/endpoint.h"

#define KEYS 10000
#define BATCH 1024

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill_key(struct endpoint_key *key, int i)
{
	memset(key, 0, sizeof(*key));
	unsigned char *ip = (unsigned char *)&key->addr.ip4;

	ip[0] = 10;
	ip[1] = i >> 16;
	ip[2] = i >> 8;
	ip[3] = i;
	key->family = ENDPOINT_FAMILY_IPV4;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJECT SECONDS\n", argv[0]);
		return 2;
	}
	double seconds = atof(argv[2]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);

	if (!obj) {
		perror("open");
		return 1;
	}
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL); /* private maps, as in the Java benchmark */
	if (bpf_object__load(obj)) {
		perror("load");
		return 1;
	}
	int fd = bpf_object__find_map_fd_by_name(obj, "vsl_endpoints");
	static struct endpoint_key keys[KEYS];
	static struct endpoint_info values[BATCH];
	struct endpoint_info value = { .ifindex = 7, .endpoint_id = 1, .identity = 256 };

	for (int i = 0; i < KEYS; i++)
		fill_key(&keys[i], i);
	for (int i = 0; i < BATCH; i++)
		values[i] = value;

	long ops = 0;
	double start = now(), end = start + seconds;

	while (now() < end) {
		for (int i = 0; i < KEYS; i++) {
			if (bpf_map_update_elem(fd, &keys[i], &value, BPF_ANY)) {
				perror("update");
				return 1;
			}
		}
		ops += KEYS;
	}
	printf("single %.0f\n", ops / (now() - start));

	ops = 0;
	start = now();
	end = start + seconds;
	while (now() < end) {
		__u32 count = BATCH;

		if (bpf_map_update_batch(fd, keys, values, &count, NULL)) {
			perror("update_batch");
			return 1;
		}
		ops += count;
	}
	printf("batch %.0f\n", ops / (now() - start));
	bpf_object__close(obj);
	return 0;
}
