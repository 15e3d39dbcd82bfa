package io.vesicle.agent.datapath;

import io.vesicle.agent.core.AgentException;
import io.vesicle.loader.Errors;
import io.vesicle.loader.NativeException;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The node's /32 route to the pod through its host-side veth, for the node stack's replies and its
 * own traffic to the pod. Added exclusively: a route the node already has to that address (a
 * pod address that collides with the node's network) is a conflict, never replaced.
 */
final class HostRouteRealizer implements Realizer {
    private final NetNs nodeNs;

    HostRouteRealizer(NetNs nodeNs) {
        this.nodeNs = nodeNs;
    }

    @Override
    public String name() {
        return "route";
    }

    @Override
    public EndpointWiring apply(EndpointWiring w) {
        Netlink.Link host = w.hostLink(nodeNs);
        try {
            Netlink.addRoute(nodeNs, Netlink.Route.link(w.address(), 32, host.index()), false);
        } catch (NativeException e) {
            if (e.errno() != Errors.EEXIST) {
                throw e;
            }
            Optional<Netlink.Route> existing = routeTo(w, 0);
            if (existing.isEmpty() || existing.get().ifindex() != host.index() || existing.get().gateway() != null) {
                throw AgentException.conflict("the node already has a route to " + w.address().getHostAddress()
                        + "/32" + existing.map(r -> " (" + r + ")").orElse("") + "; it is not replaced", e);
            }
        }
        return w;
    }

    private Optional<Netlink.Route> routeTo(EndpointWiring w, int ifindex) {
        return Netlink.routes(nodeNs, ifindex).stream()
                .filter(r -> r.destination().equals(w.address()) && r.prefixLength() == 32).findFirst();
    }

    @Override
    public List<String> verify(EndpointWiring w) {
        Optional<Netlink.Link> host = Netlink.link(nodeNs, w.hostIf());
        if (host.isEmpty() || routeTo(w, host.get().index()).filter(r -> r.gateway() == null).isPresent()) {
            return List.of();
        }
        return List.of("the node has no route to " + w.address().getHostAddress() + "/32 through " + w.hostIf());
    }

    @Override
    public void remove(EndpointWiring w) {
        // Without the veth the route is gone with it; never remove one through another device.
        Netlink.link(nodeNs, w.hostIf()).ifPresent(host ->
                Netlink.deleteRoute(nodeNs, Netlink.Route.link(w.address(), 32, host.index())));
    }

    @Override
    public int sweep(Collection<EndpointWiring> wired) {
        return 0; // routes through a stale veth go with it (the veth realizer's sweep)
    }
}
