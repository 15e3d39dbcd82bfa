package io.vesicle.agent.datapath;

import io.vesicle.agent.core.AgentException;
import io.vesicle.loader.Errors;
import io.vesicle.loader.NativeException;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.maps.MacAddress;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The endpoint's veth: the host side up in the node's namespace, the pod side in the pod's with
 * its /32 address, a link route to the gateway and a default route via it. An existing host side
 * is kept as it is (restore must not disturb a running pod); routes in the pod are added
 * exclusively, never replacing one it has.
 */
final class PodInterfaceRealizer implements Realizer {
    private static final Logger LOG = LoggerFactory.getLogger(PodInterfaceRealizer.class);
    /** Host-side names the agent gives: "lxc" + 11 hex digits. */
    static final Pattern HOST_IF = Pattern.compile("lxc[0-9a-f]{11}");
    private static final Inet4Address ANY = PodInterface.ipv4("0.0.0.0");

    private final NetNs nodeNs;
    private final PodNamespaces namespaces;

    PodInterfaceRealizer(NetNs nodeNs, PodNamespaces namespaces) {
        this.nodeNs = nodeNs;
        this.namespaces = namespaces;
    }

    @Override
    public String name() {
        return "veth";
    }

    @Override
    public EndpointWiring apply(EndpointWiring w) {
        if (Netlink.link(nodeNs, w.hostIf()).isPresent()) {
            repairPodSide(w);
            return w.podMac() != null ? w : w.withPodMac(podMac(w).orElse(null));
        }
        if (w.netns() == null || w.podIf() == null) {
            throw new IllegalStateException(w + ": the veth " + w.hostIf() + " is gone and the pod's namespace is"
                    + " not known");
        }
        try (NetNs podNs = namespaces.open(w.netns())) {
            if (Netlink.link(podNs, w.podIf()).isPresent()) {
                throw AgentException.conflict("interface " + w.podIf() + " already exists in netns " + w.netns());
            }
            PodInterface pod;
            try {
                pod = PodInterface.create(nodeNs, w.hostIf(), podNs, w.podIf(), w.address(), w.gateway(), w.mtu(),
                        w.podMac() == null ? null : MacAddress.parse(w.podMac()));
            } catch (NativeException e) {
                if (e.errno() == Errors.EEXIST) {
                    throw AgentException.conflict(w + ": " + e.getMessage(), e);
                }
                throw e;
            }
            return w.withPodMac(pod.mac().toString());
        }
    }

    /**
     * Puts back what is missing of an existing pod side (its /32 address, the link route to the
     * gateway, the default route), each added exclusively: what is there is kept, and a route the
     * pod has through something else stays for CHECK to name.
     */
    private void repairPodSide(EndpointWiring w) {
        if (w.netns() == null || w.podIf() == null) {
            return;
        }
        try (NetNs podNs = namespaces.open(w.netns())) {
            Optional<Netlink.Link> pod = Netlink.link(podNs, w.podIf());
            if (pod.isEmpty()) {
                return;
            }
            int index = pod.get().index();
            if (Netlink.addresses(podNs, index).stream().noneMatch(a -> a.address().equals(w.address())
                    && a.prefixLength() == 32)) {
                Netlink.addAddress(podNs, index, w.address(), 32);
                LOG.info("{}: put back {}/32 on {} in {}", w, w.address().getHostAddress(), w.podIf(), w.netns());
            }
            addIfMissing(podNs, Netlink.Route.link(w.gateway(), 32, index));
            addIfMissing(podNs, Netlink.Route.via(ANY, 0, w.gateway(), index, true));
        }
    }

    private static void addIfMissing(NetNs podNs, Netlink.Route route) {
        try {
            Netlink.addRoute(podNs, route, false);
        } catch (NativeException e) {
            if (e.errno() != Errors.EEXIST) {
                throw e;
            }
        }
    }

    private Optional<String> podMac(EndpointWiring w) {
        if (w.netns() == null || w.podIf() == null) {
            return Optional.empty();
        }
        try (NetNs podNs = namespaces.open(w.netns())) {
            return Netlink.link(podNs, w.podIf()).map(l -> MacAddress.of(l.mac()).toString());
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<String> verify(EndpointWiring w) {
        List<String> diffs = new ArrayList<>();
        Optional<Netlink.Link> host = Netlink.link(nodeNs, w.hostIf());
        if (host.isEmpty()) {
            diffs.add("host veth " + w.hostIf() + " is missing");
        } else if (!host.get().up()) {
            diffs.add("host veth " + w.hostIf() + " is down");
        }
        if (w.netns() == null) {
            diffs.add("the pod's netns is not known (its state was rebuilt); the pod side is not checked");
            return diffs;
        }
        NetNs podNs;
        try {
            podNs = namespaces.open(w.netns());
        } catch (AgentException e) {
            diffs.add(e.getMessage());
            return diffs;
        }
        try (podNs) {
            Optional<Netlink.Link> pod = Netlink.link(podNs, w.podIf());
            if (pod.isEmpty()) {
                diffs.add("interface " + w.podIf() + " is missing from netns " + w.netns());
                return diffs;
            }
            Netlink.Link link = pod.get();
            if (!link.up()) {
                diffs.add(w.podIf() + " is down");
            }
            // No MTU check: plugins chained after ours (tuning) may set it. A changed MAC is
            // checked, since the datapath refuses frames from any other.
            if (!MacAddress.of(link.mac()).toString().equals(w.podMac())) {
                diffs.add(w.podIf() + " has MAC " + MacAddress.of(link.mac()) + ", expected " + w.podMac());
            }
            boolean hasAddress = Netlink.addresses(podNs, link.index()).stream()
                    .anyMatch(a -> a.address().equals(w.address()) && a.prefixLength() == 32);
            if (!hasAddress) {
                diffs.add(w.podIf() + " lacks address " + w.address().getHostAddress() + "/32");
            }
            List<Netlink.Route> routes = Netlink.routes(podNs, link.index());
            if (routes.stream().noneMatch(r -> r.destination().equals(w.gateway()) && r.prefixLength() == 32
                    && r.gateway() == null)) {
                diffs.add("no route to the gateway " + w.gateway().getHostAddress() + "/32 on " + w.podIf());
            }
            if (routes.stream().noneMatch(r -> r.destination().equals(ANY) && r.prefixLength() == 0
                    && w.gateway().equals(r.gateway()))) {
                diffs.add("no default route via " + w.gateway().getHostAddress() + " on " + w.podIf());
            }
        }
        return diffs;
    }

    @Override
    public void remove(EndpointWiring w) {
        PodInterface.remove(nodeNs, w.hostIf()); // takes the pod side, its address and routes with it
    }

    @Override
    public int sweep(Collection<EndpointWiring> wired) {
        Set<String> owned = new HashSet<>();
        wired.forEach(w -> owned.add(w.hostIf()));
        int removed = 0;
        for (Netlink.Link link : Netlink.links(nodeNs)) {
            if (HOST_IF.matcher(link.name()).matches() && link.kind().equals("veth") && !owned.contains(link.name())
                    && PodInterface.remove(nodeNs, link.name())) {
                removed++;
                LOG.info("sweep: deleted {}, a veth no endpoint accounts for", link.name());
            }
        }
        return removed;
    }
}
