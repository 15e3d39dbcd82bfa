package io.vesicle.tests.support;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.Messages;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.tests.support.KernelView.EndpointEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * What a node holds for its endpoints, from every place an endpoint leaves a trace: the agent's
 * IPAM files and its status, its endpoint state files and its API, and, by the kernel's own tools,
 * the veths in the node namespace (ip), the datapath's map entries (bpftool, decoded from bytes),
 * the files under the pin root, links left in pod namespaces, and host-local's reservations when
 * it was delegated to.
 *
 * <p>{@link #mismatches()} holds the agent's view (its endpoints) against the kernel's: every
 * endpoint has its veth and both map entries with the content it implies, and nothing else is there.
 */
public record NodeCensus(List<String> ipamFiles, int ipamAllocated, List<String> endpointFiles,
                         List<Messages.Endpoint> apiEndpoints, Map<String, Integer> veths,
                         List<EndpointEntry> endpointEntries, List<EndpointEntry> lxcEntries, List<String> pins,
                         Map<String, List<String>> podLinks, List<String> hostLocalFiles) {
    /** The pins an agent with no endpoints leaves: its maps, nothing else. */
    public static final Set<String> MAP_PINS = Set.of(DatapathMaps.ENDPOINTS, DatapathMaps.ENDPOINTS_BY_IFINDEX,
            DatapathMaps.METRICS, DatapathMaps.IPCACHE, DatapathMaps.EVENTS, DatapathMaps.EVENTS_CONFIG,
            DatapathMaps.EVENTS_LOST, DatapathObject.STACK_FLOWS);

    /**
     * Looks now. The agent must be running (status and endpoints come from its API); podNetns are
     * the pod namespaces still present (their non-loopback links are listed); hostLocalDir is
     * host-local's directory for the network, or null.
     */
    public static NodeCensus take(AgentProcess agent, Collection<String> podNetns, Path hostLocalDir) {
        Path state = agent.stateDir();
        JsonNode status = agent.status();
        List<Messages.Endpoint> endpoints = agent.client().endpoints().stream()
                .sorted(Comparator.comparing(Messages.Endpoint::containerID)).toList();
        Map<String, List<String>> podLinks = new TreeMap<>();
        for (String pod : podNetns) {
            List<String> links = KernelView.links(pod);
            if (!links.isEmpty()) {
                podLinks.put(pod, links);
            }
        }
        List<String> hostLocal = hostLocalDir == null ? List.of() : files(hostLocalDir).stream()
                .filter(p -> !p.equals("lock") && !p.startsWith("last_reserved_ip")).toList();
        return new NodeCensus(files(state.resolve("ipam")), status.path("ipam").path("allocated").asInt(-1),
                files(state.resolve("endpoints")).stream().filter(p -> p.endsWith(".json")).toList(), endpoints,
                KernelView.veths(agent.nodeNetns()),
                KernelView.endpointEntries(agent.nodeNetns(), agent.pinRoot().resolve(DatapathMaps.ENDPOINTS), false),
                KernelView.endpointEntries(agent.nodeNetns(),
                        agent.pinRoot().resolve(DatapathMaps.ENDPOINTS_BY_IFINDEX), true),
                files(agent.pinRoot()), podLinks, hostLocal);
    }

    /** Nothing held: no file, endpoint, veth, entry, pod link or reservation; only the maps pinned. */
    public boolean empty() {
        return ipamFiles.isEmpty() && ipamAllocated == 0 && endpointFiles.isEmpty() && apiEndpoints.isEmpty()
                && veths.isEmpty() && endpointEntries.isEmpty() && lxcEntries.isEmpty()
                && Set.copyOf(pins).equals(MAP_PINS) && podLinks.isEmpty() && hostLocalFiles.isEmpty();
    }

    /** Exactly n endpoints, each wired as the agent says ({@link #mismatches()} empty). */
    public boolean holds(int n) {
        return apiEndpoints.size() == n && mismatches().isEmpty();
    }

    /** The container IDs of the agent's endpoints. */
    public Set<String> containerIDs() {
        Set<String> ids = new TreeSet<>();
        apiEndpoints.forEach(e -> ids.add(e.containerID()));
        return ids;
    }

    /**
     * Where the node disagrees with the agent's endpoints: a state file, address or IPAM file per
     * endpoint (IPAM only for addresses the agent allocated); per endpoint its veth and the two map
     * entries whose content (address, ifindex of that veth, endpoint id, MACs) it implies; and no
     * other veth, entry or pin.
     */
    public List<String> mismatches() {
        List<String> out = new ArrayList<>();
        long owned = apiEndpoints.stream().filter(Messages.Endpoint::ipamOwned).count();
        if (endpointFiles.size() != apiEndpoints.size()) {
            out.add(endpointFiles.size() + " state files for " + apiEndpoints.size() + " endpoints");
        }
        if (ipamFiles.size() != owned || ipamAllocated != owned) {
            out.add(ipamFiles.size() + " IPAM files and " + ipamAllocated + " allocated by /v1/status for " + owned
                    + " endpoints with agent-allocated addresses");
        }
        Map<String, EndpointEntry> byAddress = new TreeMap<>();
        endpointEntries.forEach(e -> byAddress.put(e.key(), e));
        Map<String, EndpointEntry> byIfindex = new TreeMap<>();
        lxcEntries.forEach(e -> byIfindex.put(e.key(), e));
        Set<String> hostIfs = new TreeSet<>();
        for (Messages.Endpoint e : apiEndpoints) {
            String address = bare(e.address());
            hostIfs.add(e.hostIf());
            Integer ifindex = veths.get(e.hostIf());
            if (ifindex == null) {
                out.add(e.containerID() + ": no veth " + e.hostIf());
                continue;
            }
            EndpointEntry entry = byAddress.remove(address);
            EndpointEntry lxc = byIfindex.remove(String.valueOf(ifindex));
            String expected = address + " ifindex " + ifindex + " id " + e.id() + " mac " + e.mac() + " node mac "
                    + e.hostMac();
            for (EndpointEntry seen : new EndpointEntry[] {entry, lxc}) {
                if (seen == null || !seen.address().equals(address) || seen.ifindex() != ifindex
                        || seen.endpointId() != e.id() || !seen.mac().equalsIgnoreCase(e.mac())
                        || !seen.nodeMac().equalsIgnoreCase(e.hostMac())) {
                    out.add(e.containerID() + ": expected an entry " + expected + ", bpftool shows " + seen);
                }
            }
        }
        byAddress.values().forEach(e -> out.add("entry of no endpoint in " + DatapathMaps.ENDPOINTS + ": " + e));
        byIfindex.values().forEach(e -> out.add("entry of no endpoint in " + DatapathMaps.ENDPOINTS_BY_IFINDEX
                + ": " + e));
        veths.keySet().stream().filter(v -> !hostIfs.contains(v)).forEach(v -> out.add("veth of no endpoint: " + v));
        if (!Set.copyOf(pins).equals(MAP_PINS)) {
            out.add("pins " + pins + ", expected only " + MAP_PINS);
        }
        return out;
    }

    @Override
    public String toString() {
        List<String> ids = apiEndpoints.stream().map(e -> e.containerID().substring(0, Math.min(12,
                e.containerID().length())) + "/" + e.ifname() + " " + e.address() + " " + e.hostIf()).toList();
        return String.join("\n",
                String.format("  IPs:        %d ipam files %s, %d allocated by /v1/status, %d host-local reservations %s",
                        ipamFiles.size(), ipamFiles, ipamAllocated, hostLocalFiles.size(), hostLocalFiles),
                String.format("  endpoints:  %d state files, %d in /v1/endpoints %s", endpointFiles.size(),
                        apiEndpoints.size(), ids),
                String.format("  veths:      %d in the node namespace %s; links left in pod namespaces: %s",
                        veths.size(), veths, podLinks),
                String.format("  map entries (bpftool): %s %s; %s %s", DatapathMaps.ENDPOINTS, endpointEntries,
                        DatapathMaps.ENDPOINTS_BY_IFINDEX, lxcEntries),
                String.format("  pins:       %d %s", pins.size(), pins),
                "  mismatches: " + mismatches());
    }

    /** An address without its prefix length. */
    private static String bare(String address) {
        int slash = address.indexOf('/');
        return slash < 0 ? address : address.substring(0, slash);
    }

    /** Regular files under dir, relative to it, sorted; none when dir is absent. */
    private static List<String> files(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(p -> !Files.isDirectory(p)).map(p -> dir.relativize(p).toString()).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir, e);
        }
    }
}
