package io.vesicle.agent;

import static io.vesicle.agent.TestNamespaces.ping;
import static io.vesicle.agent.TestNamespaces.run;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.agent.datapath.EndpointWiring;
import io.vesicle.agent.datapath.NodeNetwork;
import io.vesicle.agent.datapath.Realizer;
import io.vesicle.agent.datapath.RoutingMode;
import io.vesicle.cluster.Cidr;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Two node namespaces joined by a veth underlay, one pod each, the node state and remote state
 * applied by hand (no agent, no cluster source): pod to remote pod, node to remote pod (through
 * vsl_host) and pod to the remote node's address, in both modes. A smoke test of the plumbing;
 * the cluster-wide tests live with the topology harness.
 */
@Timeout(120)
class TwoNodeSmokeTest {
    private static final Cidr CLUSTER = Cidr.parse("10.244.0.0/16");

    TestNamespaces ns = new TestNamespaces();
    List<Datapath> datapaths = new ArrayList<>();

    @AfterEach
    void tearDown() {
        datapaths.forEach(Datapath::close);
        ns.close();
    }

    record Node(String name, String netns, Inet4Address ip, Cidr podCIDR, Datapath datapath) {
    }

    /** Node index: underlay address 10.99.0.index, pods 10.244.index.0/24, uplink up0. */
    Node start(String name, String netns, int index, RoutingMode mode) {
        Inet4Address ip = Cidr.parseAddress("10.99.0." + index);
        Cidr podCIDR = Cidr.parse("10.244." + index + ".0/24");
        run("ip", "-n", netns, "addr", "add", ip.getHostAddress() + "/24", "dev", "up0");
        run("ip", "-n", netns, "link", "set", "up0", "up");
        var uplink = Datapath.findUplink(TestNamespaces.path(netns), "up0");
        NodeNetwork network = new NodeNetwork(mode, uplink, ip, podCIDR, List.of(CLUSTER), true);
        Datapath datapath = Datapath.open(TestNamespaces.path(netns),
                new DatapathConfig(ns.pinRoot(), podCIDR.address(1), network));
        datapaths.add(datapath);
        return new Node(name, netns, ip, podCIDR, datapath);
    }

    /** A pod at .5 of the node's CIDR, wired through the datapath's realizers. */
    Inet4Address pod(Node node, int podMtu) {
        String podNetns = ns.namespace(node.name() + "p");
        Inet4Address ip = node.podCIDR().address(5);
        EndpointWiring wiring = new EndpointWiring(1, "lxc" + node.name(), TestNamespaces.path(podNetns), "eth0", ip,
                node.podCIDR().address(1), podMtu, null, 5);
        for (Realizer realizer : node.datapath().realizers()) {
            wiring = realizer.apply(wiring);
        }
        return ip;
    }

    @ParameterizedTest
    @EnumSource(RoutingMode.class)
    void podsAndNodesReachRemotePods(RoutingMode mode) {
        String n1Netns = ns.namespace("n1");
        String n2Netns = ns.namespace("n2");
        run("ip", "-n", n1Netns, "link", "add", "up0", "type", "veth", "peer", "name", "up0", "netns", n2Netns);
        Node n1 = start("n1", n1Netns, 1, mode);
        Node n2 = start("n2", n2Netns, 2, mode);
        int podMtu = mode == RoutingMode.OVERLAY ? 1450 : 1500;
        Inet4Address pod1 = pod(n1, podMtu);
        Inet4Address pod2 = pod(n2, podMtu);
        String pod1Netns = ns.prefix + "-n1p";
        assertFalse(ping(pod1Netns, pod2.getHostAddress()), mode + ": no remote state, no way to the remote pod");

        for (Node[] pair : new Node[][] {{n1, n2}, {n2, n1}}) {
            pair[0].datapath().remote().upsertNode(pair[1].name(), pair[1].ip(), pair[1].podCIDR());
        }
        n1.datapath().remote().upsertPod(pod2, n2.ip(), 5);
        n2.datapath().remote().upsertPod(pod1, n1.ip(), 5);

        assertTrue(ping(pod1Netns, pod2.getHostAddress()), mode + ": pod to remote pod");
        assertTrue(ping(n1.netns(), pod2.getHostAddress()), mode + ": node to remote pod through vsl_host");
        assertTrue(ping(pod1Netns, n2.ip().getHostAddress()), mode + ": pod to the remote node's address");
        if (mode == RoutingMode.OVERLAY) {
            String vxlan = run("ip", "-n", n1.netns(), "-s", "-j", "link", "show", "vsl_vxlan");
            assertTrue(vxlan.matches("(?s).*\"tx\":\\{\"bytes\":[1-9].*"), "traffic went through vsl_vxlan: " + vxlan);
        }
    }
}
