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
    public static final String FROM_OVERLAY = "from_overlay";
    public static final String FROM_NETDEV = "from_netdev";
    public static final String FROM_HOST = "from_host";
    public static final String TO_NETDEV = "to_netdev";
    static final String GATEWAY_CONSTANT = "CFG_GATEWAY_IP4";
    static final String ROUTING_MODE_CONSTANT = "CFG_ROUTING_MODE";
    static final String ENCAP_IFINDEX_CONSTANT = "CFG_ENCAP_IFINDEX";
    static final String NODE_IP_CONSTANT = "CFG_NODE_IP4";
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
    private final DatapathStats stats;
    private final List<Realizer> realizers;
    /** The realizers that wire an existing veth, for {@link #attach}. */
    private final List<Realizer> nodeSide;

    private final boolean ownsNodeNs;
    /** The node's own state towards the cluster, in the order it applies; empty for a single node. */
    private final List<NodeRealizer> nodeState;
    private final NodeNetwork network;
    /** The parts applied after the load; null for a single node. */
    private final NodePrograms nodePrograms;
    private final ClusterRoutes clusterRoutes;
    private final RemoteNodeState remote;

    private Datapath(NetNs nodeNs, BpfObject object, Path pinRoot, boolean ownsNodeNs, NodeNetwork network,
                     NodeDevices devices) {
        this.ownsNodeNs = ownsNodeNs;
        this.network = network;
        this.pinRoot = pinRoot;
        this.nodeNs = nodeNs;
        this.object = object;
        this.maps = DatapathMaps.of(object);
        this.fromContainer = object.program(FROM_CONTAINER);
        this.podNamespaces = new PodNamespaces(nodeNs);
        this.stats = new DatapathStats(maps, object.maps());
        this.nodeSide = List.of(new EndpointEntriesRealizer(nodeNs, maps), new HostRouteRealizer(nodeNs),
                new TcProgramRealizer(nodeNs, fromContainer));
        List<Realizer> all = new ArrayList<>();
        all.add(new PodInterfaceRealizer(nodeNs, podNamespaces));
        all.addAll(nodeSide);
        this.realizers = List.copyOf(all);
        if (network == null) {
            this.nodeState = List.of();
            this.nodePrograms = null;
            this.clusterRoutes = null;
            this.remote = null;
        } else {
            this.nodePrograms = new NodePrograms(nodeNs, network, devices, object.program(FROM_OVERLAY),
                    object.program(FROM_NETDEV), object.program(TO_NETDEV), object.program(FROM_HOST));
            this.clusterRoutes = new ClusterRoutes(nodeNs, network, devices.hostIfindex());
            Masquerade masquerade = new Masquerade(nodeNs, network);
            this.nodeState = List.of(devices, nodePrograms, clusterRoutes, masquerade);
            this.remote = new RemoteNodeState(nodeNs, network, maps.ipcache(), masquerade);
        }
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
        NodeNetwork network = config.node();
        // The devices come first: the program is built with the VXLAN device's index.
        NodeDevices devices = network == null ? null : new NodeDevices(nodeNs, network);
        if (devices != null) {
            devices.apply();
        }
        BpfObject object;
        try (ObjectSpec spec = ObjectSpec.fromResource(OBJECT_RESOURCE)) {
            spec.pinRoot(config.pinRoot());
            if (config.gateway() != null) {
                spec.setConstant(GATEWAY_CONSTANT, config.gateway().getAddress());
            }
            if (network != null) {
                spec.setConstant(ROUTING_MODE_CONSTANT, network.mode().constant);
                spec.setConstant(ENCAP_IFINDEX_CONSTANT, devices.encapIfindex());
                spec.setConstant(NODE_IP_CONSTANT, network.nodeIP().getAddress());
            }
            object = spec.load();
        }
        try {
            Datapath datapath = new Datapath(nodeNs, object, config.pinRoot(), ownsNodeNs, network, devices);
            datapath.applyNodeState();
            return datapath;
        } catch (RuntimeException e) {
            object.close();
            throw e;
        }
    }

    /**
     * After the load (the devices came before it): the node's programs and routes, then the remote
     * state's start, which applies masquerading with the nodes the pinned ipcache knows.
     */
    private void applyNodeState() {
        if (network == null) {
            return;
        }
        nodePrograms.apply();
        clusterRoutes.apply();
        remote.start();
    }

    /**
     * The uplink: the device called name ({@code null}: the device of the IPv4 default route) in
     * the node's network namespace at nodeNetns ({@code null}: ours), with its first IPv4 address.
     *
     * @throws IllegalArgumentException naming the device when it is missing or has no IPv4 address,
     *                                  or when there is no default route to find it by
     */
    public static Uplink findUplink(Path nodeNetns, String name) {
        NetNs ns = nodeNetns == null ? null : NetNs.open(nodeNetns);
        try {
            Netlink.Link link;
            if (name != null) {
                link = Netlink.link(ns, name).orElseThrow(() -> new IllegalArgumentException("uplink: no device "
                        + name + " in " + NetNs.describe(ns)));
            } else {
                int ifindex = Netlink.routes(ns, 0).stream()
                        .filter(r -> r.prefixLength() == 0 && r.destination() instanceof Inet4Address)
                        .mapToInt(Netlink.Route::ifindex).filter(i -> i > 0).findFirst()
                        .orElseThrow(() -> new IllegalArgumentException("uplink: " + NetNs.describe(ns)
                                + " has no IPv4 default route to find it by; name it"));
                link = Netlink.link(ns, ifindex).orElseThrow(() -> new IllegalArgumentException(
                        "uplink: the default route's device #" + ifindex + " is gone"));
            }
            Inet4Address address = Netlink.addresses(ns, link.index()).stream()
                    .map(Netlink.Address::address).filter(Inet4Address.class::isInstance)
                    .map(Inet4Address.class::cast).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("uplink: " + link.name()
                            + " has no IPv4 address"));
            return new Uplink(link.name(), link.index(), link.mtu(), address);
        } finally {
            if (ns != null) {
                ns.close();
            }
        }
    }

    /**
     * What this node's datapath knows of the other nodes and their pods.
     *
     * @throws IllegalStateException for a single node (no {@link NodeNetwork} configured)
     */
    public RemoteState remote() {
        if (remote == null) {
            throw new IllegalStateException("the datapath runs a single node: it has no remote state");
        }
        return remote;
    }

    /** The routing mode, empty for a single node. */
    public Optional<RoutingMode> routingMode() {
        return Optional.ofNullable(network).map(NodeNetwork::mode);
    }

    /** How the node's own devices, programs, routes and masquerading differ from what they should be. */
    public List<String> verifyNode() {
        List<String> diffs = new ArrayList<>();
        for (NodeRealizer part : nodeState) {
            diffs.addAll(part.verify());
        }
        return diffs;
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

    /** The counters and map fill, for metrics. */
    public DatapathStats stats() {
        return stats;
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


    /** Why the datapath cannot serve pods (a map pin or a node device gone), or empty. */
    public Optional<String> unavailableReason() {
        List<String> pins = pinRoot == null ? List.of() : List.of(DatapathMaps.ENDPOINTS,
                DatapathMaps.ENDPOINTS_BY_IFINDEX, DatapathMaps.METRICS, DatapathMaps.IPCACHE);
        for (String map : pins) {
            Path pin = pinRoot.resolve(map);
            if (!Files.exists(pin)) {
                return Optional.of("the datapath map pin " + pin + " is missing");
            }
        }
        List<String> devices = List.of();
        if (network != null) {
            devices = network.mode() == RoutingMode.OVERLAY
                    ? List.of(NodeDevices.VXLAN, NodeDevices.HOST, network.uplink().name())
                    : List.of(NodeDevices.HOST, network.uplink().name());
        }
        for (String device : devices) {
            if (!hasInterface(device)) {
                return Optional.of("the node device " + device + " is missing");
            }
        }
        return Optional.empty();
    }
}
