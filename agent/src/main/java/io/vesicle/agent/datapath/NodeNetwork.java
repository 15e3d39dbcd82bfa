package io.vesicle.agent.datapath;

import io.vesicle.cluster.Cidr;
import java.net.Inet4Address;
import java.util.List;
import java.util.Objects;

/**
 * What this node's datapath needs to reach the rest of the cluster.
 *
 * @param mode         overlay or native routing
 * @param uplink       the device towards the other nodes
 * @param nodeIP       this node's address on the underlay: the tunnel's source, and the source of
 *                     the node's own traffic to remote pods
 * @param podCIDR      this node's pods' prefix: what masquerading applies to
 * @param clusterCIDRs every pod's prefix across the cluster: routed through vsl_host, never
 *                     masqueraded
 * @param masquerade   whether traffic from pods to the outside leaves with the node's address
 */
public record NodeNetwork(RoutingMode mode, Uplink uplink, Inet4Address nodeIP, Cidr podCIDR,
                          List<Cidr> clusterCIDRs, boolean masquerade) {
    /** IPv4's minimum MTU plus the VXLAN overhead: below it no pod packet fits a tunnel. */
    static final int MIN_UNDERLAY_MTU = 576 + 50;
    /** Outer Ethernet (14), IPv4 (20), UDP (8) and VXLAN (8) headers. */
    public static final int VXLAN_OVERHEAD = 50;

    public NodeNetwork {
        Objects.requireNonNull(mode, "routingMode");
        Objects.requireNonNull(uplink, "uplink");
        Objects.requireNonNull(nodeIP, "nodeIP");
        Objects.requireNonNull(podCIDR, "podCIDR");
        clusterCIDRs = List.copyOf(Objects.requireNonNull(clusterCIDRs, "clusterCIDR"));
        if (clusterCIDRs.isEmpty()) {
            throw new IllegalArgumentException("clusterCIDR: at least one prefix is needed");
        }
        for (int i = 0; i < clusterCIDRs.size(); i++) {
            for (int j = i + 1; j < clusterCIDRs.size(); j++) {
                if (clusterCIDRs.get(i).overlaps(clusterCIDRs.get(j))) {
                    throw new IllegalArgumentException("clusterCIDR: " + clusterCIDRs.get(i) + " and "
                            + clusterCIDRs.get(j) + " overlap");
                }
            }
        }
        if (clusterCIDRs.stream().noneMatch(c -> c.overlaps(podCIDR) && c.prefixLength() <= podCIDR.prefixLength())) {
            throw new IllegalArgumentException("podCIDR " + podCIDR + " is not inside the clusterCIDR " + clusterCIDRs);
        }
        if (clusterCIDRs.stream().anyMatch(c -> c.contains(nodeIP))) {
            throw new IllegalArgumentException("nodeIP " + nodeIP.getHostAddress() + " is inside the clusterCIDR "
                    + clusterCIDRs);
        }
    }

    /** The MTU a packet between pods can have in this mode: the uplink's, less the tunnel's headers. */
    public int podMtu() {
        return mode == RoutingMode.OVERLAY ? uplink.mtu() - VXLAN_OVERHEAD : uplink.mtu();
    }
}
