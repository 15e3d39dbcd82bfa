package io.vesicle.agent;

import static io.vesicle.agent.TestNamespaces.in;
import static io.vesicle.agent.TestNamespaces.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vesicle.agent.core.AgentException;
import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.agent.datapath.EndpointWiring;
import io.vesicle.agent.datapath.Realizer;
import io.vesicle.agent.datapath.NodeNetwork;
import io.vesicle.agent.datapath.RemoteState;
import io.vesicle.agent.datapath.RemoteState.IpcacheRow;
import io.vesicle.agent.datapath.RemoteState.RemoteNode;
import io.vesicle.agent.datapath.RemoteState.RemotePod;
import io.vesicle.agent.datapath.RoutingMode;
import io.vesicle.agent.datapath.Uplink;
import io.vesicle.cluster.Cidr;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The node's own datapath state (devices, programs, routes to the cluster, masquerading) and the
 * remote state (ipcache, native routes), in a node namespace of the test's own whose uplink is a
 * veth to an underlay namespace. Witnesses: ip, tc, nft and bpftool run inside the node namespace.
 */
@Timeout(120)
class NodeDatapathTest {
    private static final Inet4Address NODE_IP = Cidr.parseAddress("10.99.0.1");
    private static final Inet4Address NODE2_IP = Cidr.parseAddress("10.99.0.2");
    private static final Inet4Address NODE3_IP = Cidr.parseAddress("10.99.0.3");
    private static final Cidr POD_CIDR = Cidr.parse("10.244.1.0/24");
    private static final Cidr CLUSTER_CIDR = Cidr.parse("10.244.0.0/16");
    private static final ObjectMapper JSON = new ObjectMapper();

    TestNamespaces ns;
    String node;
    Path nodePath;
    Path pinRoot;
    Datapath datapath;

    @BeforeEach
    void setUp() {
        ns = new TestNamespaces();
        node = ns.namespace("node");
        String underlay = ns.namespace("under");
        nodePath = TestNamespaces.path(node);
        pinRoot = ns.pinRoot();
        run("ip", "-n", node, "link", "add", "up0", "type", "veth", "peer", "name", "up1", "netns", underlay);
        run("ip", "-n", node, "addr", "add", "10.99.0.1/24", "dev", "up0");
        run("ip", "-n", node, "link", "set", "up0", "up");
        run("ip", "-n", node, "route", "add", "default", "via", "10.99.0.254");
        run("ip", "-n", underlay, "addr", "add", "10.99.0.2/24", "dev", "up1");
        run("ip", "-n", underlay, "link", "set", "up1", "up");
    }

    @AfterEach
    void tearDown() {
        if (datapath != null) {
            datapath.close();
        }
        ns.close();
    }

    Datapath open(RoutingMode mode, boolean masquerade) {
        Uplink uplink = Datapath.findUplink(nodePath, null);
        NodeNetwork network = new NodeNetwork(mode, uplink, NODE_IP, POD_CIDR, List.of(CLUSTER_CIDR), masquerade);
        if (datapath != null) {
            datapath.close();
        }
        datapath = Datapath.open(nodePath, new DatapathConfig(pinRoot, null, network));
        return datapath;
    }

    String inNode(String... command) {
        return run(in(node, command).toArray(String[]::new));
    }

    @Test
    void findsTheUplinkByTheDefaultRouteOrByName() {
        Uplink found = Datapath.findUplink(nodePath, null);
        assertEquals("up0", found.name());
        assertEquals(1500, found.mtu());
        assertEquals(NODE_IP, found.address());
        assertEquals(found, Datapath.findUplink(nodePath, "up0"));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> Datapath.findUplink(nodePath, "nope0"));
        assertTrue(missing.getMessage().contains("nope0"), missing.getMessage());
        run("ip", "-n", node, "link", "add", "bare0", "type", "veth", "peer", "name", "bare1");
        IllegalArgumentException noAddress = assertThrows(IllegalArgumentException.class,
                () -> Datapath.findUplink(nodePath, "bare0"));
        assertTrue(noAddress.getMessage().contains("bare0 has no IPv4 address"), noAddress.getMessage());
        run("ip", "-n", node, "route", "del", "default");
        IllegalArgumentException noDefault = assertThrows(IllegalArgumentException.class,
                () -> Datapath.findUplink(nodePath, null));
        assertTrue(noDefault.getMessage().contains("default route"), noDefault.getMessage());
    }

    @Test
    void overlayNodeHasItsDevicesProgramsRoutesAndMasquerading() {
        open(RoutingMode.OVERLAY, true);

        String vxlan = inNode("ip", "-d", "link", "show", "vsl_vxlan");
        assertTrue(vxlan.contains("vxlan external"), vxlan);
        assertTrue(vxlan.contains("dstport 8472"), vxlan);
        assertTrue(vxlan.contains("nolearning"), vxlan);
        assertTrue(vxlan.contains("mtu 1450") && vxlan.contains(",UP"), vxlan);
        for (String device : List.of("vsl_host", "vsl_net")) {
            String host = inNode("ip", "-d", "link", "show", device);
            assertTrue(host.contains("veth") && host.contains("NOARP") && host.contains(",UP")
                    && host.contains("mtu 1450"), host);
        }
        assertTrue(inNode("tc", "filter", "show", "dev", "vsl_vxlan", "ingress").contains("from_overlay"));
        assertTrue(inNode("tc", "filter", "show", "dev", "vsl_host", "egress").contains("from_host"));
        assertEquals("", inNode("tc", "filter", "show", "dev", "up0", "ingress").strip(),
                "overlay mode leaves the uplink alone");
        String route = inNode("ip", "route", "show", "10.244.0.0/16");
        assertTrue(route.contains("dev vsl_host proto 245 scope link src 10.99.0.1"), route);
        String nft = inNode("nft", "list", "ruleset");
        assertTrue(nft.matches("(?s).*ip saddr 10.244.1.0/24 ip daddr != @no_masquerade oifname \"up0\" counter packets 0"
                + " bytes 0 masquerade.*"), nft);
        assertTrue(nft.contains("10.99.0.1") && nft.contains("10.244.0.0/16"), nft);
        assertEquals("1", inNode("cat", "/proc/sys/net/ipv4/ip_forward").strip());
        assertEquals("0", inNode("cat", "/proc/sys/net/ipv4/conf/vsl_vxlan/rp_filter").strip());
        assertEquals("2", inNode("cat", "/proc/sys/net/ipv4/conf/vsl_host/rp_filter").strip());
        assertEquals(List.of(), datapath.verifyNode());
        assertTrue(datapath.unavailableReason().isEmpty(), datapath.unavailableReason().toString());
        assertEquals(java.util.Optional.of(RoutingMode.OVERLAY), datapath.routingMode());
    }

    @Test
    void podsReachTheOutsideOnlyMasqueraded() {
        open(RoutingMode.OVERLAY, true);
        String pod = ns.namespace("pod");
        EndpointWiring wiring = new EndpointWiring(1, "lxcpod", TestNamespaces.path(pod), "eth0",
                POD_CIDR.address(5), POD_CIDR.address(1), 1450, null, 5);
        for (Realizer realizer : datapath.realizers()) {
            wiring = realizer.apply(wiring);
        }

        // The underlay host has no route to the pods: only the node's address gets a reply.
        assertTrue(TestNamespaces.ping(pod, "10.99.0.2"), "pod to the outside, masqueraded");
        assertTrue(inNode("nft", "list", "table", "ip", "vesicle").matches("(?s).*counter packets [1-9].*"));

        open(RoutingMode.OVERLAY, false);
        assertFalse(TestNamespaces.ping(pod, "10.99.0.2"), "without masquerading the reply has no way back");
        assertFalse(inNode("nft", "list", "tables").contains("vesicle"));
    }

    @Test
    void reopeningKeepsTheDevicesAndReplacesProgramsInPlaceWithoutDuplicates() {
        open(RoutingMode.OVERLAY, true);
        String linksBefore = inNode("ip", "-o", "link", "show");
        String vxlanIndex = linksBefore.lines().filter(l -> l.contains("vsl_vxlan")).findFirst().orElseThrow()
                .split(":")[0];

        open(RoutingMode.OVERLAY, true);

        String linksAfter = inNode("ip", "-o", "link", "show");
        assertEquals(vxlanIndex, linksAfter.lines().filter(l -> l.contains("vsl_vxlan")).findFirst().orElseThrow()
                .split(":")[0], "vsl_vxlan must be kept, not recreated");
        assertEquals(linksBefore.lines().count(), linksAfter.lines().count(), linksAfter);
        assertEquals(1L, count(inNode("tc", "filter", "show", "dev", "vsl_vxlan", "ingress"), "from_overlay"));
        assertEquals(1L, count(inNode("tc", "filter", "show", "dev", "vsl_host", "egress"), "from_host"));
        String routes = inNode("ip", "route", "show");
        assertEquals(1L, count(routes, "vsl_host"), routes);
        assertEquals(1L, count(inNode("nft", "list", "ruleset"), "oifname"));
        assertEquals(1L, count(inNode("nft", "list", "tables"), "vesicle"));
        assertEquals(List.of(), datapath.verifyNode());
    }

    @Test
    void devicesOfTheRightNameButWrongKindOrSettingsAreReplaced() {
        run("ip", "-n", node, "link", "add", "vsl_vxlan", "type", "vxlan", "id", "42", "dstport", "4789", "dev", "up0");
        run("ip", "-n", node, "link", "add", "vsl_host", "type", "vxlan", "id", "43", "dstport", "4790", "dev", "up0");

        open(RoutingMode.OVERLAY, true);

        String vxlan = inNode("ip", "-d", "link", "show", "vsl_vxlan");
        assertTrue(vxlan.contains("vxlan external") && vxlan.contains("dstport 8472"), vxlan);
        assertTrue(inNode("ip", "-d", "link", "show", "vsl_host").contains("veth"));
        assertEquals(List.of(), datapath.verifyNode());
    }

    @Test
    void verifyNamesWhatDriftedAndReopeningRepairsIt() {
        open(RoutingMode.OVERLAY, true);
        run("ip", "-n", node, "route", "del", "10.244.0.0/16");
        run("ip", "-n", node, "link", "set", "vsl_vxlan", "mtu", "1400");
        run(in(node, "tc", "filter", "del", "dev", "vsl_host", "egress").toArray(String[]::new));
        run(in(node, "nft", "delete", "table", "ip", "vesicle").toArray(String[]::new));
        run("ip", "-n", node, "route", "add", "10.244.77.0/24", "dev", "vsl_host", "proto", "245");

        List<String> drift = datapath.verifyNode();
        assertEquals(5, drift.size(), drift.toString());
        for (String expected : List.of("vsl_vxlan has MTU 1400, not 1450", "no program where from_host on tc egress"
                + " of vsl_host belongs", "10.244.0.0/16 dev", "10.244.77.0/24 dev", "table ip vesicle is missing")) {
            assertTrue(drift.stream().anyMatch(d -> d.contains(expected)), expected + " not in " + drift);
        }

        open(RoutingMode.OVERLAY, true);
        assertEquals(List.of(), datapath.verifyNode());
        assertEquals("", inNode("ip", "route", "show", "10.244.77.0/24").strip());
    }

    @Test
    void unavailableNamesAMissingNodeDeviceOrIpcachePin() throws IOException {
        open(RoutingMode.OVERLAY, true);
        run("ip", "-n", node, "link", "del", "vsl_vxlan");
        assertEquals(java.util.Optional.of("the node device vsl_vxlan is missing"), datapath.unavailableReason());
        open(RoutingMode.OVERLAY, true);
        assertTrue(datapath.unavailableReason().isEmpty());

        java.nio.file.Files.delete(pinRoot.resolve("vsl_ipcache"));
        assertEquals(java.util.Optional.of("the datapath map pin " + pinRoot.resolve("vsl_ipcache") + " is missing"),
                datapath.unavailableReason());
    }

    @Test
    void overlayRemoteStateIsTheIpcacheAndTheExemptNodes() {
        RemoteState remote = open(RoutingMode.OVERLAY, true).remote();
        remote.upsertNode("n2", NODE2_IP, Cidr.parse("10.244.2.0/24"));
        remote.upsertPod(Cidr.parseAddress("10.244.2.7"), NODE2_IP, 5);

        assertEquals(List.of(
                new IpcacheRow(Cidr.parse("10.99.0.2/32"), 6, null, 0),
                new IpcacheRow(Cidr.parse("10.244.2.0/24"), 0, NODE2_IP, 1),
                new IpcacheRow(Cidr.parse("10.244.2.7/32"), 5, NODE2_IP, 0)), remote.ipcache());
        assertEquals(Set.of("10.99.0.2/32 identity 6 tunnel 0.0.0.0 flags 0",
                "10.244.2.0/24 identity 0 tunnel 10.99.0.2 flags 1",
                "10.244.2.7/32 identity 5 tunnel 10.99.0.2 flags 0"), bpftoolIpcache());
        assertTrue(inNode("nft", "list", "ruleset").contains("10.99.0.2"));
        assertEquals("", inNode("ip", "route", "show", "10.244.2.0/24").strip(), "no node route in overlay mode");

        // The node changes address and CIDR: its old entries go, the pod behind it follows it.
        remote.upsertNode("n2", NODE3_IP, Cidr.parse("10.244.3.0/24"));
        assertEquals(Set.of("10.99.0.3/32 identity 6 tunnel 0.0.0.0 flags 0",
                "10.244.3.0/24 identity 0 tunnel 10.99.0.3 flags 1",
                "10.244.2.7/32 identity 5 tunnel 10.99.0.3 flags 0"), bpftoolIpcache());
        remote.removePod(Cidr.parseAddress("10.244.2.7"));
        remote.upsertPod(Cidr.parseAddress("10.244.3.9"), NODE3_IP, 5);
        remote.removeNode("n2");
        assertEquals(Set.of(), bpftoolIpcache(), "a removed node takes the pods behind it");
        assertFalse(inNode("nft", "list", "ruleset").contains("10.99.0.3"));
        remote.removeNode("n2");
        remote.removePod(Cidr.parseAddress("10.244.3.9"));
    }

    @Test
    void reconcileAfterARestartRemovesWhatIsNoLongerThere() {
        RemoteState remote = open(RoutingMode.OVERLAY, true).remote();
        remote.upsertNode("n2", NODE2_IP, Cidr.parse("10.244.2.0/24"));
        remote.upsertPod(Cidr.parseAddress("10.244.2.7"), NODE2_IP, 5);

        remote = open(RoutingMode.OVERLAY, true).remote();
        assertTrue(inNode("nft", "list", "ruleset").contains("10.99.0.2"),
                "a restart keeps exempting the nodes the pinned ipcache holds");
        assertEquals(3, bpftoolIpcache().size());
        remote.reconcile(List.of(new RemoteNode("n3", NODE3_IP, Cidr.parse("10.244.3.0/24"))),
                List.of(new RemotePod(Cidr.parseAddress("10.244.3.4"), NODE3_IP, 5)));

        assertEquals(Set.of("10.99.0.3/32 identity 6 tunnel 0.0.0.0 flags 0",
                "10.244.3.0/24 identity 0 tunnel 10.99.0.3 flags 1",
                "10.244.3.4/32 identity 5 tunnel 10.99.0.3 flags 0"), bpftoolIpcache());
        String nft = inNode("nft", "list", "ruleset");
        assertTrue(nft.contains("10.99.0.3") && !nft.contains("10.99.0.2"), nft);
        remote.removeNode("n3");
        assertEquals(Set.of(), bpftoolIpcache());
    }

    @Test
    void nativeModeRoutesEachRemotePodCidrThroughTheUplink() {
        open(RoutingMode.OVERLAY, true);
        run("ip", "-n", node, "route", "add", "10.244.9.0/24", "via", "10.99.0.9", "dev", "up0", "proto", "245");
        RemoteState remote = open(RoutingMode.NATIVE, false).remote();

        assertTrue(inNode("ip", "link", "show").lines().noneMatch(l -> l.contains("vsl_vxlan")),
                "native mode deletes the VXLAN device");
        assertTrue(inNode("tc", "filter", "show", "dev", "up0", "ingress").contains("from_netdev"));
        assertTrue(inNode("tc", "filter", "show", "dev", "vsl_host", "egress").contains("from_host"));
        assertFalse(inNode("nft", "list", "ruleset").contains("vesicle"), "masquerading is off");
        assertEquals(List.of(), datapath.verifyNode());
        String host = inNode("ip", "link", "show", "vsl_host");
        assertTrue(host.contains("mtu 1500"), host);

        remote.upsertNode("n2", NODE2_IP, Cidr.parse("10.244.2.0/24"));
        assertTrue(inNode("ip", "route", "show", "10.244.2.0/24").contains("via 10.99.0.2 dev up0 proto 245"));
        remote.reconcile(List.of(new RemoteNode("n3", NODE3_IP, Cidr.parse("10.244.3.0/24"))), List.of());
        String routes = inNode("ip", "route", "show", "proto", "245");
        assertTrue(routes.contains("10.244.3.0/24 via 10.99.0.3 dev up0"), routes);
        assertFalse(routes.contains("10.244.2.0/24") || routes.contains("10.244.9.0/24"), routes);
        remote.removeNode("n3");
        assertEquals("", inNode("ip", "route", "show", "10.244.3.0/24").strip());
    }

    @Test
    void aRouteThatIsNotOursIsNeverReplaced() {
        RemoteState remote = open(RoutingMode.NATIVE, true).remote();
        run("ip", "-n", node, "route", "add", "10.244.8.0/24", "via", "10.99.0.254", "dev", "up0");

        AgentException conflict = assertThrows(AgentException.class,
                () -> remote.upsertNode("n8", Cidr.parseAddress("10.99.0.8"), Cidr.parse("10.244.8.0/24")));
        assertTrue(conflict.getMessage().contains("10.244.8.0/24"), conflict.getMessage());
        assertTrue(inNode("ip", "route", "show", "10.244.8.0/24").contains("via 10.99.0.254"));
        assertEquals(Set.of(), bpftoolIpcache(), "a refused node leaves no entry");
    }

    @Test
    void badRemoteInputIsRefusedNamingTheFieldAndChangesNothing() {
        RemoteState remote = open(RoutingMode.OVERLAY, true).remote();
        remote.upsertNode("n2", NODE2_IP, Cidr.parse("10.244.2.0/24"));
        Set<String> before = bpftoolIpcache();

        List<Runnable> bad = List.of(
                () -> remote.upsertNode("n3", NODE3_IP, Cidr.parse("10.244.1.128/25")),
                () -> remote.upsertNode("n3", NODE_IP, Cidr.parse("10.244.3.0/24")),
                () -> remote.upsertNode("n3", NODE3_IP, Cidr.parse("10.245.3.0/24")),
                () -> remote.upsertNode("n3", NODE2_IP, Cidr.parse("10.244.3.0/24")),
                () -> remote.upsertNode("n3", NODE3_IP, Cidr.parse("10.244.2.0/25")),
                () -> remote.upsertPod(Cidr.parseAddress("10.244.1.5"), NODE2_IP, 5),
                () -> remote.reconcile(List.of(new RemoteNode("n3", NODE3_IP, Cidr.parse("10.244.1.0/24"))),
                        List.of()));
        List<String> fields = List.of("podCIDR", "underlayIP", "clusterCIDR", "underlayIP", "podCIDR", "ip",
                "podCIDR");
        for (int i = 0; i < bad.size(); i++) {
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, bad.get(i)::run);
            assertTrue(refused.getMessage().contains(fields.get(i)), refused.getMessage());
        }
        assertEquals(before, bpftoolIpcache());
    }

    /** The ipcache as bpftool reads the pin, one "prefix identity I tunnel T flags F" line per entry. */
    Set<String> bpftoolIpcache() {
        JsonNode dump;
        try {
            dump = JSON.readTree(inNode("bpftool", "-j", "map", "dump", "pinned", pinRoot.resolve("vsl_ipcache")
                    .toString()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Set<String> rows = new TreeSet<>();
        for (JsonNode element : dump) {
            JsonNode key = element.get("formatted").get("key");
            JsonNode value = element.get("formatted").get("value");
            rows.add(address(key.get("addr").get("ip4").asLong()) + "/" + (key.get("prefixlen").asInt() - 32)
                    + " identity " + value.get("identity").asInt() + " tunnel "
                    + address(value.get("tunnel_endpoint").asLong()) + " flags " + value.get("flags").asInt());
        }
        return rows;
    }

    /** A __be32 as bpftool prints it: the bytes read as a little-endian number. */
    private static String address(long be32) {
        byte[] bytes = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) be32).array();
        List<String> octets = new ArrayList<>();
        for (byte b : bytes) {
            octets.add(Integer.toString(b & 0xff));
        }
        return String.join(".", octets);
    }

    /** Lines of text that contain word. */
    private static long count(String text, String word) {
        return text.lines().filter(l -> l.contains(word)).count();
    }
}
