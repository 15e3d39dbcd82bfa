package io.vesicle.agent.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.NodeInfo;
import io.vesicle.cluster.PodInfo;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rules a cluster entry must pass before it reaches the datapath. */
class ClusterSyncTest {
    /** Every call the datapath would get, as text. */
    static final class Recorder implements RemoteTarget {
        final List<String> calls = new ArrayList<>();

        @Override
        public void upsertNode(String name, Inet4Address underlayIP, Cidr podCIDR) {
            calls.add("node " + name + " " + underlayIP.getHostAddress() + " " + podCIDR);
        }

        @Override
        public void removeNode(String name) {
            calls.add("-node " + name);
        }

        @Override
        public void upsertPod(Inet4Address ip, Inet4Address nodeUnderlayIP, int identity) {
            calls.add("pod " + ip.getHostAddress() + " via " + nodeUnderlayIP.getHostAddress() + " id " + identity);
        }

        @Override
        public void removePod(Inet4Address ip) {
            calls.add("-pod " + ip.getHostAddress());
        }

        @Override
        public void reconcile(Map<String, RemoteNode> nodes, Map<Inet4Address, Inet4Address> pods, int podIdentity) {
            calls.add("reconcile " + nodes.size() + " nodes " + pods.size() + " pods");
        }
    }

    final Recorder datapath = new Recorder();
    final ClusterSync sync = new ClusterSync("n1", ip("192.168.5.1"), Cidr.parse("10.244.1.0/24"),
            Cidr.parse("10.244.0.0/16"), datapath);

    static Inet4Address ip(String text) {
        return Cidr.parseAddress(text);
    }

    static ClusterEvent node(String name, String ip, String cidr) {
        return new ClusterEvent.NodeUpserted(new NodeInfo(name, ip(ip), cidr == null ? null : Cidr.parse(cidr)),
                "key nodes/" + name);
    }

    static ClusterEvent pod(String name, String ip, String node) {
        return new ClusterEvent.PodUpserted(new PodInfo("default", name, ip(ip), node, Map.of()), "key pods/" + name);
    }

    @Test
    void acceptsAnotherNodeAndItsPods() {
        sync.on(node("n2", "192.168.5.2", "10.244.2.0/24"));
        sync.on(pod("a", "10.244.2.5", "n2"));
        sync.on(new ClusterEvent.Synced("listing"));
        sync.on(new ClusterEvent.PodDeleted("default", "a", "key pods/a"));
        sync.on(new ClusterEvent.NodeDeleted("n2", "key nodes/n2"));
        assertEquals(List.of("node n2 192.168.5.2 10.244.2.0/24", "pod 10.244.2.5 via 192.168.5.2 id 5",
                "reconcile 1 nodes 1 pods", "-pod 10.244.2.5", "-node n2"), datapath.calls);
        assertEquals(0, sync.refused());
    }

    @Test
    void refusesEntriesAboutThisNode() {
        sync.on(node("n1", "192.168.5.9", "10.244.9.0/24"));
        sync.on(node("n3", "192.168.5.1", "10.244.3.0/24"));
        sync.on(node("n4", "192.168.5.4", "10.244.1.128/25"));
        sync.on(node("n5", "192.168.5.5", "10.244.0.0/16"));
        sync.on(pod("mine", "10.244.1.7", "n2"));
        assertEquals(List.of(), datapath.calls, "nothing reaches the datapath");
        assertEquals(5, sync.refused());
    }

    @Test
    void refusesOverlapsWithOtherNodesAndPrefixesOutsideTheCluster() {
        sync.on(node("n2", "192.168.5.2", "10.244.2.0/24"));
        sync.on(node("n3", "192.168.5.3", "10.244.2.0/25"));
        sync.on(node("n4", "192.168.5.2", "10.244.4.0/24"));
        sync.on(node("n5", "192.168.5.5", "10.99.0.0/24"));
        assertEquals(List.of("node n2 192.168.5.2 10.244.2.0/24"), datapath.calls);
        assertEquals(3, sync.refused());
    }

    @Test
    void aValidNodeTurnedInvalidIsRemoved() {
        sync.on(node("n2", "192.168.5.2", "10.244.2.0/24"));
        sync.on(pod("a", "10.244.2.5", "n2"));
        sync.on(node("n2", "192.168.5.2", "10.244.1.0/24"));
        assertEquals(List.of("node n2 192.168.5.2 10.244.2.0/24", "pod 10.244.2.5 via 192.168.5.2 id 5",
                "-pod 10.244.2.5", "-node n2"), datapath.calls);
    }

    @Test
    void aPodWaitsForItsNodeAndFollowsItsAddress() {
        sync.on(pod("a", "10.244.2.5", "n2"));
        sync.on(node("n2", "192.168.5.2", "10.244.2.0/24"));
        sync.on(node("n2", "192.168.5.22", "10.244.2.0/24"));
        assertEquals(List.of("node n2 192.168.5.2 10.244.2.0/24", "pod 10.244.2.5 via 192.168.5.2 id 5",
                "node n2 192.168.5.22 10.244.2.0/24", "pod 10.244.2.5 via 192.168.5.22 id 5"), datapath.calls);
    }

    @Test
    void anAddressTakenOverIsNotRemovedWithItsFormerPod() {
        sync.on(node("n2", "192.168.5.2", "10.244.2.0/24"));
        sync.on(pod("old", "10.244.2.5", "n2"));
        sync.on(pod("new", "10.244.2.5", "n2"));
        sync.on(new ClusterEvent.PodDeleted("default", "old", "key pods/old"));
        assertEquals(List.of("node n2 192.168.5.2 10.244.2.0/24", "pod 10.244.2.5 via 192.168.5.2 id 5",
                "pod 10.244.2.5 via 192.168.5.2 id 5"), datapath.calls);
    }

    @Test
    void aPodOutsideItsNodesPodCidrIsRefused() {
        sync.on(node("n2", "192.168.5.2", "10.244.2.0/24"));
        sync.on(node("n3", "192.168.5.3", "10.244.3.0/24"));
        sync.on(pod("hijack", "10.244.3.9", "n2"));
        sync.on(pod("outside", "10.99.0.1", "n2"));
        sync.on(pod("early", "10.244.5.5", "n4"));
        sync.on(node("n4", "192.168.5.4", "10.244.4.0/24"));
        assertEquals(List.of("node n2 192.168.5.2 10.244.2.0/24", "node n3 192.168.5.3 10.244.3.0/24",
                "node n4 192.168.5.4 10.244.4.0/24"), datapath.calls);
        assertEquals(3, sync.refused());
    }

    @Test
    void ownPodsAndOwnRegistrationAreIgnored() {
        sync.on(pod("own", "10.244.1.5", "n1"));
        sync.on(node("n1", "192.168.5.1", "10.244.1.0/24"));
        assertEquals(List.of(), datapath.calls);
        assertEquals(0, sync.refused());
    }
}
