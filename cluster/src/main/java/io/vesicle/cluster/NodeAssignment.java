package io.vesicle.cluster;

import java.util.Objects;

/**
 * What the cluster assigns this node.
 *
 * @param podCIDR     the prefix this node's pods get addresses from
 * @param clusterCIDR the prefix every node's pod CIDR lies in (pod-to-pod traffic inside it is
 *                    never masqueraded); null when the source does not know one
 */
public record NodeAssignment(Cidr podCIDR, Cidr clusterCIDR) {
    public NodeAssignment {
        Objects.requireNonNull(podCIDR, "podCIDR");
    }
}
