package io.vesicle.agent.datapath;

import java.net.Inet4Address;
import java.util.Objects;

/**
 * The node's device towards the other nodes (the underlay), as found at start.
 *
 * @param name    its name
 * @param ifindex its index in the node's namespace
 * @param mtu     its MTU, from which the pods' follows
 * @param address its first IPv4 address
 */
public record Uplink(String name, int ifindex, int mtu, Inet4Address address) {
    public Uplink {
        Objects.requireNonNull(name, "uplink name");
        Objects.requireNonNull(address, "uplink address");
        if (ifindex <= 0) {
            throw new IllegalArgumentException("uplink " + name + ": ifindex " + ifindex + " must be positive");
        }
        if (mtu < NodeNetwork.MIN_UNDERLAY_MTU) {
            throw new IllegalArgumentException("uplink " + name + ": MTU " + mtu + " is below "
                    + NodeNetwork.MIN_UNDERLAY_MTU);
        }
    }
}
