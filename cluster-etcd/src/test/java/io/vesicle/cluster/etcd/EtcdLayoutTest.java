package io.vesicle.cluster.etcd;

import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.NodeInfo;
import io.vesicle.cluster.PodInfo;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class EtcdLayoutTest {
    private final EtcdLayout layout = new EtcdLayout("/vesicle");

    @Test
    void nodesAndPodsSurviveTheRoundTrip() throws Exception {
        NodeInfo node = new NodeInfo("node-a", Cidr.parseAddress("192.168.1.10"), Cidr.parse("10.244.3.0/24"));
        assertEquals(new EtcdLayout.NodeEntry(node), layout.parse("/vesicle/nodes/node-a", layout.encode(node)));
        PodInfo pod = new PodInfo("prod", "web-1", Cidr.parseAddress("10.244.3.7"), "node-a", Map.of("app", "web"));
        assertEquals("/vesicle/pods/node-a/prod/web-1", layout.podKey("node-a", "prod", "web-1"));
        assertEquals(new EtcdLayout.PodEntry(pod), layout.parse("/vesicle/pods/node-a/prod/web-1", layout.encode(pod)));
    }

    @Test
    void cidrKeysNameTheirCidr() {
        Cidr cidr = Cidr.parse("10.244.17.0/24");
        assertEquals("/vesicle/cidrs/10.244.17.0-24", layout.cidrKey(cidr));
        assertEquals(cidr, layout.cidrOfKey(layout.cidrKey(cidr)));
        assertNull(layout.cidrOfKey("/vesicle/cidrs/garbage"));
    }

    @Test
    void keysOutsideNodesAndPodsAreNotEntries() throws Exception {
        assertNull(layout.parse("/vesicle/config/clusterCIDR", "10.244.0.0/16".getBytes(StandardCharsets.UTF_8)));
        assertNull(layout.parse("/vesicle/cidrs/10.244.0.0-24", "node-a".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void aNodeWithoutPodCIDROrAPodWithoutIPIsMalformed() {
        assertThrows(EtcdLayout.MalformedEntryException.class, () -> layout.parse("/vesicle/nodes/a",
                "{\"name\":\"a\",\"underlayIP\":\"10.0.0.1\"}".getBytes(StandardCharsets.UTF_8)));
        assertThrows(EtcdLayout.MalformedEntryException.class, () -> layout.parse("/vesicle/pods/a/ns/p",
                "{\"namespace\":\"ns\",\"name\":\"p\",\"nodeName\":\"a\"}".getBytes(StandardCharsets.UTF_8)));
        assertThrows(EtcdLayout.MalformedEntryException.class, () -> layout.parse("/vesicle/nodes/a/b",
                "{\"name\":\"a/b\",\"underlayIP\":\"10.0.0.1\",\"podCIDR\":\"10.244.0.0/24\"}".getBytes(StandardCharsets.UTF_8)));
    }
}
