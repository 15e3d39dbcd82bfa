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

/** etcd stopped and started again on its data: degraded meanwhile, then caught up by a relisting. */
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
}
