package io.vesicle.tests.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.tests.support.ContinuousPing;
import io.vesicle.tests.support.Echo;
import io.vesicle.tests.support.Poll;
import io.vesicle.tests.support.Topology;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Faults on a 3-node overlay cluster: an agent killed (SIGKILL) and etcd stopped. The datapath
 * lives in the kernel, so traffic between existing pods must not notice either; what changed
 * meanwhile must be caught up afterwards. The agents' lease is long (60 s) here: a node whose agent
 * is down longer than its lease leaves the cluster by design (ClusterMembershipIT), which is not
 * the fault tested.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(300)
class ClusterFaultsIT {
    private static final Duration WITHIN = Duration.ofSeconds(45);
    private static final Duration PER_TARGET = Duration.ofSeconds(5);

    private Topology topology;

    @BeforeAll
    void buildCluster() {
        topology = Topology.start(Topology.Options.of(Topology.Mode.OVERLAY, 3).leaseTTL(60));
        topology.addPods(2);
        topology.awaitConverged(WITHIN);
    }

    @AfterAll
    void removeCluster() {
        if (topology != null) {
            topology.close();
        }
    }

    @Test
    @Order(1)
    void killedAgentLeavesTrafficFlowingAndCatchesUpOnRestart() {
        Topology.Node victim = topology.node(2);
        Topology.Pod doomed = topology.node(3).addPod("n3doomed");
        topology.awaitConverged(WITHIN);
        List<ContinuousPing> pings = pingAcrossEveryNodePair();

        victim.agent().kill();
        // Changes made while it is down: a pod deleted on node 3, one added on node 1.
        topology.node(3).deletePod(doomed);
        Topology.Pod fresh = topology.node(1).addPod("n1fresh");
        topology.awaitConverged(WITHIN);
        Poll.until("node 1 forgetting " + doomed, WITHIN,
                () -> !topology.node(1).ipcache().containsKey(doomed.ip() + "/32"));
        List<String> broken = unreachablePairs();
        List<ContinuousPing.Result> results = pings.stream().map(ContinuousPing::stop).toList();
        System.out.println("while node2's agent was dead: " + results);
        assertEquals(List.of(), broken, "pod pairs broken while " + victim + "'s agent was dead");
        for (ContinuousPing.Result r : results) {
            assertTrue(r.transmitted() > 10 && r.lost() <= 1, "traffic interrupted: " + r);
        }

        long restart = System.nanoTime();
        victim.agent().start();
        Poll.until(victim + " catching up (" + doomed + " gone, " + fresh + " known)", WITHIN, () -> {
            Map<String, ?> ipcache = victim.ipcache();
            return !ipcache.containsKey(doomed.ip() + "/32") && ipcache.containsKey(fresh.ip() + "/32");
        });
        System.out.printf("node2 caught up %.0f ms after its restart began%n", (System.nanoTime() - restart) / 1e6);
        topology.awaitConverged(WITHIN);
        Topology.Pod victimPod = victim.pods().get(0);
        assertEquals(victimPod.ip(), Echo.probe(victimPod.netns(), "tcp", fresh.ip(), PER_TARGET),
                victimPod + " -> " + fresh);
    }

    @Test
    @Order(2)
    void etcdOutageKeepsForwardingReportsDegradedAndCatchesUp() {
        List<ContinuousPing> pings = pingAcrossEveryNodePair();
        topology.etcd().stop();
        Map<String, String> reasons = new TreeMap<>();
        for (Topology.Node node : topology.nodes()) {
            Poll.until(node + " reporting degraded health", WITHIN, () -> node.agent().unhealthyReason() != null);
            reasons.put(node.name(), node.agent().unhealthyReason());
        }
        System.out.println("health while etcd is down: " + reasons);
        // A pod wired during the outage: node-local work goes on, publishing waits for the store.
        Topology.Pod duringOutage = topology.node(1).addPod("n1outage");
        List<String> broken = unreachablePairs();

        topology.etcd().start();
        for (Topology.Node node : topology.nodes()) {
            Poll.until(node + " healthy again", WITHIN, () -> node.agent().unhealthyReason() == null);
        }
        List<ContinuousPing.Result> results = pings.stream().map(ContinuousPing::stop).toList();
        System.out.println("across the etcd outage: " + results);
        assertEquals(List.of(), broken, "pod pairs broken while etcd was down");
        for (ContinuousPing.Result r : results) {
            assertTrue(r.transmitted() > 10 && r.lost() <= 1, "traffic interrupted: " + r);
        }
        Topology.Pod afterOutage = topology.node(2).addPod("n2after");
        // Converged includes the pod wired during the outage: published once the store was back.
        topology.awaitConverged(WITHIN);
        Topology.Pod peer = topology.node(3).pods().get(0);
        for (Topology.Pod pod : List.of(duringOutage, afterOutage)) {
            assertEquals(peer.ip(), Echo.probe(peer.netns(), "tcp", pod.ip(), PER_TARGET), peer + " -> " + pod);
        }
    }

    /** A ping from the first pod of each node to the first pod of the next one, round the ring. */
    private List<ContinuousPing> pingAcrossEveryNodePair() {
        List<ContinuousPing> pings = new ArrayList<>();
        List<Topology.Node> nodes = topology.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            Topology.Pod from = nodes.get(i).pods().get(0);
            Topology.Pod to = nodes.get((i + 1) % nodes.size()).pods().get(0);
            pings.add(ContinuousPing.start(topology.network(), from + " -> " + to, from.netns(), to.ip()));
        }
        return pings;
    }

    /** Every ordered pair of pods on different nodes that a TCP probe does not join with pod addresses. */
    private List<String> unreachablePairs() {
        List<String> broken = new ArrayList<>();
        for (Topology.Pod from : topology.pods()) {
            List<String> targets = from.node().remotePods().stream().map(Topology.Pod::ip).toList();
            Echo.probe(from.netns(), List.of("tcp"), targets, PER_TARGET).forEach((target, seen) -> {
                if (!from.ip().equals(seen)) {
                    broken.add(from + " -> " + target + ": " + seen);
                }
            });
        }
        return broken;
    }
}
