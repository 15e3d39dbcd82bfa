package io.vesicle.tests;

import static io.vesicle.tests.support.DatapathObject.TC_ACT_OK;
import static io.vesicle.tests.support.DatapathObject.TC_ACT_REDIRECT;
import static io.vesicle.tests.support.DatapathObject.TC_ACT_SHOT;
import static io.vesicle.tests.support.Packets.ETH_HLEN;
import static io.vesicle.tests.support.Packets.ETH_P_ARP;
import static io.vesicle.tests.support.Packets.ETH_P_IP;
import static io.vesicle.tests.support.Packets.ICMP_ECHO;
import static io.vesicle.tests.support.Packets.ICMP_ECHO_REPLY;
import static io.vesicle.tests.support.Packets.IP_MF;
import static io.vesicle.tests.support.Packets.IP_HLEN;
import static io.vesicle.tests.support.Packets.arpRequest;
import static io.vesicle.tests.support.Packets.ethernet;
import static io.vesicle.tests.support.Packets.icmpEcho4;
import static io.vesicle.tests.support.Packets.slice;
import static io.vesicle.tests.support.Packets.udp4;
import static io.vesicle.tests.support.Packets.withFragOff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vesicle.loader.BpfMap;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.loader.Program;
import io.vesicle.maps.Direction;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.IpcacheEntry;
import io.vesicle.maps.IpcacheKey;
import io.vesicle.maps.MacAddress;
import io.vesicle.maps.Reason;
import io.vesicle.tests.support.DatapathObject;
import io.vesicle.tests.support.DatapathObject.RoutingMode;
import io.vesicle.tests.support.DatapathObject.Settings;
import io.vesicle.tests.support.Packets;
import io.vesicle.tests.support.Shell;
import io.vesicle.tests.support.TestNetwork;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every branch of the multi-node paths (from_container's remote destinations, from_overlay,
 * from_netdev, from_host) through BPF_PROG_TEST_RUN with crafted frames, on private maps. The
 * runs happen inside a namespace of the test's, a node with an uplink (up0, 192.168.77.1/24), a
 * pod's host-side veth (lxc0) and a stand-in for vsl_host (host0), so the FIB and neighbour
 * lookups of native routing see routes the test made, never the machine's:
 * <ul>
 * <li>10.202.0.0/24 via 192.168.77.2, whose MAC is a permanent neighbour (FIB success);
 * <li>10.203.0.0/24 via 192.168.77.3, no neighbour entry (resolved by bpf_redirect_neigh);
 * <li>10.204.0.0/24 out of lxc0 itself (a loop); 10.205.0.0/24 no route at all.
 * </ul>
 * Each is a remote node's pod CIDR in the ipcache. A local pod's packet on host0 stands for one
 * the stack DNATed to a remote pod (a Service): from_host notes its flow, and from_netdev hands
 * the replies to the stack, which alone can reverse the DNAT. What a test run cannot show: the tunnel key
 * set for encapsulation (the metadata is dropped with the test's skb and there is no helper to
 * read a key one set), and from_overlay's delivery, which needs a packet that came out of a
 * VXLAN device: NodeTrafficTest covers both with real traffic.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NodeProgramsTest {
    static final byte[] POD_IP = {10, (byte) 201, 0, 2};
    static final byte[] LOCAL_POD_IP = {10, (byte) 201, 0, 3};
    static final byte[] REMOTE_POD_IP = {10, (byte) 202, 0, 5};
    static final byte[] UNRESOLVED_POD_IP = {10, (byte) 203, 0, 5};
    static final byte[] LOOPING_POD_IP = {10, (byte) 204, 0, 5};
    static final byte[] UNROUTED_POD_IP = {10, (byte) 205, 0, 5};
    static final byte[] REMOTE_NODE_IP = {(byte) 192, (byte) 168, 77, 2};
    static final byte[] NODE_IP = {(byte) 192, (byte) 168, 77, 1};
    static final byte[] WORLD_IP = {8, 8, 8, 8};
    static final MacAddress POD_MAC = MacAddress.parse("02:00:00:00:00:02");
    static final MacAddress POD_ROUTER_MAC = MacAddress.parse("02:00:00:00:01:02");
    static final MacAddress LOCAL_POD_MAC = MacAddress.parse("02:00:00:00:00:03");
    static final MacAddress LOCAL_POD_ROUTER_MAC = MacAddress.parse("02:00:00:00:01:03");
    static final MacAddress REMOTE_NODE_MAC = MacAddress.parse("02:00:00:00:77:02");
    static final MacAddress FOREIGN_MAC = MacAddress.parse("02:66:66:66:66:66");
    static final int UPLINK_MTU = 1400;
    static final int ENCAP_IFINDEX = 4242;
    static final int LOCAL_POD_IFINDEX = 4243;
    static final int POD_IDENTITY = 5;

    static TestNetwork network;
    static NetNs node;
    static Netlink.Link uplink;
    static Netlink.Link lxc;
    static Netlink.Link host;
    /** A pod's device with forwarding disabled. */
    static Netlink.Link unforwarding;

    DatapathObject datapath;

    @BeforeAll
    static void node() {
        network = new TestNetwork();
        String ns = network.namespace("node");
        node = network.open(ns);
        ip(ns, "link", "add", "up0", "mtu", String.valueOf(UPLINK_MTU), "type", "veth", "peer", "name", "up0p");
        ip(ns, "link", "add", "lxc0", "type", "veth", "peer", "name", "lxc0p");
        ip(ns, "link", "add", "host0", "type", "veth", "peer", "name", "net0");
        ip(ns, "link", "add", "lxc1", "type", "veth", "peer", "name", "lxc1p");
        for (String dev : new String[] {"up0", "up0p", "lxc0", "lxc0p", "host0", "net0", "lxc1", "lxc1p"}) {
            ip(ns, "link", "set", dev, "up");
        }
        ip(ns, "addr", "add", "192.168.77.1/24", "dev", "up0");
        ip(ns, "neigh", "replace", "192.168.77.2", "lladdr", REMOTE_NODE_MAC.toString(), "nud", "permanent", "dev",
                "up0");
        ip(ns, "route", "add", "10.202.0.0/24", "via", "192.168.77.2", "dev", "up0");
        ip(ns, "route", "add", "10.203.0.0/24", "via", "192.168.77.3", "dev", "up0");
        ip(ns, "route", "add", "10.204.0.0/24", "dev", "lxc0");
        NetNs.writeSysctl(node, "ipv4/ip_forward", "1");
        NetNs.writeSysctl(node, "ipv4/conf/lxc1/forwarding", "0");
        uplink = Netlink.link(node, "up0").orElseThrow();
        lxc = Netlink.link(node, "lxc0").orElseThrow();
        host = Netlink.link(node, "host0").orElseThrow();
        unforwarding = Netlink.link(node, "lxc1").orElseThrow();
    }

    @AfterAll
    static void removeNode() {
        network.close();
    }

    static void ip(String ns, String... args) {
        String[] command = new String[args.length + 3];
        command[0] = "ip";
        command[1] = "-n";
        command[2] = ns;
        System.arraycopy(args, 0, command, 3, args.length);
        Shell.check(command);
    }

    @AfterEach
    void close() {
        if (datapath != null) {
            datapath.close();
        }
    }

    /** Loads the object with these settings, one local pod sending on lxc0 and one receiving, and the remote nodes. */
    void load(Settings settings) throws Exception {
        datapath = DatapathObject.load(settings);
        EndpointInfo source = new EndpointInfo(ip(POD_IP), lxc.index(), 1, POD_IDENTITY, 0, POD_MAC, POD_ROUTER_MAC);
        datapath.maps().endpointsByIfindex().put(new IfIndex(lxc.index()), source);
        datapath.maps().endpoints().put(new EndpointKey(ip(POD_IP)), source);
        datapath.maps().endpoints().put(new EndpointKey(ip(LOCAL_POD_IP)), new EndpointInfo(ip(LOCAL_POD_IP),
                LOCAL_POD_IFINDEX, 2, POD_IDENTITY, 0, LOCAL_POD_MAC, LOCAL_POD_ROUTER_MAC));
        podCidr("10.202.0.0", "192.168.77.2");
        podCidr("10.203.0.0", "192.168.77.3");
        podCidr("10.204.0.0", "192.168.77.4");
        podCidr("10.205.0.0", "192.168.88.9");
        datapath.maps().ipcache().put(IpcacheKey.host(ip(REMOTE_NODE_IP)),
                IpcacheEntry.local(IpcacheEntry.IDENTITY_REMOTE_NODE, 0));
    }

    void load(RoutingMode mode) throws Exception {
        load(new Settings(mode, ENCAP_IFINDEX, ip(NODE_IP)));
    }

    void podCidr(String network, String node) throws Exception {
        datapath.maps().ipcache().put(new IpcacheKey((Inet4Address) InetAddress.getByName(network), 24),
                new IpcacheEntry(IpcacheEntry.IDENTITY_UNKNOWN, (Inet4Address) InetAddress.getByName(node),
                        IpcacheEntry.F_POD_CIDR));
    }

    static Inet4Address ip(byte[] b) throws Exception {
        return (Inet4Address) InetAddress.getByAddress(b);
    }

    static byte[] fromPod(byte[] dst, int ttl) {
        return ethernet(POD_ROUTER_MAC.bytes(), POD_MAC.bytes(), ETH_P_IP, udp4(POD_IP, dst, ttl, 32));
    }

    Program.TestRunResult run(String program, byte[] frame, Netlink.Link device) {
        return datapath.program(program).testRun(node, frame, device.index(), 1);
    }

    Program.TestRunResult fromContainer(byte[] frame) {
        return run("from_container", frame, lxc);
    }

    long egress(Reason reason) {
        return datapath.packets(reason, Direction.EGRESS);
    }

    long ingress(Reason reason) {
        return datapath.packets(reason, Direction.INGRESS);
    }

    static int ttl(byte[] frame) {
        return frame[ETH_HLEN + 8] & 0xff;
    }

    /** The frame with its TTL lowered by one and the IPv4 checksum fixed: what a router sends on. */
    static byte[] routed(byte[] frame) {
        byte[] out = frame.clone();
        out[ETH_HLEN + 8]--;
        out[ETH_HLEN + 10] = 0;
        out[ETH_HLEN + 11] = 0;
        short check = Packets.ipChecksum(out, ETH_HLEN, IP_HLEN);
        out[ETH_HLEN + 10] = (byte) (check >> 8);
        out[ETH_HLEN + 11] = (byte) check;
        return out;
    }

    static byte[] withMacs(byte[] frame, MacAddress dst, MacAddress src) {
        byte[] out = frame.clone();
        System.arraycopy(dst.bytes(), 0, out, 0, 6);
        System.arraycopy(src.bytes(), 0, out, 6, 6);
        return out;
    }

    // from_container, overlay mode

    @Test
    void remotePodInOverlayModeIsEncapsulatedAsRoutedOnce() throws Exception {
        load(RoutingMode.OVERLAY);
        byte[] frame = fromPod(REMOTE_POD_IP, 64);
        Program.TestRunResult result = fromContainer(frame);

        assertEquals(TC_ACT_REDIRECT, result.retval());
        // The inner frame is left as the pod sent it but for the TTL: the device adds the outer
        // headers, the receiving node's from_overlay sets the MACs.
        assertArrayEquals(routed(frame), result.data());
        assertEquals(1, egress(Reason.ENCAPSULATED));
        assertEquals(frame.length, datapath.maps().metrics().get(Reason.ENCAPSULATED, Direction.EGRESS).bytes());
        assertEquals(0, egress(Reason.TO_STACK));
    }

    @Test
    void overlayModeWithoutADeviceDropsInsteadOfSendingNowhere() throws Exception {
        load(new Settings(RoutingMode.OVERLAY, 0, ip(NODE_IP)));

        assertEquals(TC_ACT_SHOT, fromContainer(fromPod(REMOTE_POD_IP, 64)).retval());
        assertEquals(1, egress(Reason.ENCAP_FAILED));
        assertEquals(0, egress(Reason.ENCAPSULATED));
    }

    @Test
    void worldAndRemoteNodesGoToTheStackUntouched() throws Exception {
        load(RoutingMode.OVERLAY);
        byte[] world = fromPod(WORLD_IP, 64);
        byte[] remoteNode = fromPod(REMOTE_NODE_IP, 64);

        Program.TestRunResult toWorld = fromContainer(world);
        Program.TestRunResult toNode = fromContainer(remoteNode);

        assertEquals(TC_ACT_OK, toWorld.retval());
        assertArrayEquals(world, toWorld.data());
        assertEquals(TC_ACT_OK, toNode.retval(), "a node without tunnel endpoint: the underlay routes it");
        assertArrayEquals(remoteNode, toNode.data());
        assertEquals(2, egress(Reason.TO_STACK));
        assertEquals(0, egress(Reason.ENCAPSULATED));
    }

    @Test
    void expiringPacketForARemotePodGoesToTheStackForIcmpTimeExceeded() throws Exception {
        load(RoutingMode.OVERLAY);
        byte[] frame = fromPod(REMOTE_POD_IP, 1);
        Program.TestRunResult result = fromContainer(frame);

        assertEquals(TC_ACT_OK, result.retval());
        assertArrayEquals(frame, result.data());
        assertEquals(1, egress(Reason.TO_STACK));
        assertEquals(0, egress(Reason.ENCAPSULATED));
    }

    @Test
    void localPodWinsOverACoveringRemotePrefix() throws Exception {
        load(RoutingMode.OVERLAY);
        podCidr("10.201.0.0", "192.168.77.2");

        Program.TestRunResult result = fromContainer(fromPod(LOCAL_POD_IP, 64));

        assertEquals(TC_ACT_REDIRECT, result.retval());
        assertArrayEquals(LOCAL_POD_MAC.bytes(), slice(result.data(), 0, 6));
        assertEquals(1, egress(Reason.FORWARDED));
        assertEquals(0, egress(Reason.ENCAPSULATED));
    }

    @Test
    void singleNodeModeIgnoresTheIpcache() throws Exception {
        load(RoutingMode.NONE);
        byte[] frame = fromPod(REMOTE_POD_IP, 64);
        Program.TestRunResult result = fromContainer(frame);

        assertEquals(TC_ACT_OK, result.retval());
        assertArrayEquals(frame, result.data());
        assertEquals(1, egress(Reason.TO_STACK));
    }

    // from_container, native routing

    @Test
    void remotePodInNativeModeIsRoutedToTheNextHopsMac() throws Exception {
        load(RoutingMode.NATIVE);
        byte[] frame = fromPod(REMOTE_POD_IP, 64);
        Program.TestRunResult result = fromContainer(frame);

        assertEquals(TC_ACT_REDIRECT, result.retval());
        assertArrayEquals(withMacs(routed(frame), REMOTE_NODE_MAC, MacAddress.of(uplink.mac())), result.data());
        assertEquals(1, egress(Reason.FIB_FORWARDED));
    }

    @Test
    void nextHopWithoutNeighbourEntryIsLeftToBpfRedirectNeigh() throws Exception {
        load(RoutingMode.NATIVE);
        byte[] frame = fromPod(UNRESOLVED_POD_IP, 64);
        Program.TestRunResult result = fromContainer(frame);

        // bpf_redirect_neigh fills the MACs when the packet is really sent; a test run stops before.
        assertEquals(TC_ACT_REDIRECT, result.retval());
        assertArrayEquals(routed(frame), result.data());
        assertEquals(1, egress(Reason.FIB_FORWARDED));
    }

    @Test
    void remotePodWithoutRouteIsDroppedAsFibFailure() throws Exception {
        load(RoutingMode.NATIVE);

        assertEquals(TC_ACT_SHOT, fromContainer(fromPod(UNROUTED_POD_IP, 64)).retval());
        assertEquals(1, egress(Reason.FIB_LOOKUP_FAILED));
        assertEquals(0, egress(Reason.FIB_FORWARDED));
    }

    @Test
    void routeBackOutOfTheSendingDeviceIsDroppedAsFibFailure() throws Exception {
        load(RoutingMode.NATIVE);

        assertEquals(TC_ACT_SHOT, fromContainer(fromPod(LOOPING_POD_IP, 64)).retval());
        assertEquals(1, egress(Reason.FIB_LOOKUP_FAILED));
    }

    @Test
    void podDeviceWithoutForwardingIsAFibFailure() throws Exception {
        // Native routing needs net.ipv4.ip_forward=1 (or the device's forwarding) on the node.
        load(RoutingMode.NATIVE);
        EndpointInfo source = new EndpointInfo(ip(POD_IP), unforwarding.index(), 1, POD_IDENTITY, 0, POD_MAC,
                POD_ROUTER_MAC);
        datapath.maps().endpointsByIfindex().put(new IfIndex(unforwarding.index()), source);

        assertEquals(TC_ACT_SHOT, run("from_container", fromPod(REMOTE_POD_IP, 64), unforwarding).retval());
        assertEquals(1, egress(Reason.FIB_LOOKUP_FAILED));
    }

    @Test
    void packetOverTheUplinkMtuGoesToTheStackUntouched() throws Exception {
        load(RoutingMode.NATIVE);
        byte[] frame = ethernet(POD_ROUTER_MAC.bytes(), POD_MAC.bytes(), ETH_P_IP,
                udp4(POD_IP, REMOTE_POD_IP, 64, UPLINK_MTU));
        Program.TestRunResult result = fromContainer(frame);

        assertEquals(TC_ACT_OK, result.retval(), "the stack fragments or answers fragmentation needed");
        assertArrayEquals(frame, result.data());
        assertEquals(1, egress(Reason.TO_STACK));
    }

    // from_overlay

    @Test
    void overlayFrameWithoutTunnelMetadataIsDropped() throws Exception {
        load(RoutingMode.OVERLAY);

        // A test run's skb never carries tunnel metadata: the branch taken when something sends
        // on the VXLAN device without going through the tunnel.
        assertEquals(TC_ACT_SHOT, run("from_overlay", fromPod(LOCAL_POD_IP, 64), uplink).retval());
        assertEquals(1, ingress(Reason.NO_TUNNEL_KEY));
        assertEquals(0, ingress(Reason.DECAPSULATED));
    }

    // from_netdev

    byte[] fromUplink(byte[] src, byte[] dst, int ttl) {
        return onUplink(udp4(src, dst, ttl, 32));
    }

    /** A frame from the remote node on the uplink carrying ipPacket (native routing). */
    byte[] onUplink(byte[] ipPacket) {
        return ethernet(uplink.mac(), REMOTE_NODE_MAC.bytes(), ETH_P_IP, ipPacket);
    }

    @Test
    void netdevPacketForALocalPodIsRoutedIntoIt() throws Exception {
        load(RoutingMode.NATIVE);
        byte[] frame = fromUplink(REMOTE_POD_IP, LOCAL_POD_IP, 63);
        Program.TestRunResult result = run("from_netdev", frame, uplink);

        assertEquals(TC_ACT_REDIRECT, result.retval());
        assertArrayEquals(withMacs(routed(frame), LOCAL_POD_MAC, LOCAL_POD_ROUTER_MAC), result.data());
        assertEquals(1, ingress(Reason.FORWARDED));
    }

    @Test
    void netdevPacketForAnyoneElseGoesOnUntouched() throws Exception {
        load(RoutingMode.NATIVE);
        byte[] forNode = fromUplink(REMOTE_NODE_IP, NODE_IP, 64);
        byte[] forRemotePod = fromUplink(REMOTE_NODE_IP, REMOTE_POD_IP, 64);
        byte[] arp = ethernet(uplink.mac(), REMOTE_NODE_MAC.bytes(), ETH_P_ARP,
                arpRequest(REMOTE_NODE_MAC.bytes(), REMOTE_NODE_IP, NODE_IP));
        // Another host's frame (the uplink in promiscuous mode): not the node's to route.
        byte[] otherHost = withMacs(fromUplink(REMOTE_POD_IP, LOCAL_POD_IP, 64), FOREIGN_MAC, REMOTE_NODE_MAC);

        for (byte[] frame : new byte[][] {forNode, forRemotePod, arp, otherHost}) {
            Program.TestRunResult result = run("from_netdev", frame, uplink);
            assertEquals(TC_ACT_OK, result.retval());
            assertArrayEquals(frame, result.data());
        }
        assertEquals(4, ingress(Reason.TO_STACK));
        assertEquals(0, ingress(Reason.FORWARDED));
    }

    @Test
    void netdevPacketExpiringOnTheWayToALocalPodGoesToTheStack() throws Exception {
        load(RoutingMode.NATIVE);
        byte[] frame = fromUplink(REMOTE_POD_IP, LOCAL_POD_IP, 1);
        Program.TestRunResult result = run("from_netdev", frame, uplink);

        assertEquals(TC_ACT_OK, result.retval());
        assertArrayEquals(frame, result.data());
        assertEquals(1, ingress(Reason.TO_STACK));
    }

    // from_host

    byte[] fromHost(byte[] dst) {
        return viaHost(udp4(NODE_IP, dst, 64, 32));
    }

    /** ipPacket leaving through vsl_host: the node's own, or a local pod's the stack routed there (DNAT). */
    byte[] viaHost(byte[] ipPacket) {
        return ethernet(FOREIGN_MAC.bytes(), host.mac(), ETH_P_IP, ipPacket);
    }

    @Test
    void hostPacketForAnUnknownDestinationIsDropped() throws Exception {
        load(RoutingMode.OVERLAY);

        assertEquals(TC_ACT_SHOT, run("from_host", fromHost(WORLD_IP), host).retval());
        assertEquals(TC_ACT_SHOT, run("from_host", fromHost(REMOTE_NODE_IP), host).retval());
        assertEquals(2, egress(Reason.UNKNOWN_DESTINATION));
    }

    @Test
    void hostPacketForARemotePodIsEncapsulatedWithItsTtl() throws Exception {
        load(RoutingMode.OVERLAY);
        byte[] frame = fromHost(REMOTE_POD_IP);
        Program.TestRunResult result = run("from_host", frame, host);

        assertEquals(TC_ACT_REDIRECT, result.retval());
        assertArrayEquals(frame, result.data(), "the node's own packet: not a routing hop");
        assertEquals(1, egress(Reason.ENCAPSULATED));
    }

    @Test
    void hostPacketForARemotePodIsRoutedNativelyWithItsTtl() throws Exception {
        load(RoutingMode.NATIVE);
        byte[] frame = fromHost(REMOTE_POD_IP);
        Program.TestRunResult result = run("from_host", frame, host);

        assertEquals(TC_ACT_REDIRECT, result.retval());
        assertArrayEquals(withMacs(frame, REMOTE_NODE_MAC, MacAddress.of(uplink.mac())), result.data());
        assertEquals(1, egress(Reason.FIB_FORWARDED));
    }

    @Test
    void hostNonIpFramesPassAndMalformedOnesAreDropped() throws Exception {
        load(RoutingMode.OVERLAY);
        byte[] arp = ethernet(new byte[] {-1, -1, -1, -1, -1, -1}, host.mac(), ETH_P_ARP,
                arpRequest(host.mac(), NODE_IP, REMOTE_NODE_IP));
        byte[] badVersion = fromHost(REMOTE_POD_IP);
        badVersion[ETH_HLEN] = 0x65;

        assertEquals(TC_ACT_OK, run("from_host", arp, host).retval());
        assertEquals(TC_ACT_SHOT, run("from_host", badVersion, host).retval());
        assertEquals(1, egress(Reason.TO_STACK));
        assertEquals(1, egress(Reason.INVALID_IP_HEADER));
        assertEquals(0, egress(Reason.ENCAPSULATED));
    }

    // Replies to local pods' flows that went through the stack (a Service DNATed to a remote pod)

    static final int POD_PORT = 40001;
    static final int BACKEND_PORT = 8080;
    static final int ECHO_ID = 0x4242;

    /** struct stack_flow_key, as the reply carries it: remote, local, remote port, local port, proto. */
    static String flowKey(byte[] remote, byte[] local, int remotePort, int localPort, int proto) {
        ByteBuffer key = ByteBuffer.allocate(16).put(remote).put(local).putShort((short) remotePort)
                .putShort((short) localPort).put((byte) proto);
        return HexFormat.of().formatHex(key.array());
    }

    List<String> stackFlows() {
        BpfMap map = datapath.stackFlows();
        List<String> keys = new ArrayList<>();
        ByteBuffer key = null;
        ByteBuffer next = ByteBuffer.allocateDirect(map.keySize());
        while (map.nextKey(key, next)) {
            byte[] bytes = new byte[map.keySize()];
            next.get(0, bytes);
            keys.add(HexFormat.of().formatHex(bytes));
            key = next;
            next = ByteBuffer.allocateDirect(map.keySize());
        }
        return keys;
    }

    @Test
    void hostPacketFromALocalPodNotesItsFlowKeyedAsItsReplies() throws Exception {
        load(RoutingMode.OVERLAY);
        byte[] frame = viaHost(udp4(POD_IP, REMOTE_POD_IP, POD_PORT, BACKEND_PORT, 63, 32));

        Program.TestRunResult first = run("from_host", frame, host);
        Program.TestRunResult again = run("from_host", frame, host);

        assertEquals(TC_ACT_REDIRECT, first.retval());
        assertEquals(TC_ACT_REDIRECT, again.retval());
        assertArrayEquals(frame, first.data(), "forwarded as before");
        assertEquals(2, egress(Reason.ENCAPSULATED));
        assertEquals(List.of(flowKey(REMOTE_POD_IP, POD_IP, BACKEND_PORT, POD_PORT, Packets.PROTO_UDP)),
                stackFlows());
    }

    @Test
    void hostPacketOfTheNodeItselfNotesNoFlow() throws Exception {
        load(RoutingMode.NATIVE);

        assertEquals(TC_ACT_REDIRECT, run("from_host", fromHost(REMOTE_POD_IP), host).retval());
        assertEquals(TC_ACT_SHOT, run("from_host", viaHost(udp4(POD_IP, WORLD_IP, 63, 32)), host).retval());
        assertEquals(1, egress(Reason.FIB_FORWARDED));
        assertEquals(List.of(), stackFlows(), "neither the node's packet nor a dropped one");
    }

    @Test
    void netdevReplyToAStackFlowGoesToTheStackUntouched() throws Exception {
        load(RoutingMode.NATIVE);
        run("from_host", viaHost(udp4(POD_IP, REMOTE_POD_IP, POD_PORT, BACKEND_PORT, 63, 32)), host);
        byte[] reply = onUplink(udp4(REMOTE_POD_IP, POD_IP, BACKEND_PORT, POD_PORT, 63, 32));

        Program.TestRunResult result = run("from_netdev", reply, uplink);

        assertEquals(TC_ACT_OK, result.retval(), "the stack reverses the DNAT and routes it to the pod");
        assertArrayEquals(reply, result.data(), "the stack's hop: TTL and MACs its business");
        assertEquals(1, ingress(Reason.VIA_STACK));
        assertEquals(0, ingress(Reason.FORWARDED));
    }

    @Test
    void netdevPacketsOfOtherFlowsStillGoStraightIntoThePod() throws Exception {
        load(RoutingMode.NATIVE);
        run("from_host", viaHost(udp4(POD_IP, REMOTE_POD_IP, POD_PORT, BACKEND_PORT, 63, 32)), host);
        List<byte[]> others = List.of(
                udp4(REMOTE_POD_IP, POD_IP, BACKEND_PORT, POD_PORT + 1, 63, 32), // another local port
                udp4(REMOTE_POD_IP, POD_IP, POD_PORT, BACKEND_PORT, 63, 32), // the ports the other way round
                udp4(REMOTE_POD_IP, LOCAL_POD_IP, BACKEND_PORT, POD_PORT, 63, 32), // another local pod
                udp4(UNRESOLVED_POD_IP, POD_IP, BACKEND_PORT, POD_PORT, 63, 32)); // another remote pod

        for (byte[] packet : others) {
            assertEquals(TC_ACT_REDIRECT, run("from_netdev", onUplink(packet), uplink).retval());
        }
        assertEquals(others.size(), ingress(Reason.FORWARDED));
        assertEquals(0, ingress(Reason.VIA_STACK));
    }

    @Test
    void echoRepliesMatchTheirRequestsByIdentifier() throws Exception {
        load(RoutingMode.NATIVE);
        run("from_host", viaHost(icmpEcho4(POD_IP, REMOTE_POD_IP, ICMP_ECHO, ECHO_ID)), host);

        assertEquals(List.of(flowKey(REMOTE_POD_IP, POD_IP, 0, ECHO_ID, Packets.PROTO_ICMP)), stackFlows());
        assertEquals(TC_ACT_OK, run("from_netdev",
                onUplink(icmpEcho4(REMOTE_POD_IP, POD_IP, ICMP_ECHO_REPLY, ECHO_ID)), uplink).retval());
        assertEquals(TC_ACT_REDIRECT, run("from_netdev",
                onUplink(icmpEcho4(REMOTE_POD_IP, POD_IP, ICMP_ECHO_REPLY, ECHO_ID + 1)), uplink).retval());
        assertEquals(TC_ACT_REDIRECT, run("from_netdev",
                onUplink(icmpEcho4(REMOTE_POD_IP, POD_IP, ICMP_ECHO, ECHO_ID)), uplink).retval(),
                "a request from the remote pod is no reply");
        assertEquals(1, ingress(Reason.VIA_STACK));
        assertEquals(2, ingress(Reason.FORWARDED));
    }

    @Test
    void fragmentsMatchByAddressesAlone() throws Exception {
        load(RoutingMode.NATIVE);
        run("from_host", viaHost(withFragOff(udp4(POD_IP, REMOTE_POD_IP, POD_PORT, BACKEND_PORT, 63, 32),
                IP_MF)), host);
        // A later fragment: what follows the IP header is data, not ports.
        byte[] replyFragment = withFragOff(udp4(REMOTE_POD_IP, POD_IP, 1234, 5678, 63, 32), (short) 185);

        assertEquals(List.of(flowKey(REMOTE_POD_IP, POD_IP, 0, 0, Packets.PROTO_UDP)), stackFlows());
        assertEquals(TC_ACT_OK, run("from_netdev", onUplink(replyFragment), uplink).retval());
        assertEquals(1, ingress(Reason.VIA_STACK));
    }

    @Test
    void uplinkEgressNotesALocalPodsFlowTheStackRoutedThereAndOnlyLooks() throws Exception {
        // Native routing: the remote pod CIDR's route is on the uplink, so the DNATed packet leaves there.
        load(RoutingMode.NATIVE);
        byte[] podPacket = ethernet(REMOTE_NODE_MAC.bytes(), uplink.mac(), ETH_P_IP,
                udp4(POD_IP, REMOTE_POD_IP, POD_PORT, BACKEND_PORT, 63, 32));
        byte[] nodePacket = ethernet(REMOTE_NODE_MAC.bytes(), uplink.mac(), ETH_P_IP,
                udp4(NODE_IP, REMOTE_POD_IP, POD_PORT + 1, BACKEND_PORT, 64, 32));

        for (byte[] frame : new byte[][] {podPacket, nodePacket}) {
            Program.TestRunResult result = run("to_netdev", frame, uplink);
            assertEquals(TC_ACT_OK, result.retval());
            assertArrayEquals(frame, result.data());
        }
        assertEquals(List.of(flowKey(REMOTE_POD_IP, POD_IP, BACKEND_PORT, POD_PORT, Packets.PROTO_UDP)),
                stackFlows(), "the pod's flow, not the node's");
        assertEquals(TC_ACT_OK, run("from_netdev",
                onUplink(udp4(REMOTE_POD_IP, POD_IP, BACKEND_PORT, POD_PORT, 63, 32)), uplink).retval());
        assertEquals(1, ingress(Reason.VIA_STACK));
        assertEquals(0, egress(Reason.TO_STACK), "uncounted: every packet the node sends passes there");
    }
}
