# Vesicle: build, test and demo from a fresh clone (Debian 12, root).
SHELL := /bin/bash
MVN ?= mvn -B -q -Dstyle.color=never
# Tests print their counts (CI reads Surefire's closing lines).
MVN_VERBOSE ?= mvn -B -ntp -Dstyle.color=never
# What the build, the tests, the demo and the benchmarks need from Debian.
APT_PACKAGES := clang llvm libbpf-dev bpftool gcc make iproute2 libnl-route-3-dev \
	openjdk-17-jdk-headless maven iperf3 sockperf iputils-ping ethtool procps util-linux jq \
	containernetworking-plugins iptables libnftables-dev nftables etcd-server prometheus tshark curl

.PHONY: all deps bpffs build test demo bench clean

all: build

deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The tests and the agent pin maps under /sys/fs/bpf.
bpffs:
	@mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

build: deps
	$(MVN) package -DskipTests

test: deps bpffs
	$(MVN_VERBOSE) verify

demo: build bpffs
	demo/run.sh

bench: build bpffs
	bench/run.sh

clean:
	$(MVN) clean
