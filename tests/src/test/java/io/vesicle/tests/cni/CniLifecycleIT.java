package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.Messages;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.CniRuntime.PluginException;
import io.vesicle.tests.support.KernelView;
import io.vesicle.tests.support.NodeCensus;
import io.vesicle.tests.support.Shell;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * bin/vesicle-cni exec'd as libcni execs it (CniRuntime), against bin/vesicle agent running for a
 * node namespace: pods wired, checked, deleted and collected, each effect seen by a witness (ip,
 * ping, the agent's API and state, the pinned maps).
 */
class CniLifecycleIT extends CniNodeFixture {
    static final Duration PING_WITHIN = Duration.ofSeconds(5);
    final List<String> pods = new ArrayList<>();

    CniNode.Pod pod(String name) {
        CniNode.Pod pod = node.pod(name);
        pods.add(pod.netns());
        return pod;
    }

    NodeCensus census() {
        return NodeCensus.take(node.agent(), pods, null);
    }

    static String ipOf(CniNode.Pod pod) {
        return Shell.check("ip", "-n", pod.netns(), "-o", "-4", "addr", "show", "dev", "eth0");
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void twentyPodsOnOneNodeReachEachOther() {
        List<CniNode.Pod> all = new ArrayList<>();
        List<String> addresses = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < 20; i++) {
            CniNode.Pod pod = pod("web" + i);
            JsonNode result = runtime.add(list, pod.eth0());
            all.add(pod);
            addresses.add(CniNode.address(result));

            assertEquals("1.1.0", result.path("cniVersion").asText(), result.toString());
            JsonNode ip = result.path("ips").path(0);
            assertTrue(ip.path("address").asText().startsWith("10.244.1."), result.toString());
            assertEquals(CniNode.GATEWAY, ip.path("gateway").asText(), result.toString());
            JsonNode iface = result.path("interfaces").path(ip.path("interface").asInt(-1));
            assertEquals("eth0", iface.path("name").asText(), "ips[0].interface names eth0: " + result);
            assertEquals(pod.netnsPath(), iface.path("sandbox").asText(), result.toString());
            // Witness: the address is on the pod's eth0.
            assertTrue(ipOf(pod).contains(" " + addresses.get(i) + "/"), ipOf(pod));
        }
        System.out.printf("20 ADDs through bin/vesicle-cni in %.1f s%n", (System.nanoTime() - start) / 1e9);
        assertEquals(20, new HashSet<>(addresses).size(), "distinct addresses: " + addresses);

        // Every ordered pair: 380 pings, each answered within its bound (ping's exit code).
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            for (int j = 0; j < all.size(); j++) {
                if (j != i && !Shell.awaitPing(all.get(i).netns(), addresses.get(j), PING_WITHIN)) {
                    failures.add(all.get(i).name() + " -> " + addresses.get(j));
                }
            }
        }
        System.out.println("pod pairs pinged: 380, unanswered: " + failures.size());
        assertTrue(failures.isEmpty(), "unanswered pings: " + failures);

        List<Messages.Endpoint> endpoints = node.agent().client().endpoints();
        assertEquals(20, endpoints.size());
        Set<String> names = new HashSet<>();
        endpoints.forEach(e -> names.add(e.podNamespace() + "/" + e.podName()));
        assertTrue(names.contains("default/web0") && names.contains("default/web19"), names.toString());
        NodeCensus full = census();
        System.out.println("with 20 pods:\n" + full);
        assertTrue(full.holds(20), full.toString());

        for (CniNode.Pod pod : all) {
            runtime.del(list, pod.eth0());
        }
        NodeCensus after = census();
        System.out.println("after 20 DELs:\n" + after);
        assertTrue(after.empty(), after.toString());
    }

    @Test
    void theNodeReachesItsPods() {
        // The kubelet's probes, host-network pods and host ports all go from the node to a pod.
        CniNode.Pod pod = pod("web");
        String ip = CniNode.address(runtime.add(list, pod.eth0()));
        // The node's own address (a real node has one on its uplink): the source of its packets.
        Shell.check("ip", "-n", node.netns(), "addr", "add", "192.168.77.1/32", "dev", "lo");
        boolean answered = Shell.awaitPing(node.netns(), ip, PING_WITHIN);
        String neigh = Shell.check("ip", "-n", node.netns(), "neigh", "show", ip);
        System.out.println("node -> pod " + ip + ": " + (answered ? "answered" : "no answer") + "; neighbour: "
                + neigh.strip());
        assertTrue(answered, "the node pings its pod " + ip + " (neighbour entry: " + neigh.strip() + ")");
    }

    @Test
    void delThenASecondDelSucceedAndLeaveNothing() {
        CniNode.Pod pod = pod("web");
        runtime.add(list, pod.eth0());
        assertTrue(census().holds(1));

        runtime.del(list, pod.eth0());
        NodeCensus after = census();
        assertTrue(after.empty(), after.toString());
        assertTrue(runtime.cachedResult(list, pod.eth0()).isEmpty(), "the runtime dropped its cache entry");

        // The second DEL comes without a cached result (prevResult), as libcni sends it.
        runtime.del(list, pod.eth0());
        assertTrue(census().empty());

        // DEL of an attachment never added, and DEL once the namespace is gone: both succeed.
        runtime.del(list, pod("never").eth0());
        CniNode.Pod gone = pod("gone");
        runtime.add(list, gone.eth0());
        Shell.check("ip", "netns", "del", gone.netns());
        pods.remove(gone.netns());
        runtime.del(list, gone.eth0());
        NodeCensus end = census();
        assertTrue(end.empty(), end.toString());
    }

    @Test
    void addWithAnExistingIfnameFailsAndChangesNothing() {
        CniNode.Pod pod = pod("web");
        Shell.check("ip", "-n", pod.netns(), "link", "add", "eth0", "type", "bridge");
        String before = Shell.check("ip", "-n", pod.netns(), "-d", "link", "show", "eth0");

        PluginException e = assertThrows(PluginException.class, () -> runtime.add(list, pod.eth0()));
        System.out.println("ADD onto an existing eth0: " + e.exec());

        assertNotEquals(0, e.exec().exitCode());
        assertEquals(101, e.code(), "the plugin's 'interface exists' (README, CNI error codes): " + e.exec());
        assertEquals(before, Shell.check("ip", "-n", pod.netns(), "-d", "link", "show", "eth0"),
                "the pod's eth0 is untouched");
        NodeCensus census = NodeCensus.take(node.agent(), List.of(), null);
        assertTrue(census.empty(), census.toString());
        assertTrue(runtime.cachedResult(list, pod.eth0()).isEmpty());

        // A second ADD of a live attachment finds its own eth0: it fails too, and the first stays intact.
        CniNode.Pod live = pod("live");
        JsonNode result = runtime.add(list, live.eth0());
        PluginException again = assertThrows(PluginException.class, () -> runtime.add(list, live.eth0()));
        System.out.println("second ADD of a live attachment: " + again.exec());
        assertEquals(101, again.code(), again.exec().toString());
        runtime.check(list, live.eth0());
        assertTrue(ipOf(live).contains(" " + CniNode.address(result) + "/"));
        assertTrue(NodeCensus.take(node.agent(), List.of(), null).holds(1));
    }

    @Test
    void checkCatchesARemovedRoute() {
        CniNode.Pod pod = pod("web");
        runtime.add(list, pod.eth0());
        runtime.check(list, pod.eth0());

        String defaultRoute = Shell.check("ip", "-n", pod.netns(), "-4", "route", "show", "default").strip();
        assertTrue(defaultRoute.startsWith("default via " + CniNode.GATEWAY), defaultRoute);
        Shell.check("ip", "-n", pod.netns(), "route", "del", "default");

        PluginException e = assertThrows(PluginException.class, () -> runtime.check(list, pod.eth0()));
        System.out.println("CHECK without the default route: " + e.exec());
        assertEquals(102, e.code(), "the plugin's 'check failed' (README, CNI error codes): " + e.exec());

        // Put back exactly as it was: CHECK is content again.
        List<String> restore = new ArrayList<>(List.of("ip", "-n", pod.netns(), "route", "add"));
        restore.addAll(List.of(defaultRoute.split("\\s+")));
        Shell.check(restore.toArray(String[]::new));
        runtime.check(list, pod.eth0());
    }

    @Test
    void gcRemovesAStaleAttachmentAndKeepsTheValidOnes() {
        CniNode.Pod keep = pod("keep");
        CniNode.Pod stale = pod("stale");
        JsonNode kept = runtime.add(list, keep.eth0());
        JsonNode lost = runtime.add(list, stale.eth0());
        // The runtime lost track of the second one (its cache is gone, as after a crash of its
        // state): only the plugin's GC can find it.
        runtime.forget(list, stale.eth0());
        assertTrue(census().holds(2));

        runtime.gc(list, List.of(keep.eth0()));

        NodeCensus after = census();
        System.out.println("after GC with one valid attachment of two:\n" + after);
        assertTrue(after.holds(1), after.toString());
        assertEquals(List.of(), KernelView.links(stale.netns()), "the stale pod's eth0 went with its veth");
        assertTrue(node.agent().client().endpoint(stale.containerID(), "eth0").isEmpty());
        assertTrue(node.agent().client().endpoint(keep.containerID(), "eth0").isPresent());
        runtime.check(list, keep.eth0());
        assertTrue(ipOf(keep).contains(" " + CniNode.address(kept) + "/"));
        // The stale one's address is free again: a new pod may get it.
        assertEquals(1, node.agent().status().path("ipam").path("allocated").asInt());
        System.out.println("stale address released: " + CniNode.address(lost));
    }

    @Test
    void versionAndStatusAnswerAndAnAgentDownIsTryAgainLater() {
        CniRuntime.Exec version = runtime.exec("vesicle", Map.of("CNI_COMMAND", "VERSION"),
                "{\"cniVersion\":\"1.1.0\"}".getBytes(), null);
        assertTrue(version.ok(), version.toString());
        JsonNode supported = version.json().path("supportedVersions");
        for (String v : List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")) {
            assertTrue(supported.toString().contains("\"" + v + "\""), v + " in " + version.stdout());
        }

        runtime.status(list);

        node.agent().kill();
        PluginException status = assertThrows(PluginException.class, () -> runtime.status(list));
        assertEquals(50, status.code(), status.exec().toString());
        CniNode.Pod pod = pod("web");
        PluginException add = assertThrows(PluginException.class, () -> runtime.add(list, pod.eth0()));
        assertEquals(11, add.code(), add.exec().toString());
        assertEquals(List.of(), KernelView.links(pod.netns()), "only lo in the pod");

        node.agent().start();
        runtime.status(list);
        runtime.add(list, pod.eth0());
        runtime.del(list, pod.eth0());
        assertTrue(census().empty());
    }
}
