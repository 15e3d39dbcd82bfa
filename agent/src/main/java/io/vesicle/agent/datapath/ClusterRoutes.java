package io.vesicle.agent.datapath;

import io.vesicle.cluster.Cidr;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import java.util.List;

/**
 * The node's routes to the cluster's pod CIDRs through vsl_host, with the node's address as their
 * source: node processes (and traffic kube-proxy DNATs to a remote pod) leave through
 * {@code from_host}, and the replies come back to an address the other nodes know. Local pods
 * have /32 routes through their veths, which win; in native mode so do the routes to each remote
 * node's pod CIDR.
 */
final class ClusterRoutes implements NodeRealizer {
    private final NodeNetwork network;
    private final OwnedRoutes routes;
    private final int hostIfindex;

    ClusterRoutes(NetNs nodeNs, NodeNetwork network, int hostIfindex) {
        this.network = network;
        this.hostIfindex = hostIfindex;
        this.routes = new OwnedRoutes(nodeNs, NodeDevices.HOST, hostIfindex);
    }

    @Override
    public String name() {
        return "cluster routes";
    }

    private List<Netlink.Route> desired() {
        return network.clusterCIDRs().stream().map(this::route).toList();
    }

    private Netlink.Route route(Cidr cidr) {
        return Netlink.Route.link(cidr.network(), cidr.prefixLength(), hostIfindex).withSource(network.nodeIP());
    }

    @Override
    public void apply() {
        routes.sync(desired());
    }

    @Override
    public List<String> verify() {
        return routes.diff(desired());
    }
}
