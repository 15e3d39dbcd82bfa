package io.vesicle.agent.datapath;

import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.loader.NoSuchDeviceException;
import java.net.Inet4Address;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What an endpoint should be in the kernel: the desired state every {@link Realizer} makes true,
 * checks and removes. One record, so "what a wired endpoint is" is written once.
 *
 * @param id       the agent's endpoint id (in the datapath's entries)
 * @param hostIf   the host-side veth, in the node's namespace
 * @param netns    the pod's network namespace file; null when unknown (a state rebuilt after a
 *                 crash): an existing veth is then kept as it is
 * @param podIf    the pod-side interface name; null when only the node side is wired (the
 *                 datapath commands and tests that make their own veths)
 * @param address  the pod's IPv4 address (a /32 on podIf)
 * @param gateway  the pods' gateway (a link route in the pod, and its default route's next hop)
 * @param mtu      both ends' MTU
 * @param podMac   the pod interface's MAC, "aa:bb:.."; null until the veth exists (the kernel picks it)
 * @param identity the pod's security identity
 */
public record EndpointWiring(int id, String hostIf, Path netns, String podIf, Inet4Address address,
                             Inet4Address gateway, int mtu, String podMac, int identity) {
    public EndpointWiring {
        if (id <= 0) {
            throw new IllegalArgumentException("endpoint id must be positive, got " + id);
        }
        Objects.requireNonNull(hostIf, "hostIf");
        Objects.requireNonNull(address, "address");
    }

    /** The host-side veth in the node's namespace, which every realizer but the veth's needs. */
    Netlink.Link hostLink(NetNs nodeNs) {
        return Netlink.link(nodeNs, hostIf).orElseThrow(() -> new NoSuchDeviceException(this + ": no device " + hostIf
                + " in " + NetNs.describe(nodeNs)));
    }

    public EndpointWiring withPodMac(String mac) {
        return new EndpointWiring(id, hostIf, netns, podIf, address, gateway, mtu, mac, identity);
    }

    @Override
    public String toString() {
        return "endpoint " + id + " (" + hostIf + ", " + address.getHostAddress() + ")";
    }
}
