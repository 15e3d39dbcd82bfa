package io.vesicle.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.loader.TcDirection;
import io.vesicle.loader.TcLink;
import io.vesicle.maps.Direction;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.IpcacheEntry;
import io.vesicle.maps.IpcacheKey;
import io.vesicle.maps.MacAddress;
import io.vesicle.maps.MetricsValue;
import io.vesicle.maps.Reason;
import io.vesicle.tests.support.DatapathObject;
import io.vesicle.tests.support.DatapathObject.RoutingMode;
import io.vesicle.tests.support.DatapathObject.Settings;
import io.vesicle.tests.support.Iperf;
import io.vesicle.tests.support.Poll;
import io.vesicle.tests.support.Shell;
import io.vesicle.tests.support.TestNetwork;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Both routing modes with real packets, programs only (no agent): two node namespaces joined by
 * a veth underlay, one pod on each, the programs attached and the maps filled by hand as the
 * agent would. Overlay: a collect_md VXLAN device, from_container and from_overlay; this shows
 * what BPF_PROG_TEST_RUN cannot: the tunnel key from_container sets (remote node, VNI = the
 * sender's identity) reaches the wire, and from_overlay delivers what comes out of the tunnel.
 * Native: a route per remote pod CIDR, from_container and from_netdev; the packets cross the
 * underlay with pod addresses, MACs filled by the FIB lookup or bpf_redirect_neigh. The
 * many-node end-to-end tests with agents live in the topology harness.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NodeTrafficTest {
    static final int POD_IDENTITY = 5;
    static final String GATEWAY = "169.254.1.1";
    static final int UNDERLAY_MTU = 1500;
    static final int OVERLAY_OVERHEAD = 50;

    final TestNetwork network = new TestNetwork();
    final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        network.close();
    }

    /** A node namespace with its underlay address, VXLAN device, datapath and one pod. */
    final class Node {
        final String ns;
        final NetNs handle;
        final String underlayIP;
        final String podIP;
        final String podNs;
        DatapathObject datapath;

        Node(String name, String underlayIP, String podIP) {
            this.ns = network.namespace(name);
            this.handle = network.open(ns);
            this.underlayIP = underlayIP;
            this.podIP = podIP;
            this.podNs = network.namespace(name + "pod");
        }

        void wire(RoutingMode mode, int index) throws Exception {
            int podMtu = mode == RoutingMode.OVERLAY ? UNDERLAY_MTU - OVERLAY_OVERHEAD : UNDERLAY_MTU;
            ip(ns, "addr", "add", underlayIP + "/24", "dev", "eth0");
            ip(ns, "link", "set", "eth0", "up");
            ip(ns, "link", "add", "lxc0", "type", "veth", "peer", "name", "eth0", "netns", podNs);
            ip(ns, "link", "set", "lxc0", "up");
            ip(podNs, "link", "set", "eth0", "mtu", String.valueOf(podMtu), "up");
            ip(podNs, "addr", "add", podIP + "/32", "dev", "eth0");
            ip(podNs, "route", "add", GATEWAY, "dev", "eth0", "scope", "link");
            ip(podNs, "route", "add", "default", "via", GATEWAY, "dev", "eth0");

            Netlink.Link lxc = Netlink.link(handle, "lxc0").orElseThrow();
            MacAddress podMac = MacAddress.of(Netlink.link(network.open(podNs), "eth0").orElseThrow().mac());
            Netlink.Link vxlan = null;
            if (mode == RoutingMode.OVERLAY) {
                ip(ns, "link", "add", "vsl_vxlan", "mtu", String.valueOf(podMtu), "type", "vxlan", "external",
                        "dstport", "8472", "nolearning");
                ip(ns, "link", "set", "vsl_vxlan", "up");
                vxlan = Netlink.link(handle, "vsl_vxlan").orElseThrow();
            } else {
                NetNs.writeSysctl(handle, "ipv4/ip_forward", "1");
            }
            datapath = DatapathObject.load(new Settings(mode, vxlan == null ? 0 : vxlan.index(), ipv4(underlayIP)));
            resources.add(datapath);
            EndpointInfo pod = new EndpointInfo(ipv4(podIP), lxc.index(), index, POD_IDENTITY, 0, podMac,
                    MacAddress.of(lxc.mac()));
            datapath.maps().endpoints().put(new EndpointKey(ipv4(podIP)), pod);
            datapath.maps().endpointsByIfindex().put(new IfIndex(lxc.index()), pod);
            resources.add(TcLink.attach(datapath.program("from_container"), handle, lxc.index(), TcDirection.INGRESS));
            if (vxlan != null) {
                resources.add(TcLink.attach(datapath.program("from_overlay"), handle, vxlan.index(),
                        TcDirection.INGRESS));
            } else {
                int uplink = Netlink.link(handle, "eth0").orElseThrow().index();
                resources.add(TcLink.attach(datapath.program("from_netdev"), handle, uplink, TcDirection.INGRESS));
            }
        }

        /**
         * The other node's pod CIDR (a /24 around its pod) behind its underlay address, and for
         * native routing the route to it, as the agent installs them.
         */
        void learn(Node other, RoutingMode mode) throws Exception {
            String cidr = other.podIP.substring(0, other.podIP.lastIndexOf('.')) + ".0";
            datapath.maps().ipcache().put(new IpcacheKey(ipv4(cidr), 24),
                    new IpcacheEntry(IpcacheEntry.IDENTITY_UNKNOWN, ipv4(other.underlayIP), IpcacheEntry.F_POD_CIDR));
            if (mode == RoutingMode.NATIVE) {
                ip(ns, "route", "add", cidr + "/24", "via", other.underlayIP, "dev", "eth0");
            }
        }

        long count(Reason reason, Direction direction) {
            return datapath.packets(reason, direction);
        }
    }

    static Inet4Address ipv4(String address) throws Exception {
        return (Inet4Address) InetAddress.getByName(address);
    }

    static void ip(String ns, String... args) {
        List<String> command = new ArrayList<>(List.of("ip", "-n", ns));
        command.addAll(List.of(args));
        Shell.check(command.toArray(String[]::new));
    }

    /** Two wired nodes with a pod each, knowing each other, and a capture on a's underlay device. */
    Node[] twoNodes(RoutingMode mode) throws Exception {
        Node a = new Node("a", "192.168.90.1", "10.211.0.2");
        Node b = new Node("b", "192.168.90.2", "10.212.0.2");
        ip(a.ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b.ns);
        a.wire(mode, 1);
        b.wire(mode, 2);
        a.learn(b, mode);
        b.learn(a, mode);
        return new Node[] {a, b};
    }

    /**
     * Pings b's pod from fromNs (a's pod, or a itself) while tshark runs with captureArgs on a's
     * uplink; the lines tshark wrote for the request and the reply.
     */
    List<String> pingCaptured(Node a, Node b, String fromNs, String... captureArgs) throws Exception {
        Path capture = network.tempDir("capture");
        Process tshark = startCapture(a.ns, capture, captureArgs);

        assertTrue(Shell.awaitPing(fromNs, b.podIP, Duration.ofSeconds(10)),
                () -> fromNs + " reaches pod b; counters of a: " + a.datapath.maps().metrics().totals() + ", of b: "
                        + b.datapath.maps().metrics().totals());
        assertTrue(tshark.waitFor(30, TimeUnit.SECONDS), () -> "tshark saw the echo request and reply: "
                + read(capture.resolve("out")) + read(capture.resolve("err")));
        network.release(tshark);
        return Files.readAllLines(capture.resolve("out"));
    }

    @Test
    void overlayCarriesPodsPacketsInVxlanWithTheSendersIdentityAsVni() throws Exception {
        Node[] nodes = twoNodes(RoutingMode.OVERLAY);
        Node a = nodes[0];
        Node b = nodes[1];

        List<String> packets = pingCaptured(a, b, a.podNs, "-f", "udp port 8472", "-d", "udp.port==8472,vxlan", "-T",
                "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "vxlan.vni");

        // Outer then inner addresses (tshark lists every occurrence of a field), then the VNI.
        assertEquals(List.of(
                "192.168.90.1,10.211.0.2\t192.168.90.2,10.212.0.2\t" + POD_IDENTITY,
                "192.168.90.2,10.212.0.2\t192.168.90.1,10.211.0.2\t" + POD_IDENTITY), packets);
        assertTrue(a.count(Reason.ENCAPSULATED, Direction.EGRESS) >= 1);
        assertTrue(b.count(Reason.DECAPSULATED, Direction.INGRESS) >= 1);
        assertTrue(b.count(Reason.ENCAPSULATED, Direction.EGRESS) >= 1, "the reply went back through the tunnel");
        assertTrue(a.count(Reason.DECAPSULATED, Direction.INGRESS) >= 1);
        assertEquals(0, a.count(Reason.NO_TUNNEL_KEY, Direction.INGRESS) + b.count(Reason.NO_TUNNEL_KEY,
                Direction.INGRESS));
    }

    @Test
    void nativeRoutingCarriesPodsPacketsUnencapsulatedBetweenTheNodesMacs() throws Exception {
        Node[] nodes = twoNodes(RoutingMode.NATIVE);
        Node a = nodes[0];
        Node b = nodes[1];
        String macA = MacAddress.of(Netlink.link(a.handle, "eth0").orElseThrow().mac()).toString();
        String macB = MacAddress.of(Netlink.link(b.handle, "eth0").orElseThrow().mac()).toString();

        List<String> packets = pingCaptured(a, b, a.podNs, "-f", "icmp", "-T", "fields", "-e", "eth.src", "-e",
                "eth.dst", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.ttl");

        // One routing hop on each node: the sender's from_container and the receiver's
        // from_netdev each take one off the TTL; the wire sees the sender's.
        assertEquals(List.of(
                macA + "\t" + macB + "\t10.211.0.2\t10.212.0.2\t63",
                macB + "\t" + macA + "\t10.212.0.2\t10.211.0.2\t63"), packets);
        assertTrue(a.count(Reason.FIB_FORWARDED, Direction.EGRESS) >= 1);
        assertTrue(b.count(Reason.FORWARDED, Direction.INGRESS) >= 1, "from_netdev delivered the request");
        assertTrue(b.count(Reason.FIB_FORWARDED, Direction.EGRESS) >= 1);
        assertTrue(a.count(Reason.FORWARDED, Direction.INGRESS) >= 1, "from_netdev delivered the reply");
    }

    @Test
    void nodeReachesARemotePodThroughVslHostWithTheHostIdentityAsVni() throws Exception {
        Node[] nodes = twoNodes(RoutingMode.OVERLAY);
        Node a = nodes[0];
        Node b = nodes[1];
        // As the agent wires a node: a veth pair vsl_host/vsl_net, the remote pod CIDR routed
        // via an on-link gateway with a permanent neighbour (no ARP ever leaves), from the node
        // IP; from_host on vsl_host's egress. b forwards the reply, which is no pod's, as a node
        // does (it goes back unencapsulated: the node IP is not behind a tunnel).
        ip(a.ns, "link", "add", "vsl_host", "type", "veth", "peer", "name", "vsl_net");
        ip(a.ns, "link", "set", "vsl_host", "up");
        ip(a.ns, "link", "set", "vsl_net", "up");
        String vslNetMac = MacAddress.of(Netlink.link(a.handle, "vsl_net").orElseThrow().mac()).toString();
        ip(a.ns, "neigh", "replace", "169.254.0.1", "lladdr", vslNetMac, "nud", "permanent", "dev", "vsl_host");
        ip(a.ns, "route", "add", "10.212.0.0/24", "via", "169.254.0.1", "dev", "vsl_host", "onlink", "src",
                a.underlayIP);
        NetNs.writeSysctl(b.handle, "ipv4/ip_forward", "1");
        int vslHost = Netlink.link(a.handle, "vsl_host").orElseThrow().index();
        resources.add(TcLink.attach(a.datapath.program("from_host"), a.handle, vslHost, TcDirection.EGRESS));

        List<String> packets = pingCaptured(a, b, a.ns, "-f", "udp port 8472 or icmp", "-d",
                "udp.port==8472,vxlan", "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "vxlan.vni");

        assertEquals(List.of(
                "192.168.90.1,192.168.90.1\t192.168.90.2,10.212.0.2\t" + IpcacheEntry.IDENTITY_HOST,
                "10.212.0.2\t192.168.90.1\t"), packets);
        assertTrue(a.count(Reason.ENCAPSULATED, Direction.EGRESS) >= 1);
        assertTrue(b.count(Reason.DECAPSULATED, Direction.INGRESS) >= 1);
        assertEquals(0, a.count(Reason.UNKNOWN_DESTINATION, Direction.EGRESS));
    }

    @Test
    void tunnelledPacketForTheNodeItselfIsTakenByItsStack() throws Exception {
        Node[] nodes = twoNodes(RoutingMode.OVERLAY);
        Node a = nodes[0];
        Node b = nodes[1];
        // b itself behind a tunnel to b, as an ipcache may say of a node; b answers over the
        // underlay, and a's kernel forwards the answer to its pod over the pod's /32 route.
        a.datapath.maps().ipcache().put(IpcacheKey.host(ipv4(b.underlayIP)),
                new IpcacheEntry(IpcacheEntry.IDENTITY_REMOTE_NODE, ipv4(b.underlayIP), 0));
        ip(b.ns, "route", "add", "10.211.0.0/24", "via", a.underlayIP, "dev", "eth0");
        ip(a.ns, "route", "add", a.podIP + "/32", "dev", "lxc0");
        NetNs.writeSysctl(a.handle, "ipv4/ip_forward", "1");

        // The inner frame is addressed to a's pod's router MAC, not to b's VXLAN device:
        // from_overlay makes it the host's, or b's stack would discard it as another host's.
        assertTrue(Shell.awaitPing(a.podNs, b.underlayIP, Duration.ofSeconds(10)),
                () -> "pod a reaches node b; counters of a: " + a.datapath.maps().metrics().totals() + ", of b: "
                        + b.datapath.maps().metrics().totals());
        assertTrue(a.count(Reason.ENCAPSULATED, Direction.EGRESS) >= 1);
        assertTrue(b.count(Reason.TO_STACK, Direction.INGRESS) >= 1);
        assertEquals(0, b.count(Reason.DECAPSULATED, Direction.INGRESS));
    }

    @ParameterizedTest
    @EnumSource(value = RoutingMode.class, names = {"OVERLAY", "NATIVE"})
    void tcpSegmentsLargerThanTheMtuAreForwardedWhole(RoutingMode mode) throws Exception {
        Node[] nodes = twoNodes(mode);
        Node a = nodes[0];
        Node b = nodes[1];
        Reason forwarded = mode == RoutingMode.OVERLAY ? Reason.ENCAPSULATED : Reason.FIB_FORWARDED;

        Iperf.Result result = Iperf.run(b.podNs, a.podNs, b.podIP, false);

        assertTrue(result.bytes() > 0, "TCP crossed");
        // GSO packets left whole by the program: the device (VXLAN, or the uplink) segments them
        // after encapsulation or offloads that. Their average size shows they passed whole.
        MetricsValue sent = a.datapath.maps().metrics().get(forwarded, Direction.EGRESS);
        assertTrue(sent.bytes() / sent.packets() > UNDERLAY_MTU, () -> "average packet " + sent);
    }

    /** tshark on node ns's underlay device, writing what args select of the first two packets to dir/out. */
    Process startCapture(String ns, Path dir, String... args) throws IOException {
        Path err = dir.resolve("err");
        List<String> command = new ArrayList<>(List.of("tshark", "-i", "eth0", "-n", "-l", "-c", "2"));
        command.addAll(List.of(args));
        Process tshark = network.own(new ProcessBuilder(Shell.inNetns(ns, command.toArray(String[]::new)))
                .redirectOutput(dir.resolve("out").toFile())
                .redirectError(err.toFile()).start());
        Poll.until("tshark capturing on " + ns, Duration.ofSeconds(30),
                () -> read(err).contains("Capture started") || !tshark.isAlive());
        assertTrue(tshark.isAlive(), () -> "tshark failed: " + read(err));
        return tshark;
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
