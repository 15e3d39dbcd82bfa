package io.vesicle.agent.datapath;

import io.vesicle.agent.core.AgentException;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's routes of Vesicle's own through one device, marked with a route protocol number of
 * ours ({@value #PROTOCOL}) so that a restart finds and removes stale ones, and never touches a
 * route someone else made: a destination that already has a route not marked ours is a conflict.
 */
final class OwnedRoutes {
    private static final Logger LOG = LoggerFactory.getLogger(OwnedRoutes.class);
    /** Vesicle's route protocol; unassigned in iproute2's rt_protos. */
    static final int PROTOCOL = 0xf5;

    private final NetNs nodeNs;
    private final String device;
    private final int ifindex;

    OwnedRoutes(NetNs nodeNs, String device, int ifindex) {
        this.nodeNs = nodeNs;
        this.device = device;
        this.ifindex = ifindex;
    }

    /** route, marked ours, through this device. */
    Netlink.Route mark(Netlink.Route route) {
        if (route.ifindex() != ifindex) {
            throw new IllegalArgumentException(route + " is not through " + device);
        }
        return route.withProtocol(PROTOCOL);
    }

    /** Our routes through the device now. */
    List<Netlink.Route> current() {
        return Netlink.routes(nodeNs, ifindex).stream().filter(r -> r.protocol() == PROTOCOL).toList();
    }

    /** Adds or replaces route (marked) unless a route not ours has its destination. */
    void put(Netlink.Route route) {
        Netlink.Route ours = mark(route);
        Optional<Netlink.Route> foreign = Netlink.routes(nodeNs, 0).stream()
                .filter(r -> sameDestination(r, ours) && r.protocol() != PROTOCOL).findFirst();
        if (foreign.isPresent()) {
            throw AgentException.conflict("the node has a route to " + ours.destination().getHostAddress() + "/"
                    + ours.prefixLength() + " that is not Vesicle's (" + foreign.get() + "); it is not replaced");
        }
        Netlink.addRoute(nodeNs, ours, true);
    }

    /** Deletes our route to route's destination through the device; false when there was none. */
    boolean delete(Netlink.Route route) {
        return Netlink.deleteRoute(nodeNs, route);
    }

    /** Makes our routes through the device exactly desired; returns how many stale ones went. */
    int sync(Collection<Netlink.Route> desired) {
        Set<Netlink.Route> wanted = new HashSet<>();
        for (Netlink.Route route : desired) {
            wanted.add(mark(route));
        }
        List<Netlink.Route> current = current();
        for (Netlink.Route route : wanted) {
            if (!current.contains(route)) {
                put(route);
                LOG.info("route {} via {}", route, device);
            }
        }
        int removed = 0;
        for (Netlink.Route route : current) {
            if (wanted.stream().noneMatch(w -> sameDestination(w, route)) && delete(route)) {
                LOG.info("removed stale route {} via {}", route, device);
                removed++;
            }
        }
        return removed;
    }

    /** How our routes through the device differ from desired. */
    List<String> diff(Collection<Netlink.Route> desired) {
        List<Netlink.Route> current = current();
        List<String> diffs = new ArrayList<>();
        for (Netlink.Route route : desired) {
            if (!current.contains(mark(route))) {
                diffs.add("the route " + mark(route) + " through " + device + " is missing");
            }
        }
        for (Netlink.Route route : current) {
            if (desired.stream().noneMatch(d -> sameDestination(d, route))) {
                diffs.add("the route " + route + " through " + device + " is stale");
            }
        }
        return diffs;
    }

    private static boolean sameDestination(Netlink.Route a, Netlink.Route b) {
        return a.destination().equals(b.destination()) && a.prefixLength() == b.prefixLength()
                && a.table() == b.table();
    }
}
