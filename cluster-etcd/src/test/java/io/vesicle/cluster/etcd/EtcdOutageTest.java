package io.vesicle.cluster.etcd;

import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.PodInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.vesicle.cluster.etcd.EventRecorder.about;
import static io.vesicle.cluster.etcd.Fixture.awaitTrue;
import static io.vesicle.cluster.etcd.Fixture.local;
import static io.vesicle.cluster.etcd.Fixture.nodeJson;
import static io.vesicle.cluster.etcd.Fixture.podJson;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults: etcd stopped and started again on its data (degraded meanwhile, then caught up by a
 * relisting), and a node cut off from etcd for longer than its lease TTL.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EtcdOutageTest {
    private static final Duration EVENT_TIMEOUT = Duration.ofSeconds(20);

    @Test
    void anOutageDegradesAndAfterTheRestartChangesMadeMeanwhileArriveAsADiff() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start(); Fixture fixture = new Fixture(etcd)) {
            fixture.put("nodes/doomed", nodeJson("doomed", "10.0.0.7", "10.244.7.0/24"));
            Gate gate = new Gate();
            // A TTL that outlasts the outage: the test is about the watch, not about expiry.
            EtcdClusterState observer = fixture.open(fixture.settings(30), gate);
            observer.join(local("observer", 1));
            EventRecorder events = new EventRecorder();
            observer.start(events).get(10, TimeUnit.SECONDS);
            events.await(0, about("doomed"), EVENT_TIMEOUT, "doomed listed");
            observer.publishPod(new PodInfo("default", "mine", Cidr.parseAddress("10.244.0.5"), "observer", Map.of()));
            events.await(0, about("mine"), EVENT_TIMEOUT, "own pod");
            assertTrue(observer.degradedReason().isEmpty(), observer.degradedReason().toString());

            gate.holdNextListing();
            long stopped = System.nanoTime();
            etcd.stop();
            awaitTrue("degraded after etcd stopped", EVENT_TIMEOUT, () -> observer.degradedReason().isPresent());
            System.out.printf("degraded %.2f s after etcd stopped: %s%n", (System.nanoTime() - stopped) / 1e9,
                    observer.degradedReason().orElseThrow());
            // The pod withdrawn during the outage waits for etcd.
            observer.withdrawPod("default", "mine");
            int mark = events.mark();

            etcd.restart();
            gate.awaitHeld(EVENT_TIMEOUT);
            // Changes while our watch is down, by another client.
            fixture.delete("nodes/doomed");
            fixture.put("pods/other/default/arrived", podJson("other", "default", "arrived", "10.244.9.9"));
            long restarted = System.nanoTime();
            gate.release();

            EventRecorder.Recorded deleted = events.await(mark, e -> e instanceof ClusterEvent.NodeDeleted,
                    EVENT_TIMEOUT, "doomed deleted");
            assertEquals("doomed", ((ClusterEvent.NodeDeleted) deleted.event()).name());
            assertEquals(fixture.key("nodes/doomed"), deleted.event().origin());
            events.await(mark, e -> e instanceof ClusterEvent.PodUpserted p && p.pod().name().equals("arrived"),
                    EVENT_TIMEOUT, "pod arrived");
            events.await(mark, e -> e instanceof ClusterEvent.Synced, EVENT_TIMEOUT, "Synced");
            events.await(mark, e -> e instanceof ClusterEvent.PodDeleted p && p.name().equals("mine"),
                    EVENT_TIMEOUT, "own pod withdrawn once etcd is back");
            awaitTrue("in step again", EVENT_TIMEOUT, () -> observer.degradedReason().isEmpty());
            System.out.printf("caught up %.2f s after the gate opened; events since the restart: %s%n",
                    (System.nanoTime() - restarted) / 1e9, events.since(mark).stream().map(r -> r.event()).toList());
        }
    }

    @Test
    void aNodePartitionedPastItsTTLDisappearsAndComesBackWithItsCIDRAndPods() throws Exception {
        // Closed in reverse: the cluster states before the link they talk through.
        try (EtcdProcess etcd = EtcdProcess.start(); PartitionProxy link = new PartitionProxy(etcd.clientPort());
             Fixture fixture = new Fixture(etcd)) {
            EtcdClusterState observer = fixture.open(2);
            observer.join(local("observer", 1));
            EventRecorder events = new EventRecorder();
            observer.start(events).get(10, TimeUnit.SECONDS);

            Map<String, String> behindTheLink = fixture.settings(2);
            behindTheLink.put("etcdEndpoints", link.endpoint());
            EtcdClusterState cutOff = fixture.open(behindTheLink, StoreWatch.SyncHooks.NONE);
            Cidr podCIDR = cutOff.join(local("cut-off", 2)).podCIDR();
            cutOff.start(new EventRecorder()).get(10, TimeUnit.SECONDS);
            cutOff.publishPod(new PodInfo("default", "db", podCIDR.address(9), "cut-off", Map.of()));
            events.await(0, about("db"), EVENT_TIMEOUT, "pod db");
            long lostLease = cutOff.leaseId();

            int mark = events.mark();
            long partitioned = System.nanoTime();
            link.partition();
            awaitTrue("the cut-off node reports degraded", EVENT_TIMEOUT, () -> cutOff.degradedReason().isPresent());
            System.out.printf("cut-off node degraded %.2f s into the partition: %s%n",
                    (System.nanoTime() - partitioned) / 1e9, cutOff.degradedReason().orElseThrow());
            EventRecorder.Recorded expired = events.await(mark,
                    e -> e instanceof ClusterEvent.NodeDeleted d && d.name().equals("cut-off"), EVENT_TIMEOUT,
                    "cut-off deleted when its lease expired");
            events.await(mark, e -> e instanceof ClusterEvent.PodDeleted, EVENT_TIMEOUT, "its pod deleted");
            System.out.printf("the others saw it deleted %.2f s into the partition (TTL 2 s)%n",
                    (expired.nanoTime() - partitioned) / 1e9);

            long healed = System.nanoTime();
            link.heal();
            EventRecorder.Recorded back = events.await(mark, e -> e instanceof ClusterEvent.NodeUpserted n
                    && n.node().name().equals("cut-off"), EVENT_TIMEOUT, "cut-off registered again");
            assertEquals(podCIDR, ((ClusterEvent.NodeUpserted) back.event()).node().podCIDR());
            events.await(mark, e -> e instanceof ClusterEvent.PodUpserted p && p.pod().name().equals("db"),
                    EVENT_TIMEOUT, "pod db republished");
            System.out.printf("registered again %.2f s after the link healed%n", (System.nanoTime() - healed) / 1e9);
            assertTrue(cutOff.leaseId() != lostLease, "a new lease");
            awaitTrue("in step again", EVENT_TIMEOUT, () -> cutOff.degradedReason().isEmpty());
        }
    }
}
