package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.maps.DatapathMaps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a node holds for its endpoints, counted from every place an endpoint leaves a trace, each
 * by an independent witness where there is one: the agent's IPAM files and its status, its
 * endpoint state files and its API, the veths in the node namespace (ip), the datapath's map
 * entries (through the pinned maps and through bpftool), the files under the pin root, links left
 * in pod namespaces, and host-local's reservations when it was delegated to.
 */
public record NodeCensus(int ipamFiles, int ipamAllocated, int endpointFiles, int apiEndpoints, int veths,
                         int endpointEntries, int lxcEntries, int bpftoolEndpointEntries, int bpftoolLxcEntries,
                         List<String> pins, int podLinks, int hostLocalFiles) {
    /** The pins an agent with no endpoints leaves: its maps, nothing else. */
    public static final List<String> MAP_PINS = List.of(DatapathMaps.ENDPOINTS, DatapathMaps.ENDPOINTS_BY_IFINDEX,
            DatapathMaps.METRICS);

    /**
     * Counts now. The agent must be running (status and endpoints come from its API); podNetns are
     * the pod namespaces still present (their non-loopback links are counted); hostLocalDir is
     * host-local's directory for the network, or null.
     */
    public static NodeCensus take(AgentProcess agent, Collection<String> podNetns, Path hostLocalDir) {
        Path state = agent.stateDir();
        JsonNode status = agent.status();
        int apiEndpoints = agent.client().endpoints().size();
        int veths = (int) Shell.check("ip", "-n", agent.nodeNetns(), "-o", "link", "show", "type", "veth").lines()
                .filter(l -> !l.isBlank()).count();
        int endpointEntries;
        int lxcEntries;
        try (DatapathMaps maps = DatapathMaps.openPinned(agent.pinRoot())) {
            endpointEntries = maps.endpoints().keys().size();
            lxcEntries = maps.endpointsByIfindex().keys().size();
        }
        int podLinks = 0;
        for (String pod : podNetns) {
            podLinks += (int) Shell.check("ip", "-n", pod, "-o", "link", "show").lines()
                    .filter(l -> !l.isBlank() && !l.matches("^\\d+: lo[:@].*")).count();
        }
        int hostLocal = hostLocalDir == null ? 0 : (int) files(hostLocalDir).stream()
                .filter(p -> !p.equals("lock") && !p.startsWith("last_reserved_ip")).count();
        return new NodeCensus(files(state.resolve("ipam")).size(), status.path("ipam").path("allocated").asInt(-1),
                (int) files(state.resolve("endpoints")).stream().filter(p -> p.endsWith(".json")).count(),
                apiEndpoints, veths, endpointEntries, lxcEntries,
                bpftoolEntries(agent.pinRoot().resolve(DatapathMaps.ENDPOINTS)),
                bpftoolEntries(agent.pinRoot().resolve(DatapathMaps.ENDPOINTS_BY_IFINDEX)),
                files(agent.pinRoot()), podLinks, hostLocal);
    }

    /** Nothing held: every count zero and only the maps pinned. */
    public boolean empty() {
        return ipamFiles == 0 && ipamAllocated == 0 && endpointFiles == 0 && apiEndpoints == 0 && veths == 0
                && endpointEntries == 0 && lxcEntries == 0 && bpftoolEndpointEntries == 0 && bpftoolLxcEntries == 0
                && pins.stream().sorted().toList().equals(MAP_PINS.stream().sorted().toList()) && podLinks == 0
                && hostLocalFiles == 0;
    }

    /** Every count says the same number n of endpoints (and only the maps are pinned). */
    public boolean holds(int n) {
        return ipamFiles == n && ipamAllocated == n && endpointFiles == n && apiEndpoints == n && veths == n
                && endpointEntries == n && lxcEntries == n && bpftoolEndpointEntries == n && bpftoolLxcEntries == n
                && pins.stream().sorted().toList().equals(MAP_PINS.stream().sorted().toList());
    }

    @Override
    public String toString() {
        return String.join("\n",
                String.format("  IPs:        %d ipam files, %d allocated by /v1/status, %d host-local reservations",
                        ipamFiles, ipamAllocated, hostLocalFiles),
                String.format("  endpoints:  %d state files, %d in /v1/endpoints", endpointFiles, apiEndpoints),
                String.format("  veths:      %d in the node namespace, %d links left in pod namespaces", veths, podLinks),
                String.format("  map entries: %s %d (bpftool %d), %s %d (bpftool %d)", DatapathMaps.ENDPOINTS,
                        endpointEntries, bpftoolEndpointEntries, DatapathMaps.ENDPOINTS_BY_IFINDEX, lxcEntries,
                        bpftoolLxcEntries),
                String.format("  pins:       %d %s", pins.size(), pins));
    }

    private static int bpftoolEntries(Path pin) {
        String out = Shell.check("bpftool", "-j", "map", "dump", "pinned", pin.toString());
        try {
            return CniRuntime.JSON.readTree(out).size();
        } catch (IOException e) {
            throw new IllegalStateException("bpftool printed no JSON: " + out, e);
        }
    }

    /** Regular files under dir, relative to it; none when dir is absent. */
    private static List<String> files(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            List<String> out = new ArrayList<>();
            walk.filter(p -> !Files.isDirectory(p)).forEach(p -> out.add(dir.relativize(p).toString()));
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir, e);
        }
    }
}
