package io.vesicle.agent.datapath;

import io.vesicle.agent.core.AgentException;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.MacAddress;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The endpoint's two datapath entries: by host-side ifindex (who is sending) and by address (who
 * receives). Written by-ifindex first, so the program never knows an address whose sender it
 * would refuse; rewriting identical entries is invisible to traffic.
 */
final class EndpointEntriesRealizer implements Realizer {
    private final NetNs nodeNs;
    private final DatapathMaps maps;

    EndpointEntriesRealizer(NetNs nodeNs, DatapathMaps maps) {
        this.nodeNs = nodeNs;
        this.maps = maps;
    }

    @Override
    public String name() {
        return "entries";
    }

    EndpointInfo expected(EndpointWiring w, Netlink.Link host) {
        if (w.podMac() == null) {
            throw new IllegalStateException(w + ": the pod's MAC is not known");
        }
        return new EndpointInfo(w.address(), host.index(), w.id(), w.identity(), 0, MacAddress.parse(w.podMac()),
                MacAddress.of(host.mac()));
    }

    @Override
    public EndpointWiring apply(EndpointWiring w) {
        Netlink.Link host = w.hostLink(nodeNs);
        EndpointInfo info = expected(w, host);
        Optional<EndpointInfo> previous = maps.endpoints().get(new EndpointKey(w.address()));
        if (previous.isPresent() && previous.get().ifindex() != host.index()
                && claimedBy(previous.get().ifindex(), w.address())) {
            throw AgentException.conflict("address " + w.address().getHostAddress() + " already belongs to endpoint "
                    + previous.get().endpointId() + " in the datapath");
        }
        maps.endpointsByIfindex().put(new IfIndex(host.index()), info);
        maps.endpoints().put(new EndpointKey(w.address()), info);
        return w;
    }

    /**
     * Whether the device at ifindex exists and is the endpoint whose own entry holds address: an
     * entry by address that points at any other device (gone, or another endpoint's) is stale.
     */
    private boolean claimedBy(int ifindex, Inet4Address address) {
        return Netlink.link(nodeNs, ifindex).isPresent() && maps.endpointsByIfindex().get(new IfIndex(ifindex))
                .map(owner -> owner.address().equals(address)).orElse(false);
    }

    @Override
    public List<String> verify(EndpointWiring w) {
        Optional<Netlink.Link> host = Netlink.link(nodeNs, w.hostIf());
        if (host.isEmpty()) {
            return List.of(); // the veth's own check says so
        }
        List<String> diffs = new ArrayList<>();
        EndpointInfo expected = expected(w, host.get());
        Optional<EndpointInfo> byAddress = maps.endpoints().get(new EndpointKey(w.address()));
        if (!byAddress.equals(Optional.of(expected))) {
            diffs.add("datapath entry for " + w.address().getHostAddress() + " is "
                    + byAddress.map(Object::toString).orElse("missing") + ", expected " + expected);
        }
        Optional<EndpointInfo> byIndex = maps.endpointsByIfindex().get(new IfIndex(host.get().index()));
        if (!byIndex.equals(Optional.of(expected))) {
            diffs.add("datapath entry for ifindex " + host.get().index() + " is "
                    + byIndex.map(Object::toString).orElse("missing") + ", expected " + expected);
        }
        return diffs;
    }

    @Override
    public void remove(EndpointWiring w) {
        EndpointKey key = new EndpointKey(w.address());
        Optional<EndpointInfo> byAddress = maps.endpoints().get(key);
        Optional<Netlink.Link> host = Netlink.link(nodeNs, w.hostIf());
        if (byAddress.isPresent() && byAddress.get().endpointId() == w.id()) {
            maps.endpoints().remove(key);
        }
        Set<Integer> indexes = new HashSet<>();
        host.ifPresent(l -> indexes.add(l.index()));
        byAddress.filter(i -> i.endpointId() == w.id()).ifPresent(i -> indexes.add(i.ifindex()));
        for (int index : indexes) {
            Optional<EndpointInfo> bySender = maps.endpointsByIfindex().get(new IfIndex(index));
            if (bySender.isPresent() && bySender.get().endpointId() == w.id()) {
                maps.endpointsByIfindex().remove(new IfIndex(index));
            }
        }
    }

    @Override
    public int sweep(Collection<EndpointWiring> wired) {
        Map<String, Integer> indexes = new HashMap<>();
        for (Netlink.Link link : Netlink.links(nodeNs)) {
            indexes.put(link.name(), link.index());
        }
        Map<Inet4Address, Integer> expected = new HashMap<>();
        for (EndpointWiring w : wired) {
            Integer index = indexes.get(w.hostIf());
            if (index != null) {
                expected.put(w.address(), index);
            }
        }
        int removed = 0;
        for (Map.Entry<EndpointKey, EndpointInfo> e : maps.endpoints().entries().entrySet()) {
            Integer index = expected.get(e.getKey().address());
            if ((index == null || index != e.getValue().ifindex()) && maps.endpoints().remove(e.getKey())) {
                removed++;
            }
        }
        Set<Integer> expectedIndexes = new HashSet<>(expected.values());
        for (IfIndex index : maps.endpointsByIfindex().keys()) {
            if (!expectedIndexes.contains(index.value()) && maps.endpointsByIfindex().remove(index)) {
                removed++;
            }
        }
        return removed;
    }
}
