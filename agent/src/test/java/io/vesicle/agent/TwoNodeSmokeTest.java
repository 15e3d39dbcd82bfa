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
import io.vesicle.agent.datapath.RemoteState.RemoteNode;
import io.vesicle.agent.datapath.RemoteState.RemotePod;
import io.vesicle.agent.datapath.Uplink;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Inet4Address;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
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

    /** A node namespace with its datapath and its one pod, at .5 of its pod CIDR. */
    static final class Node {
        final String name;
        final String netns;
        final Inet4Address ip;
        final Cidr podCIDR;
        final DatapathConfig config;
        Datapath datapath;
        EndpointWiring pod;

        Node(String name, String netns, int index, RoutingMode mode) {
            this.name = name;
            this.netns = netns;
            this.ip = Cidr.parseAddress("10.99.0." + index);
            this.podCIDR = Cidr.parse("10.244." + index + ".0/24");
            run("ip", "-n", netns, "addr", "add", ip.getHostAddress() + "/24", "dev", "up0");
            run("ip", "-n", netns, "link", "set", "up0", "up");
            Uplink uplink = Datapath.findUplink(TestNamespaces.path(netns), "up0");
            NodeNetwork network = new NodeNetwork(mode, uplink, ip, podCIDR, List.of(CLUSTER), true);
            this.config = new DatapathConfig(null, podCIDR.address(1), network);
        }

        Inet4Address podIP() {
            return pod.address();
        }

        String podNetns() {
            return netns + "p";
        }
    }

    /** n1 and n2 joined by a veth underlay, each with a pod and the other in its remote state. */
    Node[] twoNodes(RoutingMode mode) {
        String n1Netns = ns.namespace("n1");
        String n2Netns = ns.namespace("n2");
        run("ip", "-n", n1Netns, "link", "add", "up0", "type", "veth", "peer", "name", "up0", "netns", n2Netns);
        Node[] nodes = {new Node("n1", n1Netns, 1, mode), new Node("n2", n2Netns, 2, mode)};
        int podMtu = nodes[0].config.node().podMtu();
        for (Node node : nodes) {
            ns.namespace(node.name + "p");
            node.pod = new EndpointWiring(1, "lxc" + node.name, TestNamespaces.path(node.podNetns()), "eth0",
                    node.podCIDR.address(5), node.podCIDR.address(1), podMtu, null, 5);
            open(node, ns.pinRoot());
        }
        return nodes;
    }

    /** Opens (or reopens, as an agent's restart does) the node's datapath and (re)wires its pod. */
    void open(Node node, java.nio.file.Path pinRoot) {
        DatapathConfig config = new DatapathConfig(pinRoot, node.config.gateway(), node.config.node());
        Datapath previous = node.datapath;
        node.datapath = Datapath.open(TestNamespaces.path(node.netns), config);
        datapaths.add(node.datapath);
        for (Realizer realizer : node.datapath.realizers()) {
            node.pod = realizer.apply(node.pod);
        }
        if (previous != null) {
            previous.close();
            datapaths.remove(previous);
        }
    }

    void introduce(Node[] nodes) {
        for (Node[] pair : new Node[][] {{nodes[0], nodes[1]}, {nodes[1], nodes[0]}}) {
            pair[0].datapath.remote().reconcile(List.of(new RemoteNode(pair[1].name, pair[1].ip, pair[1].podCIDR)),
                    List.of(new RemotePod(pair[1].podIP(), pair[1].ip, 5)));
        }
    }

    @ParameterizedTest
    @EnumSource(RoutingMode.class)
    void podsAndNodesReachRemotePods(RoutingMode mode) {
        Node[] nodes = twoNodes(mode);
        Node n1 = nodes[0];
        Node n2 = nodes[1];
        assertFalse(ping(n1.podNetns(), n2.podIP().getHostAddress()), mode + ": no remote state, no way there");

        introduce(nodes);

        assertTrue(ping(n1.podNetns(), n2.podIP().getHostAddress()), mode + ": pod to remote pod");
        assertTrue(ping(n1.netns, n2.podIP().getHostAddress()), mode + ": node to remote pod through vsl_host");
        assertTrue(ping(n1.podNetns(), n2.ip.getHostAddress()), mode + ": pod to the remote node's address");
        String nft = run(TestNamespaces.in(n1.netns, "nft", "list", "table", "ip", "vesicle").toArray(String[]::new));
        assertTrue(nft.contains("counter packets 0 "), mode + ": traffic within the cluster is never masqueraded: "
                + nft);
        if (mode == RoutingMode.OVERLAY) {
            String vxlan = run("ip", "-n", n1.netns, "-s", "-j", "link", "show", "vsl_vxlan");
            assertTrue(vxlan.matches("(?s).*\"tx\":\\{\"bytes\":[1-9].*"), "traffic went through vsl_vxlan: " + vxlan);
        }
    }

    @ParameterizedTest
    @EnumSource(RoutingMode.class)
    void restartingBothNodesLosesNoPacket(RoutingMode mode) throws Exception {
        Node[] nodes = twoNodes(mode);
        introduce(nodes);
        java.nio.file.Path[] pinRoots = {ns.pinRoot(), ns.pinRoot()};
        // Pinned maps from here on, as an agent has them.
        for (int i = 0; i < nodes.length; i++) {
            open(nodes[i], pinRoots[i]);
        }
        introduce(nodes);
        Process ping = new ProcessBuilder(TestNamespaces.in(nodes[0].podNetns(), "ping", "-c", "1000", "-i", "0.01",
                "-W", "1", nodes[1].podIP().getHostAddress())).redirectErrorStream(true).start();
        try (BufferedReader output = new BufferedReader(new InputStreamReader(ping.getInputStream(),
                StandardCharsets.UTF_8))) {
            StringBuilder seen = new StringBuilder();
            String line;
            while ((line = output.readLine()) != null && !line.contains("bytes from")) {
                seen.append(line).append('\n');
            }
            assertTrue(line != null, "no first reply: " + seen);
            for (int i = 0; i < nodes.length; i++) {
                open(nodes[i], pinRoots[i]);
                introduce(nodes);
            }
            assertTrue(ping.isAlive(), "the restarts must happen while the ping runs");
            String rest = new String(ping.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(ping.waitFor(60, TimeUnit.SECONDS));
            assertTrue(rest.contains(" 0% packet loss"), mode + ": packets lost while both nodes restarted: " + rest);
        } finally {
            ping.destroyForcibly();
        }
    }
}
