package io.vesicle.agent.datapath;

import io.vesicle.loader.Errors;
import io.vesicle.loader.NativeException;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's own devices and the sysctls they need: {@code vsl_vxlan} (overlay mode: VXLAN in
 * external mode on UDP 8472, no learning, MTU = the uplink's less 50), and the veth pair
 * {@code vsl_host}/{@code vsl_net} whose host end carries the node's own traffic to remote pods
 * into {@code from_host}. Both ends are NOARP: the routes through vsl_host need no neighbour that
 * answers, since BPF on its egress takes every packet. A device that exists with the right
 * settings is kept as it is (traffic flows through it); one with the wrong kind or VXLAN settings
 * is replaced.
 */
final class NodeDevices implements NodeRealizer {
    private static final Logger LOG = LoggerFactory.getLogger(NodeDevices.class);
    static final String VXLAN = "vsl_vxlan";
    static final String HOST = "vsl_host";
    static final String NET = "vsl_net";
    static final int VXLAN_PORT = 8472;
    private static final String VETH = "veth";
    /** rp_filter loose: node traffic to remote pods leaves on vsl_host, while the replies may arrive elsewhere. */
    private static final String RP_FILTER_LOOSE = "2";
    /**
     * rp_filter off on vsl_vxlan: the replies to a local pod's Service flow the stack DNATed come out of the tunnel
     * and are forwarded by the stack, and a device without an address fails even the loose check. Effective only
     * where net.ipv4.conf.all.rp_filter is 0 too (the kernel takes the higher of the two).
     */
    private static final String RP_FILTER_OFF = "0";

    private final NetNs nodeNs;
    private final NodeNetwork network;

    NodeDevices(NetNs nodeNs, NodeNetwork network) {
        this.nodeNs = nodeNs;
        this.network = network;
    }

    @Override
    public String name() {
        return "devices";
    }

    @Override
    public void apply() {
        if (network.mode() == RoutingMode.OVERLAY) {
            ensureVxlan();
        } else if (Netlink.deleteLink(nodeNs, VXLAN)) {
            LOG.info("deleted {}: the node routes natively now", VXLAN);
        }
        ensureHostPair();
        NetNs.writeSysctl(nodeNs, "ipv4/ip_forward", "1");
        NetNs.writeSysctl(nodeNs, "ipv4/conf/" + HOST + "/rp_filter", RP_FILTER_LOOSE);
        if (network.mode() == RoutingMode.OVERLAY) {
            NetNs.writeSysctl(nodeNs, "ipv4/conf/" + VXLAN + "/rp_filter", RP_FILTER_OFF);
        }
    }

    private void ensureVxlan() {
        Optional<Netlink.Vxlan> existing = vxlan();
        if (existing.isPresent() && !isOurs(existing.get())) {
            LOG.warn("replacing {}: it is {}, not an external VXLAN device on port {} without learning", VXLAN,
                    existing.get(), VXLAN_PORT);
            Netlink.deleteLink(nodeNs, VXLAN);
            existing = Optional.empty();
        }
        Netlink.Link link;
        if (existing.isPresent()) {
            link = existing.get().link();
        } else {
            link = Netlink.createVxlan(nodeNs, VXLAN, VXLAN_PORT, network.podMtu());
            LOG.info("created {} (external, port {}, MTU {})", VXLAN, VXLAN_PORT, network.podMtu());
        }
        settle(link);
    }

    /** The VXLAN settings of vsl_vxlan; a device of another kind by that name reads as one that is not ours. */
    private Optional<Netlink.Vxlan> vxlan() {
        try {
            return Netlink.vxlan(nodeNs, VXLAN);
        } catch (NativeException e) {
            if (e.errno() != Errors.EMEDIUMTYPE) {
                throw e;
            }
            return Netlink.link(nodeNs, VXLAN).map(l -> new Netlink.Vxlan(l, 0, false, false));
        }
    }

    private static boolean isOurs(Netlink.Vxlan vxlan) {
        return vxlan.collectMetadata() && vxlan.dstPort() == VXLAN_PORT && !vxlan.learning();
    }

    private void ensureHostPair() {
        Optional<Netlink.Link> host = Netlink.link(nodeNs, HOST);
        if (host.isPresent() && !host.get().kind().equals(VETH)) {
            LOG.warn("replacing {}: it is {}, not a veth", HOST, host.get());
            Netlink.deleteLink(nodeNs, HOST);
            host = Optional.empty();
        }
        if (host.isEmpty()) {
            host = Optional.of(Netlink.createVeth(nodeNs, HOST, NET, null, network.podMtu(), null));
            LOG.info("created {}/{} (MTU {})", HOST, NET, network.podMtu());
        }
        Netlink.Link net = Netlink.link(nodeNs, NET).orElseThrow(() -> new IllegalStateException(
                HOST + " exists but its peer " + NET + " is not in the node's namespace"));
        for (Netlink.Link link : List.of(host.get(), net)) {
            Netlink.setNoArp(nodeNs, link.index(), true);
            settle(link);
        }
    }

    /** The MTU pods have, and up. */
    private void settle(Netlink.Link link) {
        if (link.mtu() != network.podMtu()) {
            Netlink.setMtu(nodeNs, link.index(), network.podMtu());
            LOG.info("set the MTU of {} to {} (was {})", link.name(), network.podMtu(), link.mtu());
        }
        if (!link.up()) {
            Netlink.setUp(nodeNs, link.index());
        }
    }

    /** The index of vsl_vxlan, which from_container redirects to; 0 in native mode. */
    int encapIfindex() {
        if (network.mode() != RoutingMode.OVERLAY) {
            return 0;
        }
        return Netlink.link(nodeNs, VXLAN).orElseThrow(() -> new IllegalStateException(VXLAN + " is missing"))
                .index();
    }

    /** The index of vsl_host. */
    int hostIfindex() {
        return Netlink.link(nodeNs, HOST).orElseThrow(() -> new IllegalStateException(HOST + " is missing"))
                .index();
    }

    @Override
    public List<String> verify() {
        List<String> diffs = new ArrayList<>();
        if (network.mode() == RoutingMode.OVERLAY) {
            Optional<Netlink.Vxlan> vxlan = vxlan();
            if (vxlan.isEmpty()) {
                diffs.add("the VXLAN device " + VXLAN + " is missing");
            } else if (!isOurs(vxlan.get())) {
                diffs.add(VXLAN + " is " + vxlan.get() + ", not an external VXLAN device on port " + VXLAN_PORT
                        + " without learning");
            } else {
                checkSettled(vxlan.get().link(), diffs);
            }
        }
        for (String name : List.of(HOST, NET)) {
            Optional<Netlink.Link> link = Netlink.link(nodeNs, name);
            if (link.isEmpty()) {
                diffs.add("the host device " + name + " is missing");
            } else if (!link.get().kind().equals(VETH)) {
                diffs.add(name + " is " + link.get() + ", not a veth");
            } else {
                checkSettled(link.get(), diffs);
            }
        }
        return diffs;
    }

    private void checkSettled(Netlink.Link link, List<String> diffs) {
        if (!link.up()) {
            diffs.add(link.name() + " is down");
        }
        if (link.mtu() != network.podMtu()) {
            diffs.add(link.name() + " has MTU " + link.mtu() + ", not " + network.podMtu());
        }
    }
}
