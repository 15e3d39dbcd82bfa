package io.vesicle.agent.datapath;

import io.vesicle.maps.MacAddress;
import java.net.Inet4Address;
import java.util.Objects;

/**
 * A pod interface as the datapath needs to know it.
 *
 * @param id         the agent's endpoint id
 * @param hostIfName the host-side veth, in the node's namespace
 * @param address    the pod's IPv4 address
 * @param mac        the pod interface's MAC; its frames must carry it
 * @param identity   the pod's security identity
 */
public record Endpoint(int id, String hostIfName, Inet4Address address, MacAddress mac, int identity) {
    public Endpoint {
        if (id <= 0) {
            throw new IllegalArgumentException("endpoint id must be positive, got " + id);
        }
        Objects.requireNonNull(hostIfName, "hostIfName");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(mac, "mac");
    }
}
