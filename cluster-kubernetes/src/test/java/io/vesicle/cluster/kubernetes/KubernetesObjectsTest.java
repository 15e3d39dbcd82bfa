package io.vesicle.cluster.kubernetes;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.NodeInfo;
import io.vesicle.cluster.kubernetes.KubernetesObjects.MalformedObjectException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static io.vesicle.cluster.kubernetes.MockApiServer.node;
import static io.vesicle.cluster.kubernetes.MockApiServer.pod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dual-stack objects and the cases the mock-server tests do not reach. */
class KubernetesObjectsTest {
    @Test
    void aDualStackNodeGivesItsIPv4InternalIPAndPodCIDR() throws Exception {
        Node node = new NodeBuilder(node("n1", null, null))
                .editSpec().withPodCIDRs("fd00:10:244:1::/64", "10.244.1.0/24").endSpec()
                .editStatus().addNewAddress().withType("InternalIP").withAddress("fd00::1").endAddress()
                .addNewAddress().withType("InternalIP").withAddress("192.168.50.1").endAddress().endStatus().build();
        assertEquals(new NodeInfo("n1", Cidr.parseAddress("192.168.50.1"), Cidr.parse("10.244.1.0/24")),
                KubernetesObjects.node(node));
    }

    @Test
    void aNodeWithoutAPodCIDRHasNoneYet() throws Exception {
        assertEquals(null, KubernetesObjects.node(node("n1", "192.168.50.1", null)).podCIDR());
    }

    @Test
    void anIPv6OnlyNodeIsMalformedNamingTheField() {
        Node node = new NodeBuilder(node("n1", null, "10.244.1.0/24"))
                .editStatus().addNewAddress().withType("InternalIP").withAddress("fd00::1").endAddress().endStatus().build();
        MalformedObjectException refused = assertThrows(MalformedObjectException.class, () -> KubernetesObjects.node(node));
        assertTrue(refused.getMessage().contains("InternalIP"), refused.getMessage());
    }

    @Test
    void aDualStackPodGivesItsIPv4Address() throws Exception {
        Pod pod = new PodBuilder(pod("ns", "p", "n1", "fd00:10:244:1::5", false)).editStatus()
                .addNewPodIP("fd00:10:244:1::5").addNewPodIP("10.244.1.5").endStatus().build();
        assertEquals(Cidr.parseAddress("10.244.1.5"), KubernetesObjects.pod(pod).orElseThrow().ip());
    }

    @Test
    void podsWithNothingToRouteToAreAbsentWithoutComplaint() throws Exception {
        for (Pod pod : List.of(pod("ns", "unscheduled", null, "10.244.1.5", false),
                pod("ns", "no-address", "n1", null, false),
                pod("ns", "host-network", "n1", "192.168.50.1", true),
                new PodBuilder(pod("ns", "failed", "n1", "10.244.1.5", false)).editStatus().withPhase("Failed")
                        .endStatus().build())) {
            assertEquals(Optional.empty(), KubernetesObjects.pod(pod), pod.getMetadata().getName());
        }
    }

    @Test
    void anUnparseablePodIPIsMalformedNamingTheField() {
        MalformedObjectException refused = assertThrows(MalformedObjectException.class,
                () -> KubernetesObjects.pod(pod("ns", "p", "n1", "10.244.1", false)));
        assertTrue(refused.getMessage().startsWith("status.podIP: "), refused.getMessage());
    }
}
