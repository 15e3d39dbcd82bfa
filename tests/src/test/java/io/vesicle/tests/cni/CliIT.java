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
import java.nio.file.Path;
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

    Shell.Result apiOk(String... args) {
        Shell.Result result = api(args);
        assertEquals(0, result.exitCode(), result.toString());
        return result;
    }

    /** bpftool's description of a pinned map: id, type, bytes_key, bytes_value, max_entries. */
    JsonNode bpftoolShow(String map) {
        return json("bpftool", "-j", "map", "show", "pinned", node.agent().pinRoot().resolve(map).toString());
    }

    @Test
    void mapListMatchesWhatBpftoolShowsOfEachPinnedMap() {
        JsonNode maps = json(apiOk("map", "list", "-o", "json").stdout());
        List<String> names = new ArrayList<>();
        for (JsonNode m : maps) {
            String name = m.path("name").asText();
            names.add(name);
            JsonNode kernel = bpftoolShow(name);
            assertEquals(kernel.path("id").asInt(), m.path("id").asInt(), name);
            assertEquals(kernel.path("type").asText(), m.path("type").asText(), name);
            assertEquals(kernel.path("bytes_key").asInt(), m.path("keySize").asInt(), name);
            assertEquals(kernel.path("bytes_value").asInt(), m.path("valueSize").asInt(), name);
            assertEquals(kernel.path("max_entries").asInt(), m.path("maxEntries").asInt(), name);
            assertEquals(node.agent().pinRoot().resolve(name).toString(), m.path("pin").asText());
        }
        assertTrue(names.containsAll(List.of(DatapathMaps.ENDPOINTS, DatapathMaps.ENDPOINTS_BY_IFINDEX,
                DatapathMaps.METRICS, DatapathMaps.IPCACHE, DatapathMaps.EVENTS, DatapathMaps.EVENTS_CONFIG,
                DatapathMaps.EVENTS_LOST)), names.toString());
        for (String stable : List.of(DatapathMaps.ENDPOINTS, DatapathMaps.ENDPOINTS_BY_IFINDEX, DatapathMaps.IPCACHE,
                DatapathMaps.EVENTS_CONFIG)) {
            long entries = -2;
            for (JsonNode m : maps) {
                if (m.path("name").asText().equals(stable)) {
                    entries = m.path("entries").asLong();
                }
            }
            assertEquals(bpftool(stable).size(), entries, "entries of " + stable);
        }
        Shell.Result table = apiOk("map", "list");
        assertEquals(maps.size(), rows(table.stdout()).size(), table.stdout());
    }

    @Test
    void mapDumpDecodesTheEndpointEntriesBpftoolShows() {
        JsonNode dumped = json(apiOk("map", "dump", DatapathMaps.ENDPOINTS, "-o", "json").stdout());
        Map<String, JsonNode> byAddress = new HashMap<>();
        dumped.forEach(e -> byAddress.put(e.path("key").asText(), e.path("value")));
        List<JsonNode> kernel = bpftool(DatapathMaps.ENDPOINTS);
        assertEquals(kernel.size(), byAddress.size(), dumped.toString());
        for (JsonNode entry : kernel) {
            JsonNode v = entry.path("value");
            String address = dotted(entry.path("key").path("addr").path("ip6")).replaceAll("(\\.0){12}$", "");
            JsonNode ours = byAddress.get(address);
            assertTrue(ours != null, address + " dumped: " + dumped);
            assertEquals(v.path("endpoint_id").asInt(), ours.path("endpointId").asInt());
            assertEquals(v.path("ifindex").asInt(), ours.path("ifindex").asInt());
            assertEquals(v.path("identity").asInt(), ours.path("identity").asInt());
            assertEquals(mac(v.path("mac")), ours.path("mac").asText());
            assertEquals(mac(v.path("node_mac")), ours.path("nodeMac").asText());
        }
        Shell.Result table = apiOk("map", "dump", DatapathMaps.ENDPOINTS);
        assertEquals(kernel.size(), rows(table.stdout()).size(), table.stdout());

        Shell.Result unknown = api("map", "dump", "vsl_nothing");
        assertEquals(1, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.stderr().contains("no datapath map vsl_nothing") && unknown.stderr().contains(
                DatapathMaps.ENDPOINTS), unknown.toString());
        Shell.Result ring = api("map", "dump", DatapathMaps.EVENTS);
        assertEquals(1, ring.exitCode(), ring.toString());
        assertTrue(ring.stderr().contains("vesicle monitor"), ring.toString());
    }

    @Test
    void metricsThroughTheAgentPrintTheCountersBpftoolSums() {
        Map<String, Long> before = bpftoolPackets();
        JsonNode counters = json(apiOk("metrics", "-o", "json").stdout());
        Map<String, Long> after = bpftoolPackets();
        assertTrue(counters.size() > 0, counters.toString());
        for (JsonNode c : counters) {
            String key = c.path("reason").asText() + " " + c.path("direction").asText();
            long printed = c.path("packets").asLong();
            assertTrue(before.getOrDefault(key, 0L) <= printed && printed <= after.get(key), key + ": printed "
                    + printed + ", bpftool " + before.get(key) + ".." + after.get(key));
            assertEquals(io.vesicle.maps.Reason.of(io.vesicle.maps.Reason.valueOf(c.path("reason").asText()
                    .toUpperCase()).code()).isDrop(), c.path("drop").asBoolean(), key);
        }
    }

    @Test
    void ipcacheListDecodesWhatIsInTheKernelsTrie() {
        Path pin = node.agent().pinRoot().resolve(DatapathMaps.IPCACHE);
        // 10.245.0.0/24 (prefixlen 32 + 24) -> identity 6 (remote node), behind 10.0.0.2, pod-CIDR flag.
        String[] key = "38 00 00 00 04 00 00 00 0a f5 00 00 00 00 00 00 00 00 00 00 00 00 00 00".split(" ");
        String[] value = "06 00 00 00 0a 00 00 02 01 00 00 00".split(" ");
        List<String> update = new ArrayList<>(List.of("bpftool", "map", "update", "pinned", pin.toString(), "key",
                "hex"));
        update.addAll(List.of(key));
        update.addAll(List.of("value", "hex"));
        update.addAll(List.of(value));
        Shell.check(update.toArray(String[]::new));
        try {
            JsonNode entries = json(apiOk("ipcache", "list", "-o", "json").stdout());
            assertEquals(bpftool(DatapathMaps.IPCACHE).size(), entries.size(), entries.toString());
            JsonNode ours = null;
            for (JsonNode e : entries) {
                if (e.path("prefix").asText().equals("10.245.0.0/24")) {
                    ours = e;
                }
            }
            assertTrue(ours != null, entries.toString());
            assertEquals(6, ours.path("identity").asInt());
            assertEquals("10.0.0.2", ours.path("tunnelEndpoint").asText());
            assertEquals("pod-cidr", ours.path("flags").get(0).asText());
            String table = apiOk("ipcache", "list").stdout();
            assertTrue(table.lines().anyMatch(l -> l.trim().split("\\s+").length == 4
                    && l.startsWith("10.245.0.0/24") && l.contains(" 6 ") && l.contains("10.0.0.2")), table);
        } finally {
            List<String> delete = new ArrayList<>(List.of("bpftool", "map", "delete", "pinned", pin.toString(),
                    "key", "hex"));
            delete.addAll(List.of(key));
            Shell.check(delete.toArray(String[]::new));
        }
    }

    @Test
    void identityListHoldsTheReservedIdentitiesTheEndpointsCarry() {
        JsonNode identities = json(apiOk("identity", "list", "-o", "json").stdout());
        Map<Integer, String> byId = new HashMap<>();
        identities.forEach(i -> byId.put(i.path("id").asInt(), i.path("name").asText()));
        assertEquals("init", byId.get(5));
        assertEquals("world", byId.get(2));
        for (JsonNode entry : bpftool(DatapathMaps.ENDPOINTS)) {
            int identity = entry.path("value").path("identity").asInt();
            assertTrue(byId.containsKey(identity), "identity " + identity + " of an endpoint is listed: " + byId);
        }
        assertEquals(identities.size(), rows(apiOk("identity", "list").stdout()).size());
    }

    @Test
    void policyGetSaysThereIsNoPolicyYet() {
        assertTrue(apiOk("policy", "get").stdout().startsWith("no policy yet"));
        JsonNode json = json(apiOk("policy", "get", "-o", "json").stdout());
        assertFalse(json.path("enforced").asBoolean());
        assertEquals(0, json.path("policies").size());
    }

    @Test
    void endpointListAsJsonMatchesTheLinks() {
        JsonNode endpoints = json(apiOk("endpoint", "list", "-o", "json").stdout());
        assertTrue(endpoints.size() >= 2, endpoints.toString());
        for (CniNode.Pod pod : List.of(a, b)) {
            JsonNode ours = null;
            for (JsonNode e : endpoints) {
                if (e.path("containerID").asText().equals(pod.containerID())) {
                    ours = e;
                }
            }
            assertTrue(ours != null, pod.containerID() + " in " + endpoints);
            assertEquals(link(pod.netns(), "eth0").path("address").asText(), ours.path("mac").asText());
            assertEquals(link(node.netns(), ours.path("hostIf").asText()).path("address").asText(),
                    ours.path("hostMac").asText());
            assertEquals("default/" + pod.name(), ours.path("podNamespace").asText() + "/"
                    + ours.path("podName").asText());
        }
    }

    @Test
    void statusAsATableNamesTheNodeAndProgram() {
        String table = apiOk("status", "-o", "table").stdout();
        assertTrue(table.lines().anyMatch(l -> l.matches("node\\s+" + node.agent().nodeName())), table);
        String hostIf = node.agent().client().endpoint(a.containerID(), "eth0").orElseThrow().hostIf();
        assertTrue(table.lines().anyMatch(l -> l.matches("datapath.programId\\s+" + tcProgramId(hostIf))), table);
    }

    @Test
    void eventsSwitchesWhatTheDatapathSendsInItsMap() {
        try {
            JsonNode status = json(apiOk("events", "--traces", "on", "--trace-sample", "7", "-o", "json").stdout());
            assertTrue(status.path("settings").path("traces").asBoolean(), status.toString());
            JsonNode config = bpftool(DatapathMaps.EVENTS_CONFIG).get(0).path("value");
            assertEquals(7, config.path("trace_sample").asInt(), config.toString());
            assertEquals(0x7, config.path("flags").asInt(), "drops, traces and policy verdicts: " + config);
        } finally {
            apiOk("events", "--traces", "off", "--trace-sample", "1");
        }
        assertEquals(0x5, bpftool(DatapathMaps.EVENTS_CONFIG).get(0).path("value").path("flags").asInt());
        Shell.Result bad = api("events", "--trace-sample", "0");
        assertEquals(1, bad.exitCode(), bad.toString());
        assertTrue(bad.stderr().contains("traceSample"), bad.toString());
    }
}
