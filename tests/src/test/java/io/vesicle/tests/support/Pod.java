package io.vesicle.tests.support;

import io.vesicle.agent.datapath.Endpoint;
import io.vesicle.agent.datapath.PodInterface;
import io.vesicle.loader.NetNs;
import io.vesicle.maps.MacAddress;
import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * A pod as a CNI plugin would leave it: its own namespace with eth0 (a /32 address, a link-scope
 * route to the gateway, a default route via it), and the veth's host side in the node namespace.
 */
public record Pod(String netns, NetNs ns, String hostIf, Inet4Address address, MacAddress mac, int id) {
    public static final Inet4Address GATEWAY = address("10.199.0.1");

    public static Pod create(TestNetwork network, NetNs nodeNs, int id, String address) {
        String netns = network.namespace("pod" + id);
        NetNs ns = network.open(netns);
        String hostIf = "lxc" + id;
        MacAddress mac = MacAddress.parse(String.format("02:00:0a:c7:%02x:%02x", id >> 8, id & 0xff));
        Inet4Address ip = address(address);
        PodInterface.create(nodeNs, hostIf, ns, "eth0", ip, GATEWAY, 1500, mac);
        return new Pod(netns, ns, hostIf, ip, mac, id);
    }

    public Endpoint endpoint() {
        return new Endpoint(id, hostIf, address, mac, 256 + id);
    }

    public String ip() {
        return address.getHostAddress();
    }

    public static Inet4Address address(String text) {
        try {
            return (Inet4Address) InetAddress.getByName(text);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(text, e);
        }
    }
}
