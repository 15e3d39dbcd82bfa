/* A flood of packets the datapath drops: UDP datagrams from a source address the sending pod does
 * not own (IP_TRANSPARENT lets the kernel send them), paced evenly over a duration so the flood
 * covers the whole measurement beside it.
 * Usage: spoof_flood SRC_IP DST_IP DST_PORT COUNT SECONDS. Prints "sent <n> in <s> s". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s SRC_IP DST_IP DST_PORT COUNT SECONDS\n", argv[0]);
		return 2;
	}
	long count = atol(argv[4]);
	double seconds = atof(argv[5]);
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[3])) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 ||
	    inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1 ||
	    setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("spoof_flood: socket");
		return 1;
	}
	char payload[18] = "dropped by design";
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct mmsghdr msgs[BATCH];

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	double start = now();
	long sent = 0;

	while (sent < count) {
		/* Pace: never ahead of count / seconds. */
		double due = start + seconds * sent / count;
		double ahead = due - now();

		if (ahead > 0)
			usleep((useconds_t)(ahead * 1e6));
		int n = sendmmsg(fd, msgs, count - sent < BATCH ? (int)(count - sent) : BATCH, 0);

		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
				continue;
			perror("spoof_flood: sendmmsg");
			return 1;
		}
		sent += n;
	}
	printf("sent %ld in %.3f s\n", sent, now() - start);
	return 0;
}
