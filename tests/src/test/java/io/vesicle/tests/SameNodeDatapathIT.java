package io.vesicle.tests;

import static io.vesicle.tests.support.Shell.inNetns;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.agent.datapath.Endpoint;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.NoSuchDeviceException;
import io.vesicle.maps.Direction;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.MacAddress;
import io.vesicle.maps.Reason;
import io.vesicle.tests.support.Iperf;
import io.vesicle.tests.support.Pod;
import io.vesicle.tests.support.Shell;
import io.vesicle.tests.support.TestNetwork;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two pods on one node, each in its own namespace, joined only by from_container: no bridge, no
 * routes between them in the node namespace but the per-pod host routes, forwarding disabled.
 */
class SameNodeDatapathIT {
    static final Duration PING_WITHIN = Duration.ofSeconds(5);

    TestNetwork network;
    String node;
    NetNs nodeNs;
    Datapath datapath;
    Pod a;
    Pod b;

    @BeforeEach
    void setUp() {
        network = new TestNetwork();
        node = network.namespace("node");
        nodeNs = network.open(node);
        // The node stack must not be what carries pod-to-pod traffic.
        NetNs.writeSysctl(nodeNs, "ipv4/ip_forward", "0");
        a = Pod.create(network, nodeNs, 1, "10.199.0.2");
        b = Pod.create(network, nodeNs, 2, "10.199.0.3");
        datapath = Datapath.load(nodeNs, new DatapathConfig(network.pinRoot(), Pod.GATEWAY));
    }

    @AfterEach
    void tearDown() {
        try {
            if (datapath != null) {
                datapath.close();
            }
        } finally {
            network.close();
        }
    }

    long forwarded() {
        return datapath.maps().metrics().get(Reason.FORWARDED, Direction.EGRESS).packets();
    }

    long counted(Reason reason) {
        return datapath.maps().metrics().get(reason, Direction.EGRESS).packets();
    }

    Shell.Result ping(Pod from, String to, String... extra) {
        List<String> cmd = new ArrayList<>(List.of("ping", "-c", "3", "-i", "0.2", "-W", "1"));
        cmd.addAll(List.of(extra));
        cmd.add(to);
        return Shell.run(20, inNetns(from.netns(), cmd.toArray(String[]::new)));
    }

    @Test
    void podsExchangeIcmpTcpAndUdpThroughTheProgram() {
        assertFalse(ping(a, b.ip()).ok(), "without the datapath the pods cannot reach each other");

        datapath.attach(a.endpoint());
        datapath.attach(b.endpoint());

        String filters = Shell.check(inNetns(node, "tc", "filter", "show", "dev", a.hostIf(), "ingress")
                .toArray(String[]::new));
        assertTrue(filters.contains("from_container") && filters.contains("direct-action"), filters);
        String bpftool = Shell.check(inNetns(node, "bpftool", "net", "show", "dev", b.hostIf())
                .toArray(String[]::new));
        assertTrue(bpftool.contains("from_container"), bpftool);

        assertTrue(Shell.awaitPing(a.netns(), b.ip(), PING_WITHIN), "a reaches b");
        long before = forwarded();
        Shell.Result ping = ping(a, b.ip());
        assertTrue(ping.ok(), ping.stdout() + ping.stderr());
        assertTrue(forwarded() - before >= 6, "3 requests and 3 replies forwarded, counted " + (forwarded() - before));

        long beforeTcp = forwarded();
        Iperf.Result tcp = Iperf.run(b.netns(), a.netns(), b.ip(), false);
        assertTrue(tcp.bytes() > 1_000_000, "TCP moved " + tcp.bytes() + " bytes");
        assertTrue(forwarded() - beforeTcp > 100, "TCP segments went through the program");

        long beforeUdp = forwarded();
        Iperf.Result udp = Iperf.run(b.netns(), a.netns(), b.ip(), true);
        assertTrue(udp.bytes() > 100_000, "UDP moved " + udp.bytes() + " bytes");
        assertTrue(forwarded() - beforeUdp > 100, "UDP datagrams went through the program");
    }

    @Test
    void spoofedSourceIpAndMacAreDroppedAndCounted() {
        datapath.attach(a.endpoint());
        datapath.attach(b.endpoint());
        assertTrue(Shell.awaitPing(a.netns(), b.ip(), PING_WITHIN), "a reaches b");

        // A second address on the pod: sending from it is spoofing.
        int eth0 = io.vesicle.loader.Netlink.link(a.ns(), "eth0").orElseThrow().index();
        io.vesicle.loader.Netlink.addAddress(a.ns(), eth0, Pod.address("10.199.0.99"), 32);
        long spoofedIp = counted(Reason.INVALID_SOURCE_IP);
        assertFalse(ping(a, b.ip(), "-I", "10.199.0.99").ok());
        assertTrue(counted(Reason.INVALID_SOURCE_IP) - spoofedIp >= 3);

        // Another MAC on the pod's interface: every frame is refused.
        io.vesicle.loader.Netlink.setMac(a.ns(), eth0, MacAddress.parse("02:66:66:66:66:66").bytes());
        long spoofedMac = counted(Reason.INVALID_SOURCE_MAC);
        assertFalse(ping(a, b.ip()).ok());
        assertTrue(counted(Reason.INVALID_SOURCE_MAC) - spoofedMac >= 3);
    }

    @Test
    void arpForTheGatewayIsAnsweredInBpf() {
        datapath.attach(a.endpoint());
        datapath.attach(b.endpoint());
        long replies = counted(Reason.ARP_REPLY);

        assertTrue(Shell.awaitPing(a.netns(), b.ip(), PING_WITHIN), "a reaches b");

        assertTrue(counted(Reason.ARP_REPLY) > replies, "the program answered ARP");
        String neigh = Shell.check(inNetns(a.netns(), "ip", "neigh", "show", Pod.GATEWAY.getHostAddress())
                .toArray(String[]::new));
        String hostMac = io.vesicle.loader.Netlink.link(nodeNs, a.hostIf()).map(l -> MacAddress.of(l.mac()))
                .orElseThrow().toString();
        assertTrue(neigh.contains(hostMac), "gateway resolved to the host-side veth's MAC: " + neigh);
        // The node namespace never owned the gateway address: only BPF could have answered.
        String nodeAddrs = Shell.check(inNetns(node, "ip", "-4", "addr").toArray(String[]::new));
        assertFalse(nodeAddrs.contains(Pod.GATEWAY.getHostAddress()), nodeAddrs);
    }

    @Test
    void detachRestoresTheNodeToItsPriorState() {
        String[] qdisc = inNetns(node, "tc", "qdisc", "show", "dev", a.hostIf()).toArray(String[]::new);
        String[] routes = inNetns(node, "ip", "-4", "route", "show").toArray(String[]::new);
        String qdiscBefore = Shell.check(qdisc);
        String routesBefore = Shell.check(routes);

        datapath.attach(a.endpoint());
        datapath.attach(a.endpoint()); // attaching again replaces, never duplicates
        String filters = Shell.check(inNetns(node, "tc", "filter", "show", "dev", a.hostIf(), "ingress")
                .toArray(String[]::new));
        assertEquals(1, filters.lines().filter(l -> l.contains("from_container")).count(), filters);
        assertTrue(Shell.check(qdisc).contains("clsact"));

        datapath.detach(a.endpoint());

        assertEquals(qdiscBefore, Shell.check(qdisc));
        assertEquals(routesBefore, Shell.check(routes));
        assertTrue(datapath.maps().endpoints().get(new EndpointKey(a.address())).isEmpty());
        assertTrue(datapath.maps().endpointsByIfindex().keys().isEmpty());
        datapath.detach(a.endpoint()); // detaching twice is harmless
    }

    @Test
    void attachingToAMissingDeviceFailsCleanly() {
        Endpoint ghost = new Endpoint(9, "lxc-ghost", Pod.address("10.199.0.9"), a.mac(), 300);

        NoSuchDeviceException e = assertThrows(NoSuchDeviceException.class, () -> datapath.attach(ghost));

        assertTrue(e.getMessage().contains("lxc-ghost"), e.getMessage());
        assertTrue(datapath.maps().endpoints().keys().isEmpty());
        assertTrue(datapath.maps().endpointsByIfindex().keys().isEmpty());
    }
}
