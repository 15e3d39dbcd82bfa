package io.vesicle.agent.datapath;

import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.maps.MacAddress;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * A pod's veth as the plugin leaves it: the host side up in the node's namespace, and inside the
 * pod a /32 address, a link-scope route to the gateway and a default route via it, both added
 * exclusively: a route the namespace already has is a conflict, never replaced (the
 * Cilium/Calico layout: every packet leaves through the host side, whose program answers ARP).
 *
 * @param hostIf   host-side device name
 * @param hostIndex host-side ifindex in the node's namespace
 * @param podIf    pod-side device name
 * @param podIndex pod-side ifindex in the pod's namespace
 * @param mac      the pod-side MAC
 */
public record PodInterface(String hostIf, int hostIndex, String podIf, int podIndex, MacAddress mac) {
    private static final Inet4Address ANY = ipv4("0.0.0.0");

    /**
     * Creates and configures the pair; on failure removes what it created, so a pod is either
     * fully wired or untouched.
     *
     * @param mac the pod-side MAC, or null for a kernel-chosen one
     */
    public static PodInterface create(NetNs nodeNs, String hostIf, NetNs podNs, String podIf, Inet4Address address,
                                      Inet4Address gateway, int mtu, MacAddress mac) {
        Netlink.Link host = Netlink.createVeth(nodeNs, hostIf, podIf, podNs, mtu, mac == null ? null : mac.bytes());
        try {
            Netlink.setUp(nodeNs, host.index());
            Netlink.Link pod = Netlink.link(podNs, podIf).orElseThrow(() -> new IllegalStateException(
                    "veth peer " + podIf + " did not appear in " + NetNs.describe(podNs)));
            Netlink.setUp(podNs, pod.index());
            Netlink.addAddress(podNs, pod.index(), address, 32);
            Netlink.addRoute(podNs, Netlink.Route.link(gateway, 32, pod.index()), false);
            Netlink.addRoute(podNs, Netlink.Route.via(ANY, 0, gateway, pod.index(), true), false);
            return new PodInterface(hostIf, host.index(), podIf, pod.index(), MacAddress.of(pod.mac()));
        } catch (RuntimeException e) {
            Netlink.deleteLink(nodeNs, hostIf); // takes the peer with it
            throw e;
        }
    }

    /** Removes the pair by its host side; false when it was already gone. */
    public static boolean remove(NetNs nodeNs, String hostIf) {
        return Netlink.deleteLink(nodeNs, hostIf);
    }

    static Inet4Address ipv4(String literal) {
        try {
            return (Inet4Address) InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IPv4 literal: " + literal, e);
        }
    }
}
