package io.vesicle.tests.cni;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.tests.support.CniNode;
import io.vesicle.tests.support.CniNodeFixture;
import io.vesicle.tests.support.CniRuntime;
import io.vesicle.tests.support.Repo;
import io.vesicle.tests.support.Shell;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * {@code bin/vesicle}'s commands, exec'd in the node namespace as an operator on the node would,
 * against the node's agent with two pods wired, each output checked against the kernel's view
 * (ip in the namespaces, tc, bpftool on the pinned maps) rather than against the agent's API.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class CliIT extends CniNodeFixture {
    CniNode.Pod a;
    CniNode.Pod b;
    String addressA;
    String addressB;

    @BeforeAll
    void wirePods() {
        a = node.pod("a");
        b = node.pod("b");
        addressA = CniNode.address(runtime.add(list, a.eth0()));
        addressB = CniNode.address(runtime.add(list, b.eth0()));
    }

    /** bin/vesicle with args in the node namespace; --api-socket/--pin-root appended by the callers. */
    Shell.Result vesicle(String... args) {
        List<String> command = new ArrayList<>(Shell.inNetns(node.netns(), Repo.vesicle().toString()));
        command.addAll(List.of(args));
        return Shell.run(60, command);
    }

    Shell.Result api(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--api-socket", node.agent().socket().toString()));
        return vesicle(all.toArray(String[]::new));
    }

    Shell.Result datapath(String command) {
        return vesicle(command, "--pin-root", node.agent().pinRoot().toString());
    }

    static JsonNode json(String text) {
        try {
            return CniRuntime.JSON.readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    static JsonNode json(String... command) {
        return json(Shell.check(command));
    }

    /** ip -j link show dev in a namespace: ifindex, address (MAC), ... */
    static JsonNode link(String netns, String dev) {
        return json(Shell.inNetns(netns, "ip", "-j", "link", "show", "dev", dev).toArray(String[]::new)).get(0);
    }

    /** The pod's address on eth0 as the kernel has it, in CIDR form without the agent's prefix. */
    static String podAddress(CniNode.Pod pod) {
        JsonNode addr = json(Shell.inNetns(pod.netns(), "ip", "-4", "-j", "addr", "show", "dev", "eth0")
                .toArray(String[]::new)).get(0).path("addr_info").get(0);
        return addr.path("local").asText();
    }

    /** The program id tc shows on the ingress of a host-side veth. */
    int tcProgramId(String hostIf) {
        for (JsonNode filter : json(Shell.inNetns(node.netns(), "tc", "-j", "filter", "show", "dev", hostIf,
                "ingress").toArray(String[]::new))) {
            JsonNode prog = filter.path("options").path("prog");
            if (prog.has("id")) {
                return prog.get("id").asInt();
            }
        }
        throw new AssertionError("no BPF filter on the ingress of " + hostIf);
    }

    /** bpftool's entries of a pinned map, formatted by BTF. */
    List<JsonNode> bpftool(String map) {
        List<JsonNode> entries = new ArrayList<>();
        json("bpftool", "-j", "map", "dump", "pinned", node.agent().pinRoot().resolve(map).toString())
                .forEach(e -> entries.add(e.path("formatted")));
        return entries;
    }

    static String dotted(JsonNode bytes) {
        List<String> parts = new ArrayList<>();
        bytes.forEach(b -> parts.add(String.valueOf(b.asInt() & 0xff)));
        return String.join(".", parts);
    }

    static String mac(JsonNode bytes) {
        List<String> parts = new ArrayList<>();
        bytes.forEach(b -> parts.add(String.format("%02x", b.asInt() & 0xff)));
        return String.join(":", parts);
    }

    /** The rows of a table the CLI printed, header left out, split on blanks. */
    static List<String[]> rows(String table) {
        return table.lines().skip(1).filter(l -> !l.isBlank()).map(l -> l.trim().split("\\s+")).toList();
    }

    @Test
    void statusMatchesTheKernel() {
        Shell.Result result = api("status");
        assertEquals(0, result.exitCode(), result.toString());
        JsonNode status = json(result.stdout());

        assertEquals(node.agent().nodeName(), status.path("node").asText());
        assertEquals(CniNode.POD_CIDR, status.path("podCIDR").asText());
        long veths = Shell.check(Shell.inNetns(node.netns(), "ip", "-o", "link", "show", "type", "veth")
                .toArray(String[]::new)).lines().filter(l -> !l.isBlank()).count();
        assertEquals(veths, status.path("endpoints").asLong(), "endpoints = veths in the node namespace");
        assertEquals(bpftool(DatapathMaps.ENDPOINTS).size(), status.path("ipam").path("allocated").asInt(),
                "allocated = endpoint entries in the map");
        assertEquals(node.agent().pinRoot().toString(), status.path("datapath").path("pinRoot").asText());
        String hostIf = node.agent().client().endpoint(a.containerID(), "eth0").orElseThrow().hostIf();
        assertEquals(tcProgramId(hostIf), status.path("datapath").path("programId").asInt(),
                "the program tc runs on a pod's veth");
    }

    @Test
    void endpointListShowsWhatThePodsHave() {
        Shell.Result result = api("endpoint", "list");
        assertEquals(0, result.exitCode(), result.toString());
        Map<String, String[]> byContainer = rows(result.stdout()).stream()
                .collect(Collectors.toMap(r -> r[5], r -> r));

        for (CniNode.Pod pod : List.of(a, b)) {
            String[] row = byContainer.get(pod.containerID());
            assertTrue(row != null, pod.containerID() + " listed: " + result.stdout());
            link(node.netns(), row[1]); // the host side exists in the node namespace
            assertEquals(podAddress(pod), row[2].substring(0, row[2].indexOf('/')), "address on the pod's eth0");
            assertEquals(link(pod.netns(), "eth0").path("address").asText(), row[3], "MAC of the pod's eth0");
            assertEquals("eth0", row[4]);
        }
    }

    @Test
    void endpointGetShowsWhatTheKernelHas() {
        Shell.Result result = api("endpoint", "get", b.containerID(), "eth0");
        assertEquals(0, result.exitCode(), result.toString());
        JsonNode endpoint = json(result.stdout());

        assertEquals(b.containerID(), endpoint.path("containerID").asText());
        assertEquals(addressB, podAddress(b));
        assertEquals(addressB + "/24", endpoint.path("address").asText());
        assertEquals(link(b.netns(), "eth0").path("address").asText(), endpoint.path("mac").asText());
        assertEquals(link(node.netns(), endpoint.path("hostIf").asText()).path("address").asText(),
                endpoint.path("hostMac").asText());
    }

    @Test
    void endpointDeleteRemovesThePodsVethAndEntries() {
        CniNode.Pod c = node.pod("c");
        String address = CniNode.address(runtime.add(list, c.eth0()));
        String hostIf = node.agent().client().endpoint(c.containerID(), "eth0").orElseThrow().hostIf();

        Shell.Result deleted = api("endpoint", "delete", c.containerID(), "eth0");
        assertEquals(0, deleted.exitCode(), deleted.toString());
        assertTrue(json(deleted.stdout()).path("deleted").asBoolean(), deleted.stdout());
        assertFalse(Shell.run(Shell.inNetns(node.netns(), "ip", "link", "show", "dev", hostIf)
                .toArray(String[]::new)).ok(), hostIf + " is gone");
        assertTrue(bpftool(DatapathMaps.ENDPOINTS).stream()
                .noneMatch(e -> dotted(e.path("key").path("addr").path("ip6")).startsWith(address + ".")),
                address + " is no longer in " + DatapathMaps.ENDPOINTS);

        Shell.Result again = api("endpoint", "delete", c.containerID(), "eth0");
        assertEquals(0, again.exitCode(), again.toString());
        assertFalse(json(again.stdout()).path("deleted").asBoolean(), "nothing left to delete: " + again.stdout());
    }

    @Test
    void endpointsListsTheMapEntriesBpftoolShows() {
        Shell.Result result = datapath("endpoints");
        assertEquals(0, result.exitCode(), result.toString());
        Map<String, String> printed = new HashMap<>();
        for (String[] row : rows(result.stdout())) {
            printed.put(row[1], String.join(" ", row[0], row[1], row[2], row[3], row[4], row[5]));
        }

        List<JsonNode> entries = bpftool(DatapathMaps.ENDPOINTS);
        assertEquals(entries.size(), printed.size(), result.stdout());
        for (JsonNode entry : entries) {
            JsonNode v = entry.path("value");
            String address = dotted(entry.path("key").path("addr").path("ip6")).replaceAll("(\\.0){12}$", "");
            assertEquals(String.join(" ", v.path("endpoint_id").asText(), address, mac(v.path("mac")),
                    v.path("ifindex").asText(), mac(v.path("node_mac")), v.path("identity").asText()),
                    printed.get(address));
        }
        for (CniNode.Pod pod : List.of(a, b)) {
            String hostIf = node.agent().client().endpoint(pod.containerID(), "eth0").orElseThrow().hostIf();
            String ifindex = link(node.netns(), hostIf).path("ifindex").asText();
            assertEquals(ifindex, printed.get(podAddress(pod)).split(" ")[3], "ifindex of " + hostIf);
        }
    }

    @Test
    void metricsPrintsTheCountersBpftoolSums() {
        // Traffic first, so that forwarded has a count: a ping from a to b, retried within a bound.
        boolean answered = false;
        for (int i = 0; i < 10 && !answered; i++) {
            answered = Shell.run(Shell.inNetns(a.netns(), "ping", "-c", "1", "-W", "1", addressB)
                    .toArray(String[]::new)).ok();
        }
        assertTrue(answered, "a reaches b");
        Map<String, Long> before = bpftoolPackets();
        Shell.Result result = datapath("metrics");
        Map<String, Long> after = bpftoolPackets();
        assertEquals(0, result.exitCode(), result.toString());

        Map<String, Long> printed = new HashMap<>();
        for (String[] row : rows(result.stdout())) {
            printed.put(row[0] + " " + row[1], Long.parseLong(row[2]));
        }
        assertTrue(printed.getOrDefault("forwarded egress", 0L) > 0, result.stdout());
        // The pods' kernels send packets of their own meanwhile: each count lies between two reads.
        assertTrue(after.keySet().containsAll(printed.keySet()), printed + " vs " + after);
        for (Map.Entry<String, Long> e : printed.entrySet()) {
            long low = before.getOrDefault(e.getKey(), 0L);
            long high = after.get(e.getKey());
            assertTrue(low <= e.getValue() && e.getValue() <= high, e.getKey() + ": printed " + e.getValue()
                    + ", bpftool " + low + ".." + high);
        }
    }

    /** Packets per "reason direction" summed over CPUs, from bpftool. */
    Map<String, Long> bpftoolPackets() {
        Map<String, Long> packets = new HashMap<>();
        for (JsonNode entry : bpftool(DatapathMaps.METRICS)) {
            int code = entry.path("key").path("reason").asInt();
            String reason = io.vesicle.maps.Reason.of(code).label();
            String direction = entry.path("key").path("direction").asInt() == 0 ? "ingress" : "egress";
            long sum = 0;
            for (JsonNode cpu : entry.path("values")) {
                sum += cpu.path("value").path("packets").asLong();
            }
            packets.put(reason + " " + direction, sum);
        }
        return packets;
    }

    @Test
    void usageErrorsExitTwoWithAClearMessage() {
        Shell.Result none = vesicle();
        assertEquals(2, none.exitCode(), none.toString());
        assertTrue(none.stdout().startsWith("usage: vesicle"), none.toString());

        Shell.Result unknown = vesicle("frobnicate");
        assertEquals(2, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.stderr().contains("unknown command 'frobnicate'"), unknown.toString());

        Shell.Result missing = api("endpoint", "get", a.containerID());
        assertEquals(2, missing.exitCode(), missing.toString());
        assertTrue(missing.stderr().contains("CONTAINER_ID and IFNAME are required"), missing.toString());

        Shell.Result badVerb = api("endpoint", "frob");
        assertEquals(2, badVerb.exitCode(), badVerb.toString());
        assertTrue(badVerb.stderr().contains("unknown verb 'frob'"), badVerb.toString());

        Shell.Result badOption = vesicle("status", "--no-such-option", "x");
        assertEquals(2, badOption.exitCode(), badOption.toString());
        assertTrue(badOption.stderr().contains("unknown option --no-such-option"), badOption.toString());
    }

    @Test
    void unreachableAgentOrUnknownEndpointExitOneNamingWhy() {
        String socket = network.tempDir("no-agent").resolve("vesicle.sock").toString();
        Shell.Result unreachable = vesicle("status", "--api-socket", socket);
        assertEquals(1, unreachable.exitCode(), unreachable.toString());
        assertTrue(unreachable.stderr().contains(socket) && unreachable.stderr().contains("did not answer"),
                unreachable.toString());
        assertTrue(unreachable.stdout().isEmpty(), unreachable.toString());

        Shell.Result unknown = api("endpoint", "get", "no-such-container", "eth0");
        assertEquals(1, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.stderr().contains("no endpoint no-such-container/eth0"), unknown.toString());
    }
}
