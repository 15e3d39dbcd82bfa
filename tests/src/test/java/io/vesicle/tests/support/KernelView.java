package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.maps.DatapathMaps;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The datapath as the kernel shows it, read with the kernel's own tools from the node namespace
 * ({@code nsenter --net}): map entries dumped by bpftool and decoded here from their bytes (not
 * through the product's codecs), the tc filters on a device, the veths with their ifindexes. What
 * the agent says is compared against this, never the other way round.
 */
public final class KernelView {
    private static final Pattern FILTER = Pattern.compile(
            "pref (\\d+) bpf chain \\d+ handle (0x[0-9a-f]+) ([^\\s:]+)\\S* .*?\\bid (\\d+)");

    private KernelView() {
    }

    /**
     * One entry of an endpoint map ({@code struct endpoint_info}, 32 bytes, host order): key is the
     * pod address (endpoints map) or the ifindex (by-ifindex map), written as text.
     */
    public record EndpointEntry(String key, String address, int ifindex, int endpointId, int identity, int flags,
                                String mac, String nodeMac) {
        @Override
        public String toString() {
            return key + " -> " + address + " ifindex " + ifindex + " id " + endpointId + " identity " + identity
                    + " flags " + flags + " mac " + mac + " node mac " + nodeMac;
        }
    }

    /** A tc filter: its priority, handle, program name and program id, as tc prints them. */
    public record TcFilter(int pref, String handle, String program, int programId) {
    }

    /**
     * The datapath of a node at one moment: both endpoint maps' entries, the veths, and the tc
     * ingress filters of each veth.
     */
    public record Datapath(List<EndpointEntry> endpoints, List<EndpointEntry> byIfindex, Map<String, Integer> veths,
                           Map<String, List<TcFilter>> ingress) {
        /** The same, with the program ids left out (a reloaded program gets a new id). */
        public Datapath withoutProgramIds() {
            Map<String, List<TcFilter>> filters = new TreeMap<>();
            ingress.forEach((dev, list) -> filters.put(dev, list.stream()
                    .map(f -> new TcFilter(f.pref(), f.handle(), f.program(), 0)).toList()));
            return new Datapath(endpoints, byIfindex, veths, filters);
        }
    }

    /** Reads a node's datapath: the maps pinned under pinRoot, its veths and their filters. */
    public static Datapath datapath(String nodeNetns, Path pinRoot) {
        Map<String, Integer> veths = veths(nodeNetns);
        Map<String, List<TcFilter>> ingress = new TreeMap<>();
        veths.keySet().forEach(dev -> ingress.put(dev, ingressFilters(nodeNetns, dev)));
        return new Datapath(endpointEntries(nodeNetns, pinRoot.resolve(DatapathMaps.ENDPOINTS), false),
                endpointEntries(nodeNetns, pinRoot.resolve(DatapathMaps.ENDPOINTS_BY_IFINDEX), true), veths, ingress);
    }

    /** The entries of the endpoint map pinned at pin, sorted by key (an ifindex when keyIsIfindex, else an address). */
    public static List<EndpointEntry> endpointEntries(String nodeNetns, Path pin, boolean keyIsIfindex) {
        Map<String, EndpointEntry> sorted = new TreeMap<>();
        for (JsonNode element : dump(nodeNetns, pin)) {
            ByteBuffer key = bytes(element.path("key"));
            ByteBuffer value = bytes(element.path("value"));
            if (value.capacity() != 32) {
                throw new IllegalStateException("endpoint_info is 32 bytes, bpftool shows " + value.capacity()
                        + ": " + element);
            }
            String keyText = keyIsIfindex ? String.valueOf(key.getInt(0)) : ip(key, 0);
            sorted.put(keyText, new EndpointEntry(keyText, ip(value, 0), value.getInt(4), value.getInt(8),
                    value.getInt(12), value.getInt(16), mac(value, 20), mac(value, 26)));
        }
        return List.copyOf(sorted.values());
    }

    /**
     * One ipcache entry ({@code struct ipcache_value}, 12 bytes): the prefix's identity, the
     * underlay address of the node behind it ("0.0.0.0" when none) and its flags.
     */
    public record IpcacheEntry(int identity, String tunnelEndpoint, int flags) {
    }

    /**
     * The ipcache pinned under pinRoot as the kernel holds it, by prefix ("10.244.2.0/24"),
     * sorted; {@code struct ipcache_key}'s prefix length counts the 32 bits before the address.
     */
    public static Map<String, IpcacheEntry> ipcache(String nodeNetns, Path pinRoot) {
        Map<String, IpcacheEntry> sorted = new TreeMap<>();
        for (JsonNode element : dump(nodeNetns, pinRoot.resolve(DatapathMaps.IPCACHE))) {
            ByteBuffer key = bytes(element.path("key"));
            ByteBuffer value = bytes(element.path("value"));
            if (key.capacity() != 24 || value.capacity() != 12) {
                throw new IllegalStateException("ipcache_key is 24 bytes and ipcache_value 12, bpftool shows "
                        + key.capacity() + " and " + value.capacity() + ": " + element);
            }
            sorted.put(ip(key, 8) + "/" + (key.getInt(0) - 32),
                    new IpcacheEntry(value.getInt(0), ip(value, 4), value.get(8) & 0xff));
        }
        return sorted;
    }

    /** The tc filters on dev's ingress hook in the node namespace (none when dev has no clsact). */
    public static List<TcFilter> ingressFilters(String nodeNetns, String dev) {
        Shell.Result r = Shell.run(30, Shell.inNetns(nodeNetns, "tc", "filter", "show", "dev", dev, "ingress"));
        if (!r.ok()) {
            throw new IllegalStateException("tc filter show dev " + dev + " exited " + r.exitCode() + ": "
                    + r.stderr());
        }
        List<TcFilter> filters = new ArrayList<>();
        Matcher m = FILTER.matcher(r.stdout());
        while (m.find()) {
            filters.add(new TcFilter(Integer.parseInt(m.group(1)), m.group(2), m.group(3),
                    Integer.parseInt(m.group(4))));
        }
        return filters;
    }

    /** The veths in the node namespace: name to ifindex, sorted by name. */
    public static Map<String, Integer> veths(String nodeNetns) {
        String out = Shell.check("ip", "-j", "-n", nodeNetns, "link", "show", "type", "veth");
        Map<String, Integer> veths = new TreeMap<>();
        try {
            for (JsonNode link : CniRuntime.JSON.readTree(out)) {
                veths.put(link.path("ifname").asText(), link.path("ifindex").asInt());
            }
        } catch (IOException e) {
            throw new IllegalStateException("ip printed no JSON: " + out, e);
        }
        return veths;
    }

    /** The names of a namespace's links other than lo. */
    public static List<String> links(String netns) {
        String out = Shell.check("ip", "-j", "-n", netns, "link", "show");
        List<String> names = new ArrayList<>();
        try {
            for (JsonNode link : CniRuntime.JSON.readTree(out)) {
                if (!"lo".equals(link.path("ifname").asText())) {
                    names.add(link.path("ifname").asText());
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("ip printed no JSON: " + out, e);
        }
        return names;
    }

    /** The entries of the map pinned at pin as bpftool prints them (-j: raw bytes, and BTF's view). */
    private static JsonNode dump(String nodeNetns, Path pin) {
        String out = inNode(nodeNetns, "bpftool", "-j", "map", "dump", "pinned", pin.toString());
        try {
            return CniRuntime.JSON.readTree(out);
        } catch (IOException e) {
            throw new IllegalStateException("bpftool printed no JSON: " + out, e);
        }
    }

    private static String inNode(String nodeNetns, String... command) {
        return Shell.check(Shell.inNetns(nodeNetns, command).toArray(String[]::new));
    }

    /** bpftool's raw bytes ("0x0a" strings), in host order. */
    private static ByteBuffer bytes(JsonNode hex) {
        ByteBuffer b = ByteBuffer.allocate(hex.size()).order(ByteOrder.nativeOrder());
        for (JsonNode x : hex) {
            b.put((byte) Integer.parseInt(x.asText().substring(2), 16));
        }
        return b;
    }

    private static String ip(ByteBuffer b, int offset) {
        return (b.get(offset) & 0xff) + "." + (b.get(offset + 1) & 0xff) + "." + (b.get(offset + 2) & 0xff) + "."
                + (b.get(offset + 3) & 0xff);
    }

    private static String mac(ByteBuffer b, int offset) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            s.append(i == 0 ? "" : ":").append(String.format("%02x", b.get(offset + i) & 0xff));
        }
        return s.toString();
    }
}
