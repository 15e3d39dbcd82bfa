package io.vesicle.cluster;

import java.net.Inet4Address;
import java.util.Objects;

/**
 * A node of the cluster as the store describes it.
 *
 * @param name       the node's name, unique in the cluster
 * @param underlayIP the address other nodes reach it at (Kubernetes: its InternalIP)
 * @param podCIDR    the prefix its pods get addresses from; null when not yet assigned
 */
public record NodeInfo(String name, Inet4Address underlayIP, Cidr podCIDR) {
    public NodeInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(underlayIP, "underlayIP");
    }
}
