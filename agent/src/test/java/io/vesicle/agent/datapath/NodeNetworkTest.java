package io.vesicle.agent.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.cluster.Cidr;
import java.util.List;
import org.junit.jupiter.api.Test;

class NodeNetworkTest {
    private static final Uplink UPLINK = new Uplink("eth0", 2, 1500, Cidr.parseAddress("10.0.0.1"));

    private static NodeNetwork network(RoutingMode mode, String podCIDR, String nodeIP, String... clusterCIDRs) {
        return new NodeNetwork(mode, UPLINK, Cidr.parseAddress(nodeIP), Cidr.parse(podCIDR),
                List.of(clusterCIDRs).stream().map(Cidr::parse).toList(), true);
    }

    @Test
    void podMtuFollowsTheMode() {
        assertEquals(1450, network(RoutingMode.OVERLAY, "10.244.1.0/24", "10.0.0.1", "10.244.0.0/16").podMtu());
        assertEquals(1500, network(RoutingMode.NATIVE, "10.244.1.0/24", "10.0.0.1", "10.244.0.0/16").podMtu());
    }

    @Test
    void inconsistentPrefixesAreRefusedNamingTheField() {
        List<Runnable> bad = List.of(
                () -> network(RoutingMode.OVERLAY, "10.245.1.0/24", "10.0.0.1", "10.244.0.0/16"),
                () -> network(RoutingMode.OVERLAY, "10.244.1.0/24", "10.244.9.1", "10.244.0.0/16"),
                () -> network(RoutingMode.OVERLAY, "10.244.1.0/24", "10.0.0.1"),
                () -> network(RoutingMode.OVERLAY, "10.244.1.0/24", "10.0.0.1", "10.244.0.0/16", "10.244.128.0/17"),
                () -> new Uplink("eth0", 2, 600, Cidr.parseAddress("10.0.0.1")));
        List<String> fields = List.of("podCIDR", "nodeIP", "clusterCIDR", "clusterCIDR", "MTU");
        for (int i = 0; i < bad.size(); i++) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad.get(i)::run);
            assertTrue(e.getMessage().contains(fields.get(i)), e.getMessage());
        }
    }
}
