package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vesicle.maps.DatapathMaps;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.opentest4j.AssertionFailedError;

/**
 * A node as the kernel and the disk show it, read from outside the agent, to compare by content:
 * in the node's namespace and in the given pod namespaces (entered with {@code nsenter --net}
 * only) the links (name, kind, ifindex, MAC, MTU, up, master), their addresses, the IPv4 and IPv6
 * routes of every table, the qdiscs and tc filters of every link (program ids included, so a
 * replaced program shows); every pinned map's entries (bpftool); the pins; every file under the
 * agent's state directory (endpoint state and IPAM files) with its content. {@link #withAgentView}
 * adds what the agent's API says, for tests that also hold the agent to its word.
 *
 * <p>Left out because they move on their own: carrier and operational state, address lifetimes,
 * a route's {@code linkdown} flag, qdisc reference counts, and the entries of the counters map
 * ({@code vsl_metrics}: a pod's kernel sends IPv6 router solicitations and MLD reports by
 * itself, and every packet is counted).
 */
public final class NodeSnapshot {
    private static final ObjectMapper CANONICAL = new ObjectMapper()
            .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);
    /** Maps whose contents move with traffic (the event ring too: it holds records, not entries). */
    private static final Set<String> COUNTER_MAPS = Set.of(DatapathMaps.METRICS, DatapathMaps.EVENTS,
            DatapathMaps.EVENTS_LOST);
    private static final Set<String> VOLATILE_ROUTE_FIELDS = Set.of("expires", "cache");
    private static final Pattern PROGRAM_ID = Pattern.compile(
            "\"(id|tag)\":(\\d+|\"[0-9a-f]+\")|(\\w+):\\[\\d+\\]");

    /** What was seen, by where it was seen; a value may be empty when being there is the fact. */
    private final SortedMap<String, String> facts;

    private NodeSnapshot(SortedMap<String, String> facts) {
        this.facts = facts;
    }

    /**
     * The node of agent (its namespace, pins and state directory) and the namespaces given by a
     * label each ({@code "live" -> "/var/run/netns/..."}, or a {@code /proc/PID/ns/net} path).
     * The agent need not be running.
     */
    public static NodeSnapshot take(AgentProcess agent, Map<String, String> namespaces) {
        return take(agent.nodeNetns(), agent.pinRoot(), agent.stateDir(), namespaces);
    }

    /** The same for an agent known by its parts (one running in the test's own JVM). */
    public static NodeSnapshot take(String nodeNetns, Path pinRoot, Path stateDir, Map<String, String> namespaces) {
        SortedMap<String, String> facts = new TreeMap<>();
        Map<String, String> all = new LinkedHashMap<>();
        all.put("node", "/var/run/netns/" + nodeNetns);
        all.putAll(namespaces);
        all.forEach((label, path) -> namespace(facts, label, path));
        pins(facts, pinRoot);
        files(facts, stateDir);
        return new NodeSnapshot(facts);
    }

    /**
     * This snapshot with the ids and tags of the programs in tc filters masked: an agent started
     * again loads its program anew and replaces the old one in place, so after a restart only the
     * ids differ (also in tc's {@code bpf_name}, "from_container:[id]"). The program's name, kind,
     * handle and priority stay compared.
     */
    public NodeSnapshot withoutProgramIds() {
        SortedMap<String, String> masked = new TreeMap<>();
        facts.forEach((key, value) -> masked.put(key, key.contains(" filter ")
                ? PROGRAM_ID.matcher(value).replaceAll(m -> m.group(1) != null ? "\"" + m.group(1) + "\":\"*\""
                        : m.group(3) + ":[*]") : value));
        return new NodeSnapshot(masked);
    }

    /** This snapshot plus the agent's answers to GET /v1/endpoints and GET /v1/status. */
    public NodeSnapshot withAgentView(AgentProcess agent) {
        SortedMap<String, String> more = new TreeMap<>(facts);
        more.put("api GET /v1/endpoints", canonical(CniRuntime.JSON.valueToTree(agent.client().endpoints())));
        more.put("api GET /v1/status", canonical(agent.status()));
        return new NodeSnapshot(more);
    }

    /** This snapshot without the facts whose key starts with prefix (e.g. "file endpoints/x.json"). */
    public NodeSnapshot without(String prefix) {
        SortedMap<String, String> kept = new TreeMap<>(facts);
        kept.keySet().removeIf(key -> key.startsWith(prefix));
        return new NodeSnapshot(kept);
    }

    /** Fails, listing every difference (- before, + after), unless after is identical to before. */
    public static void assertSame(NodeSnapshot before, NodeSnapshot after, String what) {
        List<String> differences = before.differences(after);
        if (!differences.isEmpty()) {
            throw new AssertionFailedError(what + " changed the node (- before, + after):\n  "
                    + String.join("\n  ", differences));
        }
    }

    /** Lines "- fact" (only before, or its old value) and "+ fact" (only after, or its new value). */
    public List<String> differences(NodeSnapshot after) {
        List<String> out = new ArrayList<>();
        SortedMap<String, String> keys = new TreeMap<>(facts);
        keys.putAll(after.facts);
        for (String key : keys.keySet()) {
            String was = facts.get(key);
            String is = after.facts.get(key);
            if (Objects.equals(was, is)) {
                continue;
            }
            if (was != null) {
                out.add("- " + line(key, was));
            }
            if (is != null) {
                out.add("+ " + line(key, is));
            }
        }
        return out;
    }

    /** Facts whose key starts with prefix (e.g. "node link "), for assertions on one part. */
    public SortedMap<String, String> facts(String prefix) {
        return facts.subMap(prefix, prefix + Character.MAX_VALUE);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NodeSnapshot other && facts.equals(other.facts);
    }

    @Override
    public int hashCode() {
        return facts.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        facts.forEach((k, v) -> s.append(line(k, v)).append('\n'));
        return s.toString();
    }

    private static String line(String key, String value) {
        return value.isEmpty() ? key : key + " = " + value;
    }

    // ---- namespaces

    private static void namespace(SortedMap<String, String> facts, String label, String path) {
        for (JsonNode link : json(in(path, "ip", "-j", "-d", "link", "show"))) {
            boolean up = false;
            for (JsonNode flag : link.path("flags")) {
                up |= flag.asText().equals("UP");
            }
            facts.put(label + " link " + link.path("ifname").asText(), String.format(
                    "kind %s ifindex %d mac %s mtu %d %s master %s",
                    link.path("linkinfo").path("info_kind").asText(link.path("link_type").asText()),
                    link.path("ifindex").asInt(), link.path("address").asText("-"), link.path("mtu").asInt(),
                    up ? "up" : "down", link.path("master").asText("-")));
        }
        for (JsonNode link : json(in(path, "ip", "-j", "addr", "show"))) {
            for (JsonNode addr : link.path("addr_info")) {
                if (linkLocal6(addr.path("local").asText())) {
                    continue;
                }
                facts.put(label + " addr " + link.path("ifname").asText() + " " + addr.path("local").asText() + "/"
                        + addr.path("prefixlen").asText(), "scope " + addr.path("scope").asText());
            }
        }
        for (String family : List.of("-4", "-6")) {
            for (JsonNode route : json(in(path, "ip", family, "-j", "route", "show", "table", "all"))) {
                if (linkLocal6(route.path("dst").asText())) {
                    continue;
                }
                ObjectNode r = ((ObjectNode) route).deepCopy();
                VOLATILE_ROUTE_FIELDS.forEach(r::remove);
                if (r.path("flags").isArray()) {
                    List<JsonNode> kept = new ArrayList<>();
                    r.path("flags").forEach(f -> {
                        if (!f.asText().equals("linkdown")) {
                            kept.add(f);
                        }
                    });
                    r.putArray("flags").addAll(kept);
                }
                facts.put(label + " route " + canonical(r), "");
            }
        }
        tc(facts, label, path);
    }

    private static boolean linkLocal6(String address) {
        return address.toLowerCase(java.util.Locale.ROOT).startsWith("fe80:");
    }

    /** Every qdisc, and the filters of every qdisc that can hold some (clsact, ingress, classful). */
    private static void tc(SortedMap<String, String> facts, String label, String path) {
        for (JsonNode qdisc : json(in(path, "tc", "-j", "qdisc", "show"))) {
            String dev = qdisc.path("dev").asText();
            String kind = qdisc.path("kind").asText();
            ObjectNode q = ((ObjectNode) qdisc).deepCopy();
            q.remove("refcnt");
            facts.put(label + " tc " + dev + " qdisc " + qdisc.path("handle").asText(), canonical(q));
            List<String> parents = switch (kind) {
                case "clsact" -> List.of("ingress", "egress");
                case "ingress" -> List.of("ingress");
                case "noqueue" -> List.of();
                default -> List.of("parent " + qdisc.path("handle").asText());
            };
            for (String parent : parents) {
                List<String> command = new ArrayList<>(List.of("tc", "-j", "filter", "show", "dev", dev));
                command.addAll(List.of(parent.split(" ")));
                int i = 0;
                for (JsonNode filter : json(in(path, command.toArray(String[]::new)))) {
                    facts.put(label + " tc " + dev + " " + parent + " filter " + i++, canonical(filter));
                }
            }
        }
    }

    private static String[] in(String netnsPath, String... command) {
        List<String> full = new ArrayList<>(List.of("nsenter", "--net=" + netnsPath, "--"));
        full.addAll(List.of(command));
        return full.toArray(String[]::new);
    }

    // ---- pins and maps

    private static void pins(SortedMap<String, String> facts, Path pinRoot) {
        for (String pin : walk(pinRoot)) {
            Path file = pinRoot.resolve(pin);
            if (Files.isDirectory(file)) {
                facts.put("pin " + pin + "/", "");
                continue;
            }
            facts.put("pin " + pin, "");
            Shell.Result dump = Shell.run("bpftool", "-j", "map", "dump", "pinned", file.toString());
            if (!dump.ok()) {
                facts.put("pin " + pin, "not a map: " + dump.stderr().strip());
                continue;
            }
            if (COUNTER_MAPS.contains(file.getFileName().toString())) {
                continue;
            }
            for (JsonNode entry : json(dump.stdout())) {
                JsonNode shown = entry.has("formatted") ? entry.get("formatted") : entry;
                facts.put("map " + pin + " " + canonical(shown.path("key")), canonical(
                        shown.has("values") ? shown.get("values") : shown.path("value")));
            }
        }
    }

    // ---- files

    private static void files(SortedMap<String, String> facts, Path stateDir) {
        for (String name : walk(stateDir)) {
            Path file = stateDir.resolve(name);
            try {
                facts.put("file " + name + (Files.isDirectory(file) ? "/" : ""), Files.isRegularFile(file)
                        ? Files.readString(file, StandardCharsets.UTF_8).strip().replace("\n", "\\n") : "");
            } catch (IOException e) {
                facts.put("file " + name, "unreadable: " + e.getMessage());
            }
        }
    }

    /** Everything under dir, relative to it, dir itself left out; none when dir is absent. */
    private static List<String> walk(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(p -> !p.equals(dir)).map(p -> dir.relativize(p).toString()).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir, e);
        }
    }

    // ---- JSON

    private static JsonNode json(String[] command) {
        return json(Shell.check(command));
    }

    private static JsonNode json(String text) {
        try {
            return text.isBlank() ? CniRuntime.JSON.createArrayNode() : CniRuntime.JSON.readTree(text);
        } catch (IOException e) {
            throw new IllegalStateException("not JSON: " + text, e);
        }
    }

    /** JSON with object members sorted, so equal content prints equal. */
    private static String canonical(JsonNode node) {
        try {
            return CANONICAL.writeValueAsString(CANONICAL.treeToValue(node, Object.class));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
