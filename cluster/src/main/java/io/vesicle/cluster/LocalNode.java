package io.vesicle.cluster;

import java.net.Inet4Address;
import java.util.Objects;

/**
 * This node, as the agent finds it from its own netlink state, for {@link ClusterState#join}.
 *
 * @param name       this node's name
 * @param underlayIP the address of its uplink; null for a node with none (local mode: no other nodes)
 */
public record LocalNode(String name, Inet4Address underlayIP) {
    public LocalNode {
        Objects.requireNonNull(name, "name");
    }
}
