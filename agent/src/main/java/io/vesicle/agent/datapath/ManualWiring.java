package io.vesicle.agent.datapath;

import io.vesicle.loader.NetNs;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import java.net.Inet4Address;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * The datapath without an agent, for the command line: wiring a pod by hand into pinned maps,
 * and reading those maps as rows.
 */
public final class ManualWiring {
    private ManualWiring() {
    }

    /** One endpoint entry, as {@code vesicle endpoints} prints it. */
    public record EndpointRow(int id, String address, String mac, int ifindex, String nodeMac, int identity) {
    }

    /** What {@link #wire} made. */
    public record Wired(String mac, int hostIndex) {
    }

    /** Creates a veth between the namespaces and wires it; on failure nothing stays. */
    public static Wired wire(Path nodeNetns, Path podNetns, Path pinRoot, int id, Inet4Address ip,
                             Inet4Address gateway, String hostIf, String podIf, int mtu) {
        try (NetNs pod = NetNs.open(podNetns);
             Datapath datapath = Datapath.open(nodeNetns, new DatapathConfig(pinRoot, gateway))) {
            NetNs node = datapath.nodeNs();
            PodInterface veth = PodInterface.create(node, hostIf, pod, podIf, ip, gateway, mtu, null);
            try {
                datapath.attach(new Endpoint(id, hostIf, ip, veth.mac(), 0));
            } catch (RuntimeException e) {
                PodInterface.remove(node, hostIf);
                throw e;
            }
            return new Wired(veth.mac().toString(), veth.hostIndex());
        }
    }

    /** Unwires and deletes a veth made by {@link #wire}. */
    public static void unwire(Path nodeNetns, Path pinRoot, int id, Inet4Address ip, String hostIf) {
        try (Datapath datapath = Datapath.open(nodeNetns, new DatapathConfig(pinRoot, null))) {
            datapath.detach(id, hostIf, ip);
            PodInterface.remove(datapath.nodeNs(), hostIf);
        }
    }

    public static List<EndpointRow> endpoints(Path pinRoot) {
        try (DatapathMaps maps = DatapathMaps.openPinned(pinRoot)) {
            return maps.endpoints().entries().values().stream()
                    .sorted(Comparator.comparingInt(EndpointInfo::endpointId))
                    .map(e -> new EndpointRow(e.endpointId(), e.address().getHostAddress(), e.mac().toString(),
                            e.ifindex(), e.nodeMac().toString(), e.identity()))
                    .toList();
        }
    }

    public static List<DatapathInspector.CounterRow> counters(Path pinRoot) {
        try (DatapathMaps maps = DatapathMaps.openPinned(pinRoot)) {
            return DatapathInspector.counters(maps.metrics());
        }
    }
}
