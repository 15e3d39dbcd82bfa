package io.vesicle.agent.datapath;

import io.vesicle.loader.BpfObject;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.loader.NoSuchDeviceException;
import io.vesicle.loader.ObjectSpec;
import io.vesicle.loader.Program;
import io.vesicle.loader.TcDirection;
import io.vesicle.loader.TcLink;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.MacAddress;
import java.net.Inet4Address;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node's datapath: the loaded programs and their maps, and the endpoints wired to them.
 * {@link #attach} makes a veth in the node's namespace belong to an endpoint; {@link #detach} takes
 * that away again. Both leave nothing half-done: a failed attach undoes what it did.
 */
public final class Datapath implements AutoCloseable {
    public static final String OBJECT_RESOURCE = "/META-INF/bpf/bpf_lxc.o";
    public static final String FROM_CONTAINER = "from_container";
    static final String GATEWAY_CONSTANT = "CFG_GATEWAY_IP4";

    private final NetNs nodeNs;
    private final BpfObject object;
    private final DatapathMaps maps;
    private final Program fromContainer;
    /** Attachments made by this process, to know whether a qdisc is ours to remove. */
    private final Map<Integer, TcLink> links = new ConcurrentHashMap<>();

    private Datapath(NetNs nodeNs, BpfObject object) {
        this.nodeNs = nodeNs;
        this.object = object;
        this.maps = DatapathMaps.of(object);
        this.fromContainer = object.program(FROM_CONTAINER);
    }

    /**
     * Loads the datapath objects, reusing maps already pinned under the configured root.
     *
     * @param nodeNs the node's network namespace, where host-side veths live ({@code null}: ours)
     */
    public static Datapath load(NetNs nodeNs, DatapathConfig config) {
        try (ObjectSpec spec = ObjectSpec.fromResource(OBJECT_RESOURCE)) {
            spec.pinRoot(config.pinRoot());
            if (config.gateway() != null) {
                spec.setConstant(GATEWAY_CONSTANT, config.gateway().getAddress());
            }
            return new Datapath(nodeNs, spec.load());
        }
    }

    public DatapathMaps maps() {
        return maps;
    }

    public Program fromContainer() {
        return fromContainer;
    }

    /**
     * Wires endpoint's host-side veth: map entries first (so the program never sees an unknown
     * sender), then a host route for the node stack's replies, then the program on tc ingress.
     * Attaching an already attached endpoint replaces its entries and program in place.
     */
    public EndpointInfo attach(Endpoint endpoint) {
        Netlink.Link veth = Netlink.link(nodeNs, endpoint.hostIfName())
                .orElseThrow(() -> new NoSuchDeviceException("endpoint " + endpoint.id() + ": no device "
                        + endpoint.hostIfName() + " in " + NetNs.describe(nodeNs)));
        EndpointInfo info = new EndpointInfo(endpoint.address(), veth.index(), endpoint.id(), endpoint.identity(),
                0, endpoint.mac(), MacAddress.of(veth.mac()));
        Optional<EndpointInfo> previous = maps.endpoints().get(new EndpointKey(endpoint.address()));
        if (previous.isPresent() && previous.get().ifindex() != veth.index()) {
            throw new IllegalStateException("endpoint " + endpoint.id() + ": address " + endpoint.address()
                    .getHostAddress() + " already belongs to endpoint " + previous.get().endpointId());
        }
        Netlink.Route route = Netlink.Route.link(endpoint.address(), 32, veth.index());
        boolean fresh = previous.isEmpty();
        try {
            maps.endpointsByIfindex().put(new IfIndex(veth.index()), info);
            maps.endpoints().put(new EndpointKey(endpoint.address()), info);
            Netlink.addRoute(nodeNs, route, true);
            TcLink link = TcLink.attach(fromContainer, nodeNs, veth.index(), TcDirection.INGRESS);
            TcLink earlier = links.put(endpoint.id(), link);
            if (earlier != null && earlier.createdQdisc() && !link.createdQdisc()) {
                links.put(endpoint.id(), earlier); // keep knowing that the qdisc is ours
            }
            return info;
        } catch (RuntimeException e) {
            // A re-attach keeps what the earlier attach left working; a fresh one leaves nothing.
            if (fresh) {
                Netlink.deleteRoute(nodeNs, route);
                removeEntries(endpoint.address(), veth.index());
            }
            throw e;
        }
    }

    /**
     * Unwires an endpoint: program first (traffic falls back to the node stack), then route and map
     * entries; a clsact qdisc this process created goes too. Succeeds when parts are already gone.
     */
    public void detach(Endpoint endpoint) {
        detach(endpoint.id(), endpoint.hostIfName(), endpoint.address());
    }

    /** {@link #detach(Endpoint)} by what identifies an endpoint. */
    public void detach(int endpointId, String hostIfName, Inet4Address address) {
        Optional<Netlink.Link> veth = Netlink.link(nodeNs, hostIfName);
        TcLink link = links.remove(endpointId);
        if (link != null) {
            link.close();
            if (link.createdQdisc() && veth.isPresent()) {
                TcLink.removeClsact(nodeNs, link.ifindex());
            }
        }
        Optional<EndpointInfo> known = maps.endpoints().get(new EndpointKey(address));
        int ifindex = veth.map(Netlink.Link::index).orElse(known.map(EndpointInfo::ifindex).orElse(0));
        if (link == null && veth.isPresent()) {
            // Attached by an earlier process: drop the filter, leave the qdisc.
            TcLink.detach(nodeNs, veth.get().index(), TcDirection.INGRESS);
        }
        if (veth.isPresent()) {
            Netlink.deleteRoute(nodeNs, Netlink.Route.link(address, 32, veth.get().index()));
        }
        removeEntries(address, ifindex);
    }

    private void removeEntries(Inet4Address address, int ifindex) {
        maps.endpoints().remove(new EndpointKey(address));
        if (ifindex > 0) {
            maps.endpointsByIfindex().remove(new IfIndex(ifindex));
        }
    }

    /** Closes this process's handles; attached programs and pinned maps stay for running pods. */
    @Override
    public void close() {
        links.clear();
        object.close();
    }
}
