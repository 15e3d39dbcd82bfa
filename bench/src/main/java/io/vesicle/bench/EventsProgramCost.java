package io.vesicle.bench;

import io.vesicle.loader.BpfObject;
import io.vesicle.loader.ObjectSpec;
import io.vesicle.loader.Program;
import io.vesicle.loader.RingBuffer;
import io.vesicle.maps.DatapathEvent;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.EventsConfig;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.MacAddress;
import io.vesicle.tests.support.Packets;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What events cost from_container per packet, without the noise of traffic: BPF_PROG_TEST_RUN of
 * a packet let through (to the stack: the same count-and-notify hook as a forwarded one, and a
 * packet the run can repeat unchanged) and of a spoofed packet (dropped), each setting of the
 * events switch in turn, alternating rounds, while a reader drains the ring as the agent does.
 * Usage: EventsProgramCost [ROUNDS] [RUNS]. Prints the median ns per packet and the ratios.
 */
public final class EventsProgramCost {
    private static final MacAddress POD_MAC = MacAddress.parse("02:00:00:00:00:02");
    private static final MacAddress ROUTER_MAC = MacAddress.parse("02:00:00:00:01:02");

    private EventsProgramCost() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        Map<String, EventsConfig> modes = new LinkedHashMap<>();
        modes.put("off", EventsConfig.OFF);
        modes.put("on", new EventsConfig(true, false, true, 1));
        modes.put("traces 1/100", new EventsConfig(true, true, true, 100));
        modes.put("traces all", new EventsConfig(true, true, true, 1));
        byte[] pod = {10, (byte) 199, 0, 2};
        byte[] letThrough = frame(Packets.udp4(pod, new byte[] {10, (byte) 200, 7, 7}, 64, 32));
        byte[] spoofed = frame(Packets.udp4(new byte[] {10, (byte) 199, 0, 99}, new byte[] {10, (byte) 199, 0, 3},
                64, 32));
        Map<String, List<Double>> results = new LinkedHashMap<>();
        try (ObjectSpec spec = ObjectSpec.fromResource("/META-INF/bpf/bpf_lxc.o");
             BpfObject object = spec.load()) {
            DatapathMaps maps = DatapathMaps.of(object);
            EndpointInfo sender = new EndpointInfo(ip(pod), 1, 1, 5, 0, POD_MAC, ROUTER_MAC);
            maps.endpointsByIfindex().put(new IfIndex(1), sender); // test runs arrive on loopback
            maps.endpoints().put(new EndpointKey(ip(pod)), sender);
            Program program = object.program("from_container");
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong read = new AtomicLong();
            Thread reader = new Thread(() -> {
                try (RingBuffer ring = RingBuffer.open(maps.events().ring(), DatapathEvent.CODEC.size())) {
                    while (running.get()) {
                        read.addAndGet(ring.poll(Duration.ofMillis(50), (b, o, l) -> { }));
                    }
                }
            }, "ring-reader");
            reader.start();
            for (int r = 0; r < rounds; r++) {
                List<String> order = new ArrayList<>(modes.keySet());
                if (r % 2 == 1) {
                    Collections.reverse(order);
                }
                for (String mode : order) {
                    maps.events().configure(modes.get(mode));
                    results.computeIfAbsent(mode + "|pass", k -> new ArrayList<>())
                            .add((double) program.testRun(letThrough, 0, runs).durationNs());
                    results.computeIfAbsent(mode + "|drop", k -> new ArrayList<>())
                            .add((double) program.testRun(spoofed, 0, runs).durationNs());
                }
            }
            running.set(false);
            reader.join();
            long lost = maps.events().lost().values().stream().mapToLong(Long::longValue).sum();
            System.out.printf("%nfrom_container, BPF_PROG_TEST_RUN, %d rounds of %d runs (ns per packet, median)%n",
                    rounds, runs);
            System.out.printf("%-14s %16s %8s %16s %8s%n", "events", "let through", "ratio", "dropped", "ratio");
            double passOff = median(results.get("off|pass"));
            double dropOff = median(results.get("off|drop"));
            for (String mode : modes.keySet()) {
                double pass = median(results.get(mode + "|pass"));
                double drop = median(results.get(mode + "|drop"));
                System.out.printf("%-14s %16.1f %7.3fx %16.1f %7.3fx%n", mode, pass, passOff / pass, drop,
                        dropOff / drop);
            }
            System.out.printf("events read by the reader: %d, lost (ring full): %d%n", read.get(), lost);
        }
    }

    private static byte[] frame(byte[] ip) {
        return Packets.ethernet(ROUTER_MAC.bytes(), POD_MAC.bytes(), Packets.ETH_P_IP, ip);
    }

    private static Inet4Address ip(byte[] b) throws Exception {
        return (Inet4Address) InetAddress.getByAddress(b);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
