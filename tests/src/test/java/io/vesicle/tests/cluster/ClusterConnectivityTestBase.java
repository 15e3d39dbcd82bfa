package io.vesicle.tests.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.tests.support.Capture;
import io.vesicle.tests.support.Echo;
import io.vesicle.tests.support.Shell;
import io.vesicle.tests.support.Topology;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Pods on three nodes of one routing mode (the subclass's) reach each other, the nodes' own stacks,
 * a Service-like DNAT and the world, with the addresses the issue demands: pod-to-pod keeps pod
 * IPs, the world sees the node's IP; the underlay carries VXLAN with the sender's identity as VNI
 * in overlay mode and bare pod-addressed packets in native mode. One topology (3 nodes × 3 pods)
 * serves every test of the class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(240)
abstract class ClusterConnectivityTestBase {
    static final int NODES = 3;
    static final int PODS_PER_NODE = 3;
    /** The identity local pods carry until identities are resolved (reserved: init), hence the VNI. */
    static final long POD_IDENTITY = 5;
    static final Duration PER_TARGET = Duration.ofSeconds(5);
    static final List<String> BOTH = List.of("tcp", "udp");
    static final Duration CONVERGED_WITHIN = Duration.ofSeconds(30);
    /** A ClusterIP the DNAT rule stands for (outside the cluster's pod CIDR and the underlay). */
    static final String SERVICE_IP = "10.96.0.10";

    Topology topology;

    abstract Topology.Mode mode();

    @BeforeAll
    void buildCluster() {
        topology = Topology.start(Topology.Options.of(mode(), NODES));
        topology.addPods(PODS_PER_NODE);
        topology.awaitConverged(CONVERGED_WITHIN);
    }

    @AfterAll
    void removeCluster() {
        if (topology != null) {
            topology.close();
        }
    }

    @Test
    void everyOrderedPodPairTalksTcpAndUdpWithPodAddresses() {
        List<String> wrong = new ArrayList<>();
        int pairs = 0;
        for (Topology.Pod from : topology.pods()) {
            List<String> targets = topology.pods().stream().filter(p -> p != from).map(Topology.Pod::ip).toList();
            for (var answer : Echo.probe(from.netns(), BOTH, targets, PER_TARGET).entrySet()) {
                pairs++;
                if (!from.ip().equals(answer.getValue())) {
                    wrong.add(from + " -> " + answer.getKey() + ": " + answer.getValue());
                }
            }
        }
        assertEquals(NODES * PODS_PER_NODE * (NODES * PODS_PER_NODE - 1) * 2, pairs, "pairs probed");
        assertEquals(List.of(), wrong, "pairs that failed or arrived from another address than the pod's");
    }

    @Test
    void podMtuFollowsTheRoutingMode() {
        int expected = mode() == Topology.Mode.OVERLAY ? Topology.UNDERLAY_MTU - 50 : Topology.UNDERLAY_MTU;
        for (Topology.Pod pod : topology.pods()) {
            String mtu = Shell.check("ip", "-n", pod.netns(), "-o", "link", "show", "dev", "eth0")
                    .replaceAll("(?s).* mtu (\\d+) .*", "$1").strip();
            assertEquals(String.valueOf(expected), mtu, "MTU of " + pod + "'s eth0");
        }
    }

    @Test
    void underlayCarriesTheModesEncapsulation() {
        Topology.Pod from = topology.node(1).pods().get(0);
        Topology.Pod to = topology.node(2).pods().get(0);
        // On node 1's bridge port: everything node 1 sends or receives on the underlay.
        Capture capture = Capture.start(topology.network(), topology.underlayNetns(), "n1",
                "udp port 8472 or host " + from.ip() + " or host " + to.ip());
        List<Capture.Frame> frames;
        try {
            assertEquals(from.ip(), Echo.probe(from.netns(), "tcp", to.ip(), PER_TARGET), "the probe under capture");
            assertTrue(Shell.awaitPing(from.netns(), to.ip(), Duration.ofSeconds(5)), "ping under capture");
            // The verdict is on what was captured, whatever this wait ends with.
            capture.awaitFrames(seen -> seen.stream().anyMatch(f -> f.innerSource().equals(from.ip()))
                    && seen.stream().anyMatch(f -> f.innerSource().equals(to.ip())), Duration.ofSeconds(15));
        } finally {
            frames = capture.stop();
        }
        List<Capture.Frame> between = frames.stream().filter(f -> f.ipSources().contains(from.ip())
                && f.ipDestinations().contains(to.ip()) || f.ipSources().contains(to.ip())
                && f.ipDestinations().contains(from.ip())).toList();
        assertFalse(between.isEmpty(), "no frame between " + from + " and " + to + " on the underlay: " + frames);
        for (Capture.Frame f : between) {
            if (mode() == Topology.Mode.OVERLAY) {
                assertTrue(f.vxlan(), "not VXLAN: " + f);
                assertTrue(f.udpDestinationPorts().contains(8472), "not to UDP 8472: " + f);
                assertEquals(POD_IDENTITY, f.vni(), "VNI (the sender's identity) of " + f);
                boolean outbound = f.innerSource().equals(from.ip());
                assertEquals(outbound ? from.node().underlayAddress() : to.node().underlayAddress(), f.outerSource(),
                        "outer source of " + f);
                assertEquals(outbound ? to.node().underlayAddress() : from.node().underlayAddress(),
                        f.outerDestination(), "outer destination of " + f);
            } else {
                assertFalse(f.vxlan(), "encapsulated in native mode: " + f);
                assertEquals(1, f.ipSources().size(), "an IP header inside another: " + f);
            }
        }
        assertTrue(between.stream().anyMatch(f -> f.innerSource().equals(from.ip())), "outbound frames");
        assertTrue(between.stream().anyMatch(f -> f.innerSource().equals(to.ip())), "return frames");
        if (mode() == Topology.Mode.NATIVE) {
            assertEquals(List.of(), frames.stream().filter(Capture.Frame::vxlan).toList(), "VXLAN in native mode");
        }
    }

    @Test
    void nodeStackReachesRemotePodsFromTheNodeAddress() {
        List<String> wrong = new ArrayList<>();
        for (Topology.Node node : topology.nodes()) {
            List<String> targets = node.remotePods().stream().map(Topology.Pod::ip).toList();
            Echo.probe(node.netns(), BOTH, targets, PER_TARGET).forEach((target, seen) -> {
                if (!node.underlayAddress().equals(seen)) {
                    wrong.add(node + " -> " + target + ": " + seen);
                }
            });
        }
        assertEquals(List.of(), wrong, "node-to-remote-pod probes that failed or came from elsewhere");
    }

    @Test
    void serviceDnatInANodeReachesAPodOnAnotherNode() {
        Topology.Node node = topology.node(1);
        Topology.Pod backend = topology.node(2).pods().get(0);
        Topology.Pod client = node.pods().get(0);
        // kube-proxy's part, in nftables: the ClusterIP DNATed to a backend, for the node's own
        // traffic (output) and for its pods' (prerouting).
        String rules = String.join("\n",
                "table ip vtservice {",
                "  chain out { type nat hook output priority -100; ip daddr " + SERVICE_IP + " dnat to "
                        + backend.ip() + "; }",
                "  chain pre { type nat hook prerouting priority -100; ip daddr " + SERVICE_IP + " dnat to "
                        + backend.ip() + "; }",
                "}", "");
        Shell.Result load = Shell.run(30, Shell.inNetns(node.netns(), "bash", "-c",
                "nft -f - <<'EOF'\n" + rules + "EOF"));
        assertTrue(load.ok(), "nft: " + load.stderr());
        try {
            List<String> wrong = new ArrayList<>();
            for (String netns : List.of(node.netns(), client.netns())) {
                Echo.probe(netns, BOTH, List.of(SERVICE_IP), PER_TARGET).forEach((target, seen) -> {
                    if (Echo.failed(seen)) {
                        wrong.add(target + " from " + netns + ": " + seen);
                    }
                });
            }
            assertEquals(List.of(), wrong, "Service " + SERVICE_IP + " -> " + backend);
        } finally {
            Shell.run(30, Shell.inNetns(node.netns(), "nft", "delete", "table", "ip", "vtservice"));
        }
    }

    @Test
    void podsReachTheExternalHostAsTheirNode() {
        Echo.serve(topology.network(), topology.externalNetns());
        List<String> wrong = new ArrayList<>();
        for (Topology.Pod pod : topology.pods()) {
            Echo.probe(pod.netns(), BOTH, List.of(Topology.EXTERNAL_ADDRESS), PER_TARGET).forEach((target, seen) -> {
                if (!pod.node().underlayAddress().equals(seen)) {
                    wrong.add(target + " from " + pod + ": the external host saw " + seen);
                }
            });
        }
        assertEquals(List.of(), wrong, "pods that did not reach the world masqueraded as their node");
    }
}
