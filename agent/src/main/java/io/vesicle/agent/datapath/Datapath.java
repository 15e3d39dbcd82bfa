package io.vesicle.agent.datapath;

import io.vesicle.loader.BpfObject;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.loader.ObjectSpec;
import io.vesicle.loader.Program;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.MacAddress;
import java.io.IOException;
import java.net.Inet4Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The node's datapath: the loaded programs and their maps, and the {@link Realizer}s that make an
 * endpoint's kernel state match its {@link EndpointWiring}, in the order they apply: the veth,
 * the datapath entries (before the program, so it never meets an unknown sender), the node's
 * route to the pod, the program. This package is the only one that touches the loader and maps.
 */
public final class Datapath implements AutoCloseable {
    public static final String OBJECT_RESOURCE = "/META-INF/bpf/bpf_lxc.o";
    public static final String FROM_CONTAINER = "from_container";
    static final String GATEWAY_CONSTANT = "CFG_GATEWAY_IP4";
    /**
     * Where runtimes keep named network namespaces, searched when a pod's netns must be found
     * again; /var/run first, the spelling the kubelet's runtimes pass.
     */
    private static final List<Path> NETNS_DIRS = List.of(Path.of("/var/run/netns"), Path.of("/run/netns"));

    private final NetNs nodeNs;
    private final Path pinRoot;
    private final BpfObject object;
    private final DatapathMaps maps;
    private final Program fromContainer;
    private final PodNamespaces podNamespaces;
    private final List<Realizer> realizers;
    /** The realizers that wire an existing veth, for {@link #attach}. */
    private final List<Realizer> nodeSide;

    private final boolean ownsNodeNs;

    private Datapath(NetNs nodeNs, BpfObject object, Path pinRoot, boolean ownsNodeNs) {
        this.ownsNodeNs = ownsNodeNs;
        this.pinRoot = pinRoot;
        this.nodeNs = nodeNs;
        this.object = object;
        this.maps = DatapathMaps.of(object);
        this.fromContainer = object.program(FROM_CONTAINER);
        this.podNamespaces = new PodNamespaces(nodeNs);
        this.nodeSide = List.of(new EndpointEntriesRealizer(nodeNs, maps), new HostRouteRealizer(nodeNs),
                new TcProgramRealizer(nodeNs, fromContainer));
        List<Realizer> all = new ArrayList<>();
        all.add(new PodInterfaceRealizer(nodeNs, podNamespaces));
        all.addAll(nodeSide);
        this.realizers = List.copyOf(all);
    }

    /**
     * Loads the datapath objects, reusing maps already pinned under the configured root.
     *
     * @param nodeNs the node's network namespace, where host-side veths live ({@code null}: ours);
     *               the caller keeps owning it
     */
    public static Datapath load(NetNs nodeNs, DatapathConfig config) {
        return load(nodeNs, config, false);
    }

    private static Datapath load(NetNs nodeNs, DatapathConfig config, boolean ownsNodeNs) {
        try (ObjectSpec spec = ObjectSpec.fromResource(OBJECT_RESOURCE)) {
            spec.pinRoot(config.pinRoot());
            if (config.gateway() != null) {
                spec.setConstant(GATEWAY_CONSTANT, config.gateway().getAddress());
            }
            return new Datapath(nodeNs, spec.load(), config.pinRoot(), ownsNodeNs);
        }
    }

    /**
     * {@link #load} for the node whose network namespace file is nodeNetns ({@code null}: this
     * process's); the datapath owns the handle it opens.
     */
    public static Datapath open(Path nodeNetns, DatapathConfig config) {
        if (nodeNetns == null) {
            return load(null, config);
        }
        NetNs nodeNs = NetNs.open(nodeNetns);
        try {
            return load(nodeNs, config, true);
        } catch (RuntimeException e) {
            nodeNs.close();
            throw e;
        }
    }

    public DatapathMaps maps() {
        return maps;
    }

    public Program fromContainer() {
        return fromContainer;
    }

    /** In the order they apply; remove in reverse. */
    public List<Realizer> realizers() {
        return realizers;
    }

    public PodNamespaces podNamespaces() {
        return podNamespaces;
    }

    /** Whether the node has a link of that name. */
    public boolean hasInterface(String name) {
        return Netlink.link(nodeNs, name).isPresent();
    }

    /** The node's own IPv4 addresses, on every link of its namespace. */
    public Set<Inet4Address> nodeAddresses() {
        Set<Inet4Address> addresses = new HashSet<>();
        for (Netlink.Address a : Netlink.addresses(nodeNs, 0)) {
            if (a.address() instanceof Inet4Address v4) {
                addresses.add(v4);
            }
        }
        return addresses;
    }

    /** A wired endpoint as the kernel shows it (its entry by sender). */
    public record Observed(int id, Inet4Address address, String mac, String hostMac, int identity) {
    }

    /** What the kernel shows of the endpoint whose host side is hostIf; empty when the veth or entry is gone. */
    public Optional<Observed> observe(String hostIf) {
        return Netlink.link(nodeNs, hostIf).flatMap(l -> maps.endpointsByIfindex().get(new IfIndex(l.index())))
                .map(i -> new Observed(i.endpointId(), i.address(), i.mac().toString(), i.nodeMac().toString(),
                        i.identity()));
    }

    /** The id of the program endpoints' traffic goes through. */
    public int programId() {
        return fromContainer.id();
    }

    /**
     * The network namespace file, among the runtimes' named ones and the processes', that holds
     * podIf with mac; for rebuilding an endpoint whose state file was lost.
     */
    public Optional<Path> findPodNamespace(String podIf, String mac) {
        List<Path> candidates = new ArrayList<>();
        for (Path dir : NETNS_DIRS) {
            candidates.addAll(list(dir, s -> s));
        }
        candidates.addAll(list(Path.of("/proc"), s -> s.filter(p -> p.getFileName().toString().chars()
                .allMatch(Character::isDigit)).map(p -> p.resolve("ns/net"))));
        for (Path candidate : candidates) {
            try (NetNs ns = podNamespaces.open(candidate)) {
                Optional<Netlink.Link> link = Netlink.link(ns, podIf);
                if (link.isPresent() && MacAddress.of(link.get().mac()).toString().equals(mac)) {
                    return Optional.of(candidate);
                }
            } catch (RuntimeException e) {
                // not a pod's namespace, or gone meanwhile
            }
        }
        return Optional.empty();
    }

    private static List<Path> list(Path dir, java.util.function.Function<Stream<Path>, Stream<Path>> map) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return map.apply(entries.sorted()).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /**
     * Wires the existing veth of endpoint: datapath entries, the node's route, the program on tc
     * ingress. Attaching an attached endpoint replaces its entries and program in place. A failed
     * fresh attach leaves nothing.
     */
    public EndpointInfo attach(Endpoint endpoint) {
        EndpointWiring w = wiring(endpoint);
        boolean fresh = maps.endpoints().get(new io.vesicle.maps.EndpointKey(endpoint.address())).isEmpty();
        List<Realizer> done = new ArrayList<>();
        try {
            for (Realizer r : nodeSide) {
                r.apply(w);
                done.add(r);
            }
        } catch (RuntimeException e) {
            if (fresh) {
                for (int i = done.size() - 1; i >= 0; i--) {
                    done.get(i).remove(w);
                }
            }
            throw e;
        }
        return Netlink.link(nodeNs, endpoint.hostIfName())
                .flatMap(l -> maps.endpointsByIfindex().get(new IfIndex(l.index()))).orElseThrow();
    }

    /**
     * Unwires an endpoint: program and qdisc first (traffic falls back to the node stack), then
     * route and entries. Succeeds when parts are already gone.
     */
    public void detach(Endpoint endpoint) {
        detach(endpoint.id(), endpoint.hostIfName(), endpoint.address());
    }

    /** {@link #detach(Endpoint)} by what identifies an endpoint. */
    public void detach(int endpointId, String hostIfName, Inet4Address address) {
        EndpointWiring w = new EndpointWiring(endpointId, hostIfName, null, null, address, null, 0, null, 0);
        for (int i = nodeSide.size() - 1; i >= 0; i--) {
            nodeSide.get(i).remove(w);
        }
    }

    private static EndpointWiring wiring(Endpoint e) {
        return new EndpointWiring(e.id(), e.hostIfName(), null, null, e.address(), null, 0, e.mac().toString(),
                e.identity());
    }

    /** Closes this process's handles; attached programs and pinned maps stay for running pods. */
    @Override
    public void close() {
        object.close();
        if (ownsNodeNs) {
            nodeNs.close();
        }
    }

    NetNs nodeNs() {
        return nodeNs;
    }

    BpfObject object() {
        return object;
    }

    /** Where the maps are pinned; null when they are not. */
    Path pinRoot() {
        return pinRoot;
    }

    /** Why the datapath cannot serve pods (a map pin gone), or empty. */
    public Optional<String> unavailableReason() {
        if (pinRoot == null) {
            return Optional.empty();
        }
        for (String map : List.of(DatapathMaps.ENDPOINTS, DatapathMaps.ENDPOINTS_BY_IFINDEX, DatapathMaps.METRICS)) {
            Path pin = pinRoot.resolve(map);
            if (!Files.exists(pin)) {
                return Optional.of("the datapath map pin " + pin + " is missing");
            }
        }
        return Optional.empty();
    }
}
