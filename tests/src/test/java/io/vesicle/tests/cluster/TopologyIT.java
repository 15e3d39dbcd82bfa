package io.vesicle.tests.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.tests.support.Capture;
import io.vesicle.tests.support.Echo;
import io.vesicle.tests.support.EtcdClient;
import io.vesicle.tests.support.Shell;
import io.vesicle.tests.support.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The harness itself, with no agent: the underlay joins the nodes, the external host and etcd as
 * DESIGN7 describes, the external host cannot route to pods, the test's etcd client sees what it
 * writes through a watch, and closing leaves nothing behind.
 */
@Timeout(120)
class TopologyIT {

    @Test
    void underlayJoinsNodesExternalHostAndEtcdAndCloseLeavesNothing() throws Exception {
        String prefix;
        long etcdPid;
        try (Topology topology = Topology.start(Topology.Options.underlayOnly(2))) {
            prefix = topology.network().prefix();
            for (Topology.Node node : topology.nodes()) {
                for (Topology.Node other : topology.nodes()) {
                    assertTrue(Shell.awaitPing(node.netns(), other.underlayAddress(), Duration.ofSeconds(5)),
                            node + " reaches " + other);
                }
                assertTrue(Shell.awaitPing(node.netns(), Topology.EXTERNAL_ADDRESS, Duration.ofSeconds(5)),
                        node + " reaches the external host");
                assertEquals("1", node.exec("sysctl", "-n", "net.ipv4.ip_forward").strip(), node + " forwards");
                assertTrue(node.routeDestinations().contains("default"), node + " has a default route");
                // etcd serves the nodes on the underlay: a TCP connect from the node's namespace.
                assertTrue(Shell.run(10, Shell.inNetns(node.netns(), "bash", "-c",
                        "exec 3<>/dev/tcp/" + Topology.ETCD_ADDRESS + "/2379")).ok(), node + " reaches etcd");
            }
            // The world knows no pods: no default route, no route to the cluster's pod CIDR.
            Shell.Result route = Shell.run(10, List.of("ip", "-n", topology.externalNetns(), "route", "get",
                    "10.244.1.2"));
            assertFalse(route.ok(), "the external host has a route to a pod: " + route.stdout());

            // The witnesses: the echo reports the caller's address, the capture on the node's bridge port sees it.
            Echo.serve(topology.network(), topology.externalNetns());
            Topology.Node first = topology.node(1);
            Capture capture = Capture.start(topology.network(), topology.underlayNetns(), "n1",
                    "host " + Topology.EXTERNAL_ADDRESS);
            Map<String, String> seen = Echo.probe(first.netns(), List.of("tcp", "udp"),
                    List.of(Topology.EXTERNAL_ADDRESS), Duration.ofSeconds(5));
            java.util.function.Predicate<Capture.Frame> fromNode = f -> !f.vxlan()
                    && f.outerSource().equals(first.underlayAddress()) && f.outerDestination().equals(Topology.EXTERNAL_ADDRESS);
            // tshark prints what dumpcap captured with a lag: wait for it before stopping.
            capture.awaitFrames(seenFrames -> seenFrames.stream().anyMatch(fromNode), Duration.ofSeconds(10));
            List<Capture.Frame> frames = capture.stop();
            assertEquals(Map.of("tcp " + Topology.EXTERNAL_ADDRESS, first.underlayAddress(),
                    "udp " + Topology.EXTERNAL_ADDRESS, first.underlayAddress()), seen);
            assertTrue(frames.stream().anyMatch(fromNode), "captured: " + frames + "; tshark said: " + capture.errors());
            assertTrue(Echo.failed(Echo.probe(first.netns(), "tcp", "10.77.0.77", Duration.ofMillis(300))),
                    "a probe of nobody fails");

            EtcdClient store = topology.store();
            try (EtcdClient.Watch watch = store.watch("/vt-harness/")) {
                store.put("/vt-harness/a", "{\"x\":1}");
                EtcdClient.Event put = watch.next(5000);
                assertNotNull(put, "the watch saw the put");
                assertEquals("/vt-harness/a", put.key());
                assertEquals("{\"x\":1}", put.value());
                assertEquals("{\"x\":1}", store.get("/vt-harness/a"));
                assertEquals(1, store.delete("/vt-harness/a"));
                EtcdClient.Event delete = watch.next(5000);
                assertNotNull(delete, "the watch saw the delete");
                assertTrue(delete.deleted(), "a delete event: " + delete);
            }
            long lease = store.grantLease(5);
            assertTrue(lease != 0, "a lease id");
            store.put("/vt-harness/leased", "x", lease);
            assertEquals(List.of("/vt-harness/leased"), List.copyOf(store.list("/vt-harness/").keySet()));

            topology.etcd().stop();
            assertFalse(store.healthy(), "etcd stopped");
            topology.etcd().start();
            assertEquals("x", store.get("/vt-harness/leased"), "etcd kept its data across the restart");
            etcdPid = Files.list(Path.of("/proc")).filter(p -> p.getFileName().toString().matches("\\d+"))
                    .filter(p -> cmdline(p).contains(prefix)).filter(p -> cmdline(p).contains("etcd"))
                    .mapToLong(p -> Long.parseLong(p.getFileName().toString())).findFirst().orElse(-1);
            assertTrue(etcdPid > 0, "etcd runs with the prefix in its command line");
        }
        assertTrue(ProcessHandle.of(etcdPid).isEmpty() || !ProcessHandle.of(etcdPid).get().isAlive(),
                "etcd is gone");
        for (Path dir : List.of(Path.of("/var/run/netns"), Path.of("/sys/fs/bpf"),
                Path.of(System.getProperty("java.io.tmpdir")))) {
            try (Stream<Path> left = Files.list(dir)) {
                assertEquals(List.of(), left.filter(p -> p.getFileName().toString().startsWith(prefix)).toList(),
                        "left in " + dir);
            }
        }
    }

    private static String cmdline(Path proc) {
        try {
            return new String(Files.readAllBytes(proc.resolve("cmdline"))).replace('\0', ' ');
        } catch (Exception e) {
            return "";
        }
    }
}
