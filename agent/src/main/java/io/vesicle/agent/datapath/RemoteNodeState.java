package io.vesicle.agent.datapath;

import io.vesicle.cluster.Cidr;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.maps.IpcacheEntry;
import io.vesicle.maps.IpcacheKey;
import io.vesicle.maps.TypedMap;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link RemoteState} in the kernel: {@code vsl_ipcache} (single puts and deletes: an LPM trie
 * has no batch operations), in native mode the routes to remote pod CIDRs through the uplink
 * (marked ours), and the node addresses masquerading leaves alone. Remote entries are those behind
 * a node or of identity remote-node; anything else in the ipcache is not this class's and is never
 * removed by it. The nodes known by name live in memory: after a restart, {@link #reconcile} (the
 * source's first sync) puts them back, while the kernel keeps forwarding on the pinned map.
 */
final class RemoteNodeState implements RemoteState {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteNodeState.class);
    private static final Comparator<Cidr> BY_PREFIX = Comparator
            .comparingLong((Cidr c) -> Integer.toUnsignedLong(Cidr.toInt(c.network())))
            .thenComparingInt(Cidr::prefixLength);

    private final NodeNetwork network;
    private final TypedMap<IpcacheKey, IpcacheEntry> ipcache;
    /** Native mode: routes to remote pod CIDRs through the uplink; null in overlay mode. */
    private final OwnedRoutes nodeRoutes;
    private final OwnedRoutes uplinkRoutes;
    private final Masquerade masquerade;
    private final Map<String, RemoteNode> nodes = new HashMap<>();
    /**
     * Node addresses the pinned ipcache held at start, exempt from masquerading until the first
     * reconcile says which nodes there are (their names are not in the map).
     */
    private final Set<Inet4Address> nodesAtStart = new HashSet<>();
    /** What masquerading exempts now, to apply the table only when it changes. */
    private Set<Inet4Address> exempt;

    RemoteNodeState(NetNs nodeNs, NodeNetwork network, TypedMap<IpcacheKey, IpcacheEntry> ipcache,
                    Masquerade masquerade) {
        this.network = network;
        this.ipcache = ipcache;
        this.masquerade = masquerade;
        this.uplinkRoutes = new OwnedRoutes(nodeNs, network.uplink().name(), network.uplink().ifindex());
        this.nodeRoutes = network.mode() == RoutingMode.NATIVE ? uplinkRoutes : null;
    }

    /**
     * At start: masquerading exempts the nodes the pinned ipcache already holds (until the first
     * sync says otherwise), and in overlay mode no native route of an earlier run stays.
     */
    synchronized void start() {
        if (nodeRoutes == null && uplinkRoutes.sync(List.of()) > 0) {
            LOG.info("removed the native routes of an earlier run: the node is in overlay mode");
        }
        ipcache.entries().forEach((k, v) -> {
            if (v.identity() == IpcacheEntry.IDENTITY_REMOTE_NODE && k.prefixLength() == 32) {
                nodesAtStart.add(k.network());
            }
        });
        updateMasquerade();
    }

    @Override
    public synchronized void upsertNode(String name, Inet4Address underlayIP, Cidr podCIDR) {
        RemoteNode node = new RemoteNode(name, underlayIP, podCIDR);
        check(node);
        for (RemoteNode other : nodes.values()) {
            if (!other.name().equals(name)) {
                checkApart(node, other);
            }
        }
        RemoteNode previous = nodes.get(name);
        if (nodeRoutes != null) {
            nodeRoutes.put(routeTo(node)); // first: a route that is not ours refuses the node before any entry
        }
        Map<IpcacheKey, IpcacheEntry> entries = entriesOf(node);
        entries.forEach(ipcache::put);
        if (previous != null && !previous.equals(node)) {
            for (IpcacheKey stale : entriesOf(previous).keySet()) {
                if (!entries.containsKey(stale)) {
                    ipcache.remove(stale);
                }
            }
            if (!previous.underlayIP().equals(underlayIP)) {
                movePods(previous.underlayIP(), underlayIP);
            }
            if (nodeRoutes != null && !previous.podCIDR().equals(podCIDR)) {
                nodeRoutes.delete(routeTo(previous));
            }
        }
        nodes.put(name, node);
        LOG.info("node {}: {} behind {}", name, podCIDR, underlayIP.getHostAddress());
        updateMasquerade();
    }

    /** The pods behind a node that changed its address follow it. */
    private void movePods(Inet4Address from, Inet4Address to) {
        int moved = 0;
        for (Map.Entry<IpcacheKey, IpcacheEntry> e : ipcache.entries().entrySet()) {
            IpcacheEntry entry = e.getValue();
            if (entry.node().filter(from::equals).isPresent()) {
                ipcache.put(e.getKey(), new IpcacheEntry(entry.identity(), to, entry.flags()));
                moved++;
            }
        }
        LOG.info("{} pods moved from {} to {}", moved, from.getHostAddress(), to.getHostAddress());
    }

    @Override
    public synchronized void removeNode(String name) {
        RemoteNode node = nodes.remove(Objects.requireNonNull(name, "name"));
        if (node == null) {
            LOG.info("node {} is not known: nothing to remove", name);
            return;
        }
        if (nodeRoutes != null) {
            nodeRoutes.delete(routeTo(node));
        }
        int pods = 0;
        for (Map.Entry<IpcacheKey, IpcacheEntry> e : ipcache.entries().entrySet()) {
            if (e.getValue().node().filter(node.underlayIP()::equals).isPresent() && ipcache.remove(e.getKey())) {
                pods++;
            }
        }
        ipcache.remove(IpcacheKey.host(node.underlayIP()));
        nodesAtStart.remove(node.underlayIP());
        LOG.info("node {} removed ({} behind {}, {} entries)", name, node.podCIDR(),
                node.underlayIP().getHostAddress(), pods);
        updateMasquerade();
    }

    @Override
    public synchronized void upsertPod(Inet4Address ip, Inet4Address nodeUnderlayIP, int identity) {
        RemotePod pod = new RemotePod(ip, nodeUnderlayIP, identity);
        check(pod);
        ipcache.put(IpcacheKey.host(ip), entryOf(pod));
    }

    @Override
    public synchronized void removePod(Inet4Address ip) {
        IpcacheKey key = IpcacheKey.host(Objects.requireNonNull(ip, "ip"));
        if (ipcache.get(key).filter(e -> e.node().isPresent()).isPresent()) {
            ipcache.remove(key);
        }
    }

    @Override
    public synchronized void reconcile(Collection<RemoteNode> wantedNodes, Collection<RemotePod> wantedPods) {
        Map<String, RemoteNode> byName = new LinkedHashMap<>();
        Map<IpcacheKey, IpcacheEntry> desired = new HashMap<>();
        for (RemoteNode node : wantedNodes) {
            check(node);
            for (RemoteNode other : byName.values()) {
                checkApart(node, other);
            }
            if (byName.put(node.name(), node) != null) {
                throw new IllegalArgumentException("node " + node.name() + " is listed twice");
            }
            desired.putAll(entriesOf(node));
        }
        for (RemotePod pod : wantedPods) {
            check(pod);
            desired.put(IpcacheKey.host(pod.ip()), entryOf(pod));
        }
        // Routes first, as upsertNode: a route that is not ours refuses the sync before any entry changes.
        int routesRemoved = uplinkRoutes.sync(nodeRoutes == null ? List.of()
                : byName.values().stream().map(this::routeTo).toList());
        Map<IpcacheKey, IpcacheEntry> current = ipcache.entries();
        int put = 0;
        int removed = 0;
        for (Map.Entry<IpcacheKey, IpcacheEntry> e : desired.entrySet()) {
            if (!e.getValue().equals(current.get(e.getKey()))) {
                ipcache.put(e.getKey(), e.getValue());
                put++;
            }
        }
        for (Map.Entry<IpcacheKey, IpcacheEntry> e : current.entrySet()) {
            if (isRemote(e.getValue()) && !desired.containsKey(e.getKey()) && ipcache.remove(e.getKey())) {
                removed++;
            }
        }
        nodes.clear();
        nodes.putAll(byName);
        nodesAtStart.clear();
        LOG.info("reconciled {} nodes and {} pods: {} ipcache entries written, {} stale removed, {} stale routes"
                + " removed", byName.size(), wantedPods.size(), put, removed, routesRemoved);
        updateMasquerade();
    }

    @Override
    public List<IpcacheRow> ipcache() {
        List<IpcacheRow> rows = new ArrayList<>();
        ipcache.entries().forEach((k, v) -> rows.add(new IpcacheRow(new Cidr(k.network(), k.prefixLength()),
                v.identity(), v.node().orElse(null), v.flags())));
        rows.sort(Comparator.comparing(IpcacheRow::prefix, BY_PREFIX));
        return rows;
    }

    /** The pod CIDR behind the node, and the node itself. */
    private static Map<IpcacheKey, IpcacheEntry> entriesOf(RemoteNode node) {
        Map<IpcacheKey, IpcacheEntry> entries = new HashMap<>();
        entries.put(new IpcacheKey(node.podCIDR().network(), node.podCIDR().prefixLength()),
                new IpcacheEntry(IpcacheEntry.IDENTITY_UNKNOWN, node.underlayIP(), IpcacheEntry.F_POD_CIDR));
        entries.put(IpcacheKey.host(node.underlayIP()), IpcacheEntry.local(IpcacheEntry.IDENTITY_REMOTE_NODE, 0));
        return entries;
    }

    private static IpcacheEntry entryOf(RemotePod pod) {
        return new IpcacheEntry(pod.identity(), pod.nodeUnderlayIP(), 0);
    }

    private static boolean isRemote(IpcacheEntry entry) {
        return entry.node().isPresent() || entry.identity() == IpcacheEntry.IDENTITY_REMOTE_NODE;
    }

    private Netlink.Route routeTo(RemoteNode node) {
        return Netlink.Route.via(node.podCIDR().network(), node.podCIDR().prefixLength(), node.underlayIP(),
                network.uplink().ifindex(), false);
    }

    private void updateMasquerade() {
        Set<Inet4Address> nodeIPs = new HashSet<>(nodesAtStart);
        nodes.values().forEach(n -> nodeIPs.add(n.underlayIP()));
        if (!nodeIPs.equals(exempt)) {
            masquerade.apply(nodeIPs);
            exempt = nodeIPs;
        }
    }

    /** A remote node must not claim this node's address or pods, and its pods must be the cluster's. */
    private void check(RemoteNode node) {
        String what = "node " + node.name();
        if (node.underlayIP().equals(network.nodeIP())) {
            throw new IllegalArgumentException(what + ": underlayIP " + node.underlayIP().getHostAddress()
                    + " is this node's own address");
        }
        if (node.podCIDR().overlaps(network.podCIDR())) {
            throw new IllegalArgumentException(what + ": podCIDR " + node.podCIDR() + " overlaps this node's "
                    + network.podCIDR());
        }
        if (network.clusterCIDRs().stream().noneMatch(c -> c.overlaps(node.podCIDR())
                && c.prefixLength() <= node.podCIDR().prefixLength())) {
            throw new IllegalArgumentException(what + ": podCIDR " + node.podCIDR() + " is outside the clusterCIDR "
                    + network.clusterCIDRs());
        }
        if (network.clusterCIDRs().stream().anyMatch(c -> c.contains(node.underlayIP()))) {
            throw new IllegalArgumentException(what + ": underlayIP " + node.underlayIP().getHostAddress()
                    + " is inside the clusterCIDR " + network.clusterCIDRs());
        }
    }

    private static void checkApart(RemoteNode node, RemoteNode other) {
        if (node.podCIDR().overlaps(other.podCIDR())) {
            throw new IllegalArgumentException("node " + node.name() + ": podCIDR " + node.podCIDR()
                    + " overlaps node " + other.name() + "'s " + other.podCIDR());
        }
        if (node.underlayIP().equals(other.underlayIP())) {
            throw new IllegalArgumentException("node " + node.name() + ": underlayIP "
                    + node.underlayIP().getHostAddress() + " is node " + other.name() + "'s");
        }
    }

    private void check(RemotePod pod) {
        String what = "pod " + pod.ip().getHostAddress();
        if (network.podCIDR().contains(pod.ip())) {
            throw new IllegalArgumentException(what + ": ip is inside this node's podCIDR " + network.podCIDR());
        }
        if (pod.nodeUnderlayIP().equals(network.nodeIP())) {
            throw new IllegalArgumentException(what + ": nodeUnderlayIP " + pod.nodeUnderlayIP().getHostAddress()
                    + " is this node's own address");
        }
        if (pod.identity() < 0) {
            throw new IllegalArgumentException(what + ": identity " + pod.identity() + " is negative");
        }
    }
}
