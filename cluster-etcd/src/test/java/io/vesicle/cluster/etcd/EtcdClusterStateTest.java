package io.vesicle.cluster.etcd;

import io.etcd.jetcd.KeyValue;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.ClusterStateException;
import io.vesicle.cluster.NodeAssignment;
import io.vesicle.cluster.PodInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static io.vesicle.cluster.etcd.EtcdCalls.await;
import static io.vesicle.cluster.etcd.EtcdCalls.bytes;
import static io.vesicle.cluster.etcd.EtcdCalls.text;
import static io.vesicle.cluster.etcd.EventRecorder.about;
import static io.vesicle.cluster.etcd.Fixture.awaitTrue;
import static io.vesicle.cluster.etcd.Fixture.local;
import static io.vesicle.cluster.etcd.Fixture.nodeJson;
import static io.vesicle.cluster.etcd.Fixture.podJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The etcd source against a real etcd 3.4 on loopback; every test under a key prefix of its own. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdClusterStateTest {
    private static final Duration EVENT_TIMEOUT = Duration.ofSeconds(10);
    private static final int SHORT_TTL = 2;

    private static EtcdProcess etcd;
    private Fixture fixture;

    @BeforeAll
    static void startEtcd() throws Exception {
        etcd = EtcdProcess.start();
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    @BeforeEach
    void openFixture() {
        fixture = new Fixture(etcd);
    }

    @AfterEach
    void closeFixture() {
        fixture.close();
    }

    /** A node already watching, to see what the others do. */
    private EventRecorder watchingNode(String name, int host) throws Exception {
        EtcdClusterState observer = fixture.open(SHORT_TTL);
        observer.join(local(name, host));
        EventRecorder events = new EventRecorder();
        observer.start(events).get(10, TimeUnit.SECONDS);
        assertTrue(observer.hasSynced());
        return events;
    }

    /** Joins as node with one pod named pod, once the watching node has seen the pod; returns the pod CIDR. */
    private static Cidr joinWithPod(EtcdClusterState state, EventRecorder events, String node, String pod)
            throws InterruptedException {
        Cidr podCIDR = state.join(local(node, 2)).podCIDR();
        state.publishPod(new PodInfo("default", pod, podCIDR.address(5), node, Map.of()));
        events.await(0, about(pod), EVENT_TIMEOUT, "pod " + pod);
        return podCIDR;
    }

    @Test
    void concurrentJoinsClaimDistinctPodCIDRsAndARejoiningNodeGetsItsOwnBack() throws Exception {
        int nodes = 8;
        ExecutorService joiners = Executors.newFixedThreadPool(nodes);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<NodeAssignment>> joins = new ArrayList<>();
        try {
            for (int i = 0; i < nodes; i++) {
                EtcdClusterState state = fixture.open(SHORT_TTL);
                String name = "node-" + i;
                int host = 10 + i;
                joins.add(joiners.submit(() -> {
                    go.await();
                    return state.join(local(name, host));
                }));
            }
            go.countDown();
            Map<String, Cidr> assigned = new LinkedHashMap<>();
            for (int i = 0; i < nodes; i++) {
                NodeAssignment assignment = joins.get(i).get(30, TimeUnit.SECONDS);
                assertEquals(Cidr.parse(Fixture.CLUSTER_CIDR), assignment.clusterCIDR());
                assertEquals(24, assignment.podCIDR().prefixLength());
                assertTrue(assignment.clusterCIDR().contains(assignment.podCIDR().network()));
                assigned.put("node-" + i, assignment.podCIDR());
            }
            System.out.println("concurrent joins: " + assigned);
            assertEquals(nodes, new HashSet<>(assigned.values()).size(), "pod CIDRs must be distinct: " + assigned);

            Map<String, String> claims = new LinkedHashMap<>();
            for (KeyValue claim : fixture.list("cidrs/")) {
                claims.put(text(claim.getKey()), text(claim.getValue()));
            }
            assertEquals(nodes, claims.size(), "one claim per node: " + claims);
            assigned.forEach((name, cidr) -> assertEquals(name, claims.get(fixture.key("cidrs/"
                    + cidr.network().getHostAddress() + "-24"))));
            KeyValue registered = fixture.get("nodes/node-3").orElseThrow();
            assertEquals(nodeJson("node-3", "192.168.50.13", assigned.get("node-3").toString()), text(registered.getValue()));
            assertNotEquals(0, registered.getLease(), "nodes/<name> lives under a lease");

            EtcdClusterState again = fixture.open(SHORT_TTL);
            assertEquals(assigned.get("node-3"), again.join(local("node-3", 13)).podCIDR());
            EtcdClusterState newcomer = fixture.open(SHORT_TTL);
            Cidr fresh = newcomer.join(local("node-new", 30)).podCIDR();
            assertFalse(assigned.containsValue(fresh), fresh + " was already taken");
        } finally {
            joiners.shutdownNow();
        }
    }

    @Test
    void aNodeConfiguredWithAnotherClusterCIDRRefusesToJoinNamingBoth() {
        fixture.open(SHORT_TTL).join(local("first", 1));
        Map<String, String> settings = fixture.settings(SHORT_TTL);
        settings.put("clusterCIDR", "10.99.0.0/16");
        EtcdClusterState other = fixture.open(settings, StoreWatch.SyncHooks.NONE);
        ClusterStateException refused = assertThrows(ClusterStateException.class, () -> other.join(local("second", 2)));
        assertTrue(refused.getMessage().contains("10.99.0.0/16") && refused.getMessage().contains(Fixture.CLUSTER_CIDR),
                refused.getMessage());
        assertTrue(fixture.get("nodes/second").isEmpty(), "a refused node registers nothing");
    }

    @Test
    void otherNodesAndPodsArriveInOrderOnOneThreadWithTheirKeysAsOrigin() throws Exception {
        EventRecorder events = watchingNode("observer", 1);
        int mark = events.mark();

        EtcdClusterState other = fixture.open(SHORT_TTL);
        NodeAssignment assignment = other.join(local("other", 2));
        ClusterEvent.NodeUpserted node = (ClusterEvent.NodeUpserted) events.await(mark,
                e -> e instanceof ClusterEvent.NodeUpserted n && n.node().name().equals("other"), EVENT_TIMEOUT, "node other")
                .event();
        assertEquals(fixture.key("nodes/other"), node.origin());
        assertEquals(assignment.podCIDR(), node.node().podCIDR());
        assertEquals("192.168.50.2", node.node().underlayIP().getHostAddress());

        PodInfo web = new PodInfo("default", "web", Cidr.parseAddress("10.244.7.5"), "other", Map.of("app", "web"));
        other.publishPod(web);
        ClusterEvent.PodUpserted pod = (ClusterEvent.PodUpserted) events.await(mark,
                e -> e instanceof ClusterEvent.PodUpserted, EVENT_TIMEOUT, "pod web").event();
        assertEquals(web, pod.pod());
        assertEquals(fixture.key("pods/other/default/web"), pod.origin());
        assertEquals(other.leaseId(), fixture.get("pods/other/default/web").orElseThrow().getLease(),
                "a pod lives under its node's lease");

        other.withdrawPod("default", "web");
        ClusterEvent.PodDeleted gone = (ClusterEvent.PodDeleted) events.await(mark,
                e -> e instanceof ClusterEvent.PodDeleted, EVENT_TIMEOUT, "pod web deleted").event();
        assertEquals(fixture.key("pods/other/default/web"), gone.origin());

        // Store-to-handler delay: puts by another client, measured to the handler's receipt.
        int samples = 50;
        long[] delaysMicros = new long[samples];
        for (int i = 0; i < samples; i++) {
            int before = events.mark();
            String name = "timed-" + i;
            long put = System.nanoTime();
            fixture.put("pods/other/default/" + name, podJson("other", "default", name, "10.244.7." + (10 + i)));
            EventRecorder.Recorded arrived = events.await(before, about(name), EVENT_TIMEOUT, name);
            delaysMicros[i] = (arrived.nanoTime() - put) / 1_000;
        }
        System.out.println("etcd put -> handler delay: " + distribution(delaysMicros));

        List<EventRecorder.Recorded> all = events.since(0);
        assertTrue(all.stream().allMatch(r -> r.threadName().equals("vesicle-etcd-events")), "one event thread");
        List<String> timedOrder = all.stream().filter(r -> r.event() instanceof ClusterEvent.PodUpserted p
                && p.pod().name().startsWith("timed-")).map(r -> ((ClusterEvent.PodUpserted) r.event()).pod().name()).toList();
        List<String> putOrder = new ArrayList<>();
        for (int i = 0; i < samples; i++) {
            putOrder.add("timed-" + i);
        }
        assertEquals(putOrder, timedOrder, "events in the store's order");
    }

    static String distribution(long[] micros) {
        long[] sorted = micros.clone();
        java.util.Arrays.sort(sorted);
        return String.format("n=%d min=%.2f p50=%.2f p90=%.2f p99=%.2f max=%.2f ms", sorted.length,
                sorted[0] / 1000.0, percentile(sorted, 50) / 1000.0, percentile(sorted, 90) / 1000.0,
                percentile(sorted, 99) / 1000.0, sorted[sorted.length - 1] / 1000.0);
    }

    private static long percentile(long[] sorted, int p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    @Test
    void aStoppedNodeAndItsPodsDisappearAfterItsLeaseTTL() throws Exception {
        EventRecorder events = watchingNode("observer", 1);
        EtcdClusterState leaving = fixture.open(SHORT_TTL);
        Cidr podCIDR = joinWithPod(leaving, events, "leaving", "api");

        int mark = events.mark();
        long closed = System.nanoTime();
        leaving.close();
        EventRecorder.Recorded nodeGone = events.await(mark,
                e -> e instanceof ClusterEvent.NodeDeleted d && d.name().equals("leaving"), Duration.ofSeconds(20),
                "node leaving deleted");
        EventRecorder.Recorded podGone = events.await(mark, e -> e instanceof ClusterEvent.PodDeleted,
                Duration.ofSeconds(20), "pod api deleted");
        assertEquals(fixture.key("nodes/leaving"), nodeGone.event().origin());
        assertEquals(fixture.key("pods/leaving/default/api"), podGone.event().origin());
        System.out.printf("stopped node deleted %.2f s after close (lease TTL %d s)%n",
                (nodeGone.nanoTime() - closed) / 1e9, SHORT_TTL);
        assertEquals("leaving", text(fixture.get("cidrs/" + podCIDR.network().getHostAddress() + "-24").orElseThrow()
                .getValue()), "the pod CIDR stays claimed for the node");
    }

    @Test
    void aNodeThatLeavesDisappearsAtOnce() throws Exception {
        EventRecorder events = watchingNode("observer", 1);
        EtcdClusterState leaving = fixture.open(10);
        leaving.join(local("leaving", 2));
        events.await(0, about("leaving"), EVENT_TIMEOUT, "node leaving");
        int mark = events.mark();
        long left = System.nanoTime();
        leaving.leave();
        EventRecorder.Recorded gone = events.await(mark, e -> e instanceof ClusterEvent.NodeDeleted,
                EVENT_TIMEOUT, "node leaving deleted");
        System.out.printf("node that left (TTL 10 s) deleted %.3f s after leave()%n", (gone.nanoTime() - left) / 1e9);
    }

    @Test
    void malformedEntriesAreRefusedWithTheirKeyLoggedAndNeverDelivered() throws Exception {
        Map<String, String> atListing = Map.of(
                "nodes/bad-json", "{not json",
                "nodes/bad-ip", nodeJson("bad-ip", "10.0.0.300", "10.244.9.0/24"),
                "pods/n1/default", podJson("n1", "default", "x", "10.244.9.9"),
                "pods/n1/default/misplaced", podJson("n2", "default", "misplaced", "10.244.9.9"));
        Map<String, String> whileWatching = Map.of(
                "nodes/bad-cidr", nodeJson("bad-cidr", "10.0.0.9", "10.244.9.1/24"),
                "nodes/no-prefix", nodeJson("no-prefix", "10.0.0.9", "10.244.9.0"),
                "nodes/impostor", nodeJson("someone-else", "10.0.0.9", "10.244.9.0/24"),
                "pods/n1/default/v6", podJson("n1", "default", "v6", "fe80::1"),
                "pods/n1/default/labels", "{\"namespace\":\"default\",\"name\":\"labels\",\"ip\":\"10.244.9.9\","
                        + "\"nodeName\":\"n1\",\"labels\":{\"app\":7}}");
        Map<String, String> reasons = Map.of(
                "nodes/bad-json", "not JSON",
                "nodes/bad-ip", "underlayIP",
                "pods/n1/default", "pods/<node>/<namespace>/<name>",
                "pods/n1/default/misplaced", "nodeName 'n2'",
                "nodes/bad-cidr", "host bits",
                "nodes/no-prefix", "podCIDR: '10.244.9.0' is not an IPv4 CIDR",
                "nodes/impostor", "name 'someone-else'",
                "pods/n1/default/v6", "ip",
                "pods/n1/default/labels", "label 'app'");
        try (LogCapture log = new LogCapture()) {
            atListing.forEach(fixture::put);
            EventRecorder events = watchingNode("observer", 1);
            whileWatching.forEach(fixture::put);
            // Events come in the store's order: once the sentinel is here, everything before it was handled.
            fixture.put("nodes/sentinel", nodeJson("sentinel", "10.0.0.5", "10.244.5.0/24"));
            events.await(0, about("sentinel"), EVENT_TIMEOUT, "sentinel");

            Set<String> malformedKeys = new HashSet<>();
            reasons.keySet().forEach(relative -> malformedKeys.add(fixture.key(relative)));
            List<String> delivered = events.since(0).stream().map(r -> r.event().origin())
                    .filter(malformedKeys::contains).toList();
            assertEquals(List.of(), delivered, "malformed entries delivered");
            reasons.forEach((relative, reason) -> {
                List<String> lines = log.lines().stream()
                        .filter(line -> line.contains("WARN") && line.contains("refused " + fixture.key(relative) + ":"))
                        .toList();
                assertEquals(1, lines.size(), "one refusal line for " + relative + ": " + lines);
                assertTrue(lines.get(0).contains(reason), lines.get(0) + " should say " + reason);
            });

            // A delivered node whose value turns malformed is deleted.
            int mark = events.mark();
            fixture.put("nodes/turns-bad", nodeJson("turns-bad", "10.0.0.6", "10.244.6.0/24"));
            events.await(mark, e -> e instanceof ClusterEvent.NodeUpserted n && n.node().name().equals("turns-bad"),
                    EVENT_TIMEOUT, "turns-bad upserted");
            fixture.put("nodes/turns-bad", nodeJson("turns-bad", "not-an-ip", "10.244.6.0/24"));
            EventRecorder.Recorded deleted = events.await(mark, e -> e instanceof ClusterEvent.NodeDeleted,
                    EVENT_TIMEOUT, "turns-bad deleted");
            assertEquals(fixture.key("nodes/turns-bad"), deleted.event().origin());
        }
    }

    @Test
    void aLostLeaseIsReplacedKeepingTheCIDRAndRepublishingThePods() throws Exception {
        EventRecorder events = watchingNode("observer", 1);
        EtcdClusterState node = fixture.open(SHORT_TTL);
        Cidr podCIDR = joinWithPod(node, events, "partitioned", "db");
        long lostLease = node.leaseId();

        try (LogCapture log = new LogCapture()) {
            int mark = events.mark();
            // What etcd does when it hears nothing from the node for the TTL.
            await(fixture.store.getLeaseClient().revoke(lostLease), "revoke");
            events.await(mark, e -> e instanceof ClusterEvent.NodeDeleted, EVENT_TIMEOUT, "partitioned deleted");
            EventRecorder.Recorded back = events.await(mark, e -> e instanceof ClusterEvent.NodeUpserted n
                    && n.node().name().equals("partitioned"), EVENT_TIMEOUT, "partitioned back");
            assertEquals(podCIDR, ((ClusterEvent.NodeUpserted) back.event()).node().podCIDR());
            events.await(mark, e -> e instanceof ClusterEvent.PodUpserted p && p.pod().name().equals("db"),
                    EVENT_TIMEOUT, "pod db republished");
            assertNotEquals(lostLease, node.leaseId());
            assertEquals(node.leaseId(), fixture.get("nodes/partitioned").orElseThrow().getLease());
            assertEquals(node.leaseId(), fixture.get("pods/partitioned/default/db").orElseThrow().getLease());
            awaitTrue("degraded reason cleared", EVENT_TIMEOUT, () -> node.degradedReason().isEmpty());
            assertTrue(log.lines().stream().anyMatch(line -> line.contains("WARN")
                    && line.contains("lease " + Long.toHexString(lostLease) + " is gone")), "the lost lease is logged");
        }
    }

    @Test
    void aWatchStartingBelowTheCompactedRevisionListsAgainAndDeliversTheDifference() throws Exception {
        fixture.put("nodes/doomed", nodeJson("doomed", "10.0.0.7", "10.244.7.0/24"));
        Gate gate = new Gate();
        gate.holdNextWatch();
        EtcdClusterState observer = fixture.open(fixture.settings(SHORT_TTL), gate);
        observer.join(local("observer", 1));
        EventRecorder events = new EventRecorder();
        try (LogCapture log = new LogCapture()) {
            observer.start(events);
            gate.awaitHeld(EVENT_TIMEOUT);
            events.await(0, about("doomed"), EVENT_TIMEOUT, "doomed listed");
            int mark = events.mark();

            // While our watch is not yet running: changes, then a compaction past its start revision.
            fixture.delete("nodes/doomed");
            fixture.put("nodes/newcomer", nodeJson("newcomer", "10.0.0.8", "10.244.8.0/24"));
            long head = fixture.get("nodes/newcomer").orElseThrow().getModRevision();
            await(fixture.store.getKVClient().compact(head), "compact");
            assertTrue(head > gate.watchRevision(), "compacted past the watch's start");
            gate.release();

            EventRecorder.Recorded deleted = events.await(mark, e -> e instanceof ClusterEvent.NodeDeleted,
                    EVENT_TIMEOUT, "doomed deleted");
            assertEquals("doomed", ((ClusterEvent.NodeDeleted) deleted.event()).name());
            events.await(mark, about("newcomer"), EVENT_TIMEOUT, "newcomer");
            events.await(mark, e -> e instanceof ClusterEvent.Synced, EVENT_TIMEOUT, "Synced after the relisting");
            assertTrue(log.lines().stream().anyMatch(line -> line.contains("compacted")), "the compaction is logged");
            awaitTrue("in step again", EVENT_TIMEOUT, () -> observer.degradedReason().isEmpty());
        }
    }
}
