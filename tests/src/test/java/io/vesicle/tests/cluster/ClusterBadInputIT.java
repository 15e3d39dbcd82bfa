package io.vesicle.tests.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vesicle.cluster.Cidr;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.KernelView;
import io.vesicle.tests.support.Poll;
import io.vesicle.tests.support.Shell;
import io.vesicle.tests.support.Topology;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Entries in etcd that no agent may act on: malformed JSON, a node whose pod CIDR overlaps this
 * node's, a pod whose address lies in this node's pod CIDR, and this node's own record rewritten
 * by someone else. Each is refused with a log line naming its key, and no node's maps or routes
 * change because of it. A legitimate change (a pod wired) afterwards still reaches the other node:
 * the watch went past the bad entries, so their absence from the maps is a verdict, not a delay.
 */
@Timeout(240)
class ClusterBadInputIT {
    private static final Duration WITHIN = Duration.ofSeconds(30);

    @Test
    void badStoreEntriesAreRefusedNamingTheKeyAndChangeNoMap() {
        try (Topology topology = Topology.start(Topology.Options.of(Topology.Mode.OVERLAY, 2))) {
            topology.addPods(1);
            topology.awaitConverged(WITHIN);
            Topology.Node one = topology.node(1);
            Topology.Node two = topology.node(2);
            Map<String, String> before = views(topology, null);

            String nodes = Topology.ETCD_PREFIX + "/nodes/";
            String twosPods = Topology.ETCD_PREFIX + "/pods/" + two.name() + "/default/";
            // key -> value, and which nodes must say they refused it (every node must leave its maps alone).
            Map<String, String> bad = new LinkedHashMap<>();
            Map<String, List<Topology.Node>> refusing = new LinkedHashMap<>();
            bad.put(nodes + "vt-malformed", "{\"name\": \"vt-malformed\", \"underlayIP\": ");
            refusing.put(nodes + "vt-malformed", List.of(one, two));
            // The whole cluster CIDR: overlaps every node's pod CIDR.
            bad.put(nodes + "vt-overlapping", node("vt-overlapping", "10.77.0.99", Topology.CLUSTER_CIDR));
            refusing.put(nodes + "vt-overlapping", List.of(one, two));
            bad.put(twosPods + "vt-malformed", "][");
            refusing.put(twosPods + "vt-malformed", List.of(one));
            // A pod of node 2 (by its key) whose address lies in node 1's pod CIDR; node 2's own pods
            // come from its own state, never from the store, so neither node may take it.
            String squatted = Cidr.parse(one.podCIDR()).address(200).getHostAddress();
            bad.put(twosPods + "vt-squatter", pod("vt-squatter", squatted, two.name()));
            refusing.put(twosPods + "vt-squatter", List.of(one));
            Map<Topology.Node, Integer> logMarks = logMarks(topology);
            bad.forEach((key, value) -> topology.store().put(key, value));
            awaitRefusals(refusing, logMarks);
            // The barrier: a pod wired after the bad entries reaches the other node.
            Topology.Pod barrier = one.addPod("n1barrier");
            topology.awaitConverged(WITHIN);
            Map<String, String> after = views(topology, barrier.ip());
            assertEquals(before, after, "maps or routes changed by bad store entries");
            bad.keySet().forEach(key -> topology.store().delete(key));

            // Node 1's own record rewritten by someone else (same lease, another address and CIDR):
            // node 1 keeps what its own state says. The others follow the store, by design.
            String ownKey = nodes + one.name();
            String own = topology.store().get(ownKey);
            long lease = topology.store().leaseOf(ownKey);
            // Its own record is refused at every listing too: only lines from now on count.
            logMarks = logMarks(topology);
            topology.store().put(ownKey, node(one.name(), "10.77.0.98", "10.244.250.0/24"), lease);
            awaitRefusals(Map.of(ownKey, List.of(one)), logMarks);
            assertEquals(after.get(one.name()), views(topology, barrier.ip()).get(one.name()),
                    "node 1's maps or routes changed by a record claiming its name");
            topology.store().put(ownKey, own, lease);
        }
    }

    /** Waits until each node named for a key has logged a line naming that key after its mark. */
    private static void awaitRefusals(Map<String, List<Topology.Node>> refusing, Map<Topology.Node, Integer> marks) {
        refusing.forEach((key, refusers) -> {
            for (Topology.Node node : refusers) {
                Poll.until(node + " logging its refusal of " + key, WITHIN,
                        () -> log(node).substring(marks.get(node)).contains(key));
            }
        });
    }

    /** How much each node's log holds now. */
    private static Map<Topology.Node, Integer> logMarks(Topology topology) {
        Map<Topology.Node, Integer> marks = new LinkedHashMap<>();
        topology.nodes().forEach(n -> marks.put(n, log(n).length()));
        return marks;
    }

    /**
     * Each node's ipcache, endpoint maps and IPv4 routes as the kernel shows them, one line each,
     * leaving out lines that mention the address left out (null: none).
     */
    private static Map<String, String> views(Topology topology, String leftOut) {
        Pattern mention = leftOut == null ? null
                : Pattern.compile("(?<![\\d.])" + Pattern.quote(leftOut) + "(?![\\d])");
        Map<String, String> views = new LinkedHashMap<>();
        for (Topology.Node node : topology.nodes()) {
            List<String> lines = new ArrayList<>();
            node.ipcache().forEach((prefix, entry) -> lines.add("ipcache " + prefix + " " + entry));
            KernelView.endpointEntries(node.netns(), node.agent().pinRoot().resolve(DatapathMaps.ENDPOINTS), false)
                    .forEach(e -> lines.add("endpoint " + e));
            for (String route : Shell.check("ip", "-n", node.netns(), "-4", "route", "show", "table", "all")
                    .split("\n")) {
                lines.add("route " + route.strip());
            }
            views.put(node.name(), String.join("\n", lines.stream()
                    .filter(l -> mention == null || !mention.matcher(l).find()).toList()));
        }
        return views;
    }

    private static String log(Topology.Node node) {
        try {
            return Files.readString(node.agent().log());
        } catch (IOException e) {
            return "";
        }
    }

    private static String node(String name, String underlayIP, String podCIDR) {
        ObjectNode json = CniRuntime.JSON.createObjectNode();
        json.put("name", name);
        json.put("underlayIP", underlayIP);
        json.put("podCIDR", podCIDR);
        return json.toString();
    }

    private static String pod(String name, String ip, String nodeName) {
        ObjectNode json = CniRuntime.JSON.createObjectNode();
        json.put("namespace", "default");
        json.put("name", name);
        json.put("ip", ip);
        json.put("nodeName", nodeName);
        json.putObject("labels");
        return json.toString();
    }
}
