package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vesicle.api.Messages;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.Iperf;
import io.vesicle.tests.support.NodeCensus;
import io.vesicle.tests.support.Shell;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our plugin with the reference plugins of containernetworking-plugins (/usr/lib/cni, which speak
 * CNI up to 1.0.0, hence 1.0.0 lists): chained after it (tuning, portmap), and delegated to for
 * addresses (host-local).
 */
class CniChainingIT extends CniNodeFixture {
    static final String NODE_IP = "192.168.77.1";
    static final int HOST_PORT = 18080;
    static final int CONTAINER_PORT = 5201;
    static final Duration PING_WITHIN = Duration.ofSeconds(5);

    String inNode(String... command) {
        return Shell.check(Shell.inNetns(node.netns(), command).toArray(String[]::new));
    }

    @Test
    void tuningAndPortmapChainedAfterOursWork() throws Exception {
        Path tuningData = network.tempDir("tuning");
        ObjectNode tuning = CniRuntime.JSON.createObjectNode();
        tuning.put("type", "tuning");
        tuning.put("mtu", 1400);
        tuning.putObject("sysctl").put("net.ipv4.conf.eth0.arp_ignore", "1");
        tuning.put("dataDir", tuningData.toString());
        ObjectNode portmap = CniRuntime.JSON.createObjectNode();
        portmap.put("type", "portmap");
        portmap.putObject("capabilities").put("portMappings", true);
        portmap.put("snat", true);
        JsonNode list = CniNode.list("1.0.0", node.vesicle(), tuning, portmap);

        // The node's own address, where its host ports are.
        inNode("ip", "addr", "add", NODE_IP + "/32", "dev", "lo");

        CniNode.Pod web = node.pod("web");
        CniNode.Pod client = node.pod("client");
        CniRuntime.Attachment webEth0 = web.eth0().withCapability("portMappings",
                List.of(Map.of("hostPort", HOST_PORT, "containerPort", CONTAINER_PORT, "protocol", "tcp")));
        JsonNode result = runtime.add(list, webEth0);
        JsonNode clientResult = runtime.add(list, client.eth0());
        String webIp = CniNode.address(result);
        System.out.println("ADD through vesicle, tuning, portmap: " + result);

        // prevResult went through tuning and portmap: the final result is still ours.
        assertTrue(result.path("ips").path(0).path("address").asText().startsWith(webIp + "/"), result.toString());
        assertEquals(web.netnsPath(), result.path("interfaces").path(result.path("ips").path(0).path("interface")
                .asInt()).path("sandbox").asText(), result.toString());

        // tuning's effects, seen in the pod.
        String sysctl = Shell.check(Shell.inNetns(web.netns(), "sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore")
                .toArray(String[]::new)).strip();
        assertEquals("1", sysctl, "tuning's sysctl in the pod");
        String link = Shell.check("ip", "-n", web.netns(), "link", "show", "eth0");
        assertTrue(link.contains("mtu 1400"), "tuning's MTU on the pod's eth0: " + link);

        // portmap's rules, in the node namespace (where the runtime, hence portmap, runs).
        String nat = inNode("iptables", "-t", "nat", "-S");
        assertTrue(nat.contains("CNI-HOSTPORT-DNAT"), nat);
        assertTrue(nat.contains(webIp + ":" + CONTAINER_PORT), nat);

        // Pod to pod through the datapath, and the node's host port to the pod.
        assertTrue(Shell.awaitPing(client.netns(), webIp, PING_WITHIN), "client reaches web");
        assertTrue(Shell.awaitPing(node.netns(), webIp, PING_WITHIN),
                "the node reaches the pod, which its host port needs (CniLifecycleIT#theNodeReachesItsPods)");
        Iperf.Result mapped = Iperf.run(web.netns(), CONTAINER_PORT, node.netns(), NODE_IP, HOST_PORT, false);
        System.out.printf("node %s:%d -> pod %s:%d moved %d bytes%n", NODE_IP, HOST_PORT, webIp, CONTAINER_PORT,
                mapped.bytes());
        assertTrue(mapped.bytes() > 100_000, "through the host port: " + mapped.bytes() + " bytes");

        // portmap 1.1.1 (Debian 12) fails CHECK on an IPv4-only pod, looking for ip6tables chains it
        // never made (containernetworking/plugins#819, fixed later): CHECK the list without it.
        JsonNode checkable = CniNode.list("1.0.0", node.vesicle(), tuning);
        runtime.check(checkable, webEth0);
        runtime.check(checkable, client.eth0());

        runtime.del(list, webEth0);
        runtime.del(list, client.eth0());
        String natAfter = inNode("iptables", "-t", "nat", "-S");
        assertFalse(natAfter.contains(webIp + ":" + CONTAINER_PORT), "portmap removed its DNAT: " + natAfter);
        NodeCensus census = NodeCensus.take(node.agent(), List.of(web.netns(), client.netns()), null);
        System.out.println("after DEL through the chain:\n" + census);
        assertTrue(census.empty(), census.toString());
        assertTrue(clientResult.path("ips").size() > 0);
    }

    /** 1.1.0 too: the reference host-local speaks up to 1.0.0, so the plugin must negotiate down. */
    @ParameterizedTest(name = "cniVersion {0}")
    @ValueSource(strings = {"1.0.0", "1.1.0"})
    void delegationToHostLocalWorks(String cniVersion) throws Exception {
        Path dataDir = network.tempDir("host-local");
        ObjectNode vesicle = node.vesicle();
        ObjectNode ipam = vesicle.putObject("ipam");
        ipam.put("type", "host-local");
        ipam.put("dataDir", dataDir.toString());
        ipam.putArray("ranges").addArray().addObject().put("subnet", CniNode.POD_CIDR)
                .put("rangeStart", "10.244.1.100").put("rangeEnd", "10.244.1.150").put("gateway", CniNode.GATEWAY);
        JsonNode list = CniNode.list(cniVersion, vesicle);
        Path reservations = dataDir.resolve(CniNode.NETWORK);

        CniNode.Pod a = node.pod("a");
        CniNode.Pod b = node.pod("b");
        JsonNode resultA = runtime.add(list, a.eth0());
        String ipA = CniNode.address(resultA);
        String ipB = CniNode.address(runtime.add(list, b.eth0()));
        System.out.println("host-local (list " + cniVersion + ") gave " + ipA + " and " + ipB);
        assertEquals(cniVersion, resultA.path("cniVersion").asText(), "the result is in the list's version");

        for (String ip : List.of(ipA, ipB)) {
            int last = Integer.parseInt(ip.substring(ip.lastIndexOf('.') + 1));
            assertTrue(ip.startsWith("10.244.1.") && last >= 100 && last <= 150, ip + " is in host-local's range");
        }
        // host-local's reservation files name their owners; the agent's IPAM allocated nothing, it only
        // records the delegated addresses so that it never hands them out.
        assertTrue(Files.readString(reservations.resolve(ipA)).startsWith(a.containerID()));
        assertTrue(Files.readString(reservations.resolve(ipB)).startsWith(b.containerID()));
        Messages.Endpoint endpoint = node.agent().client().endpoint(a.containerID(), "eth0").orElseThrow();
        assertFalse(endpoint.ipamOwned(), endpoint.toString());
        assertEquals(0, node.agent().status().path("ipam").path("allocated").asInt(), node.agent().status().toString());
        assertEquals(2, node.agent().status().path("ipam").path("delegated").asInt(), node.agent().status().toString());
        assertTrue(Shell.check("ip", "-n", a.netns(), "-o", "-4", "addr", "show", "dev", "eth0")
                .contains(" " + ipA + "/"));

        assertTrue(Shell.awaitPing(a.netns(), ipB, PING_WITHIN), "a reaches b");
        runtime.check(list, a.eth0());

        runtime.del(list, a.eth0());
        runtime.del(list, b.eth0());
        runtime.del(list, b.eth0());
        assertFalse(Files.exists(reservations.resolve(ipA)), "host-local released " + ipA);
        assertFalse(Files.exists(reservations.resolve(ipB)), "host-local released " + ipB);
        NodeCensus census = NodeCensus.take(node.agent(), List.of(a.netns(), b.netns()), reservations);
        System.out.println("after DEL with host-local:\n" + census);
        assertTrue(census.empty(), census.toString());
    }
}
