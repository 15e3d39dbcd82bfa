package io.vesicle.agent.datapath;

import io.vesicle.loader.NetNs;
import io.vesicle.loader.Program;
import io.vesicle.loader.TcDirection;
import io.vesicle.loader.TcLink;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's programs: {@code from_overlay} on tc ingress of vsl_vxlan (overlay mode),
 * {@code from_netdev} on tc ingress and {@code to_netdev} on tc egress of the uplink (native mode),
 * {@code from_host} on tc egress of vsl_host. Each at Vesicle's one handle and priority, so attaching over an earlier run's program
 * replaces it in place: no packet meets a missing filter. Switching modes takes the other mode's
 * programs off the uplink.
 */
final class NodePrograms implements NodeRealizer {
    private static final Logger LOG = LoggerFactory.getLogger(NodePrograms.class);

    /** A program at a hook of a device, by the device's name for messages. */
    private record Hook(Program program, String device, int ifindex, TcDirection direction) {
        @Override
        public String toString() {
            return program.name() + " on tc " + direction.name().toLowerCase() + " of " + device;
        }
    }

    private final NetNs nodeNs;
    private final NodeNetwork network;
    private final List<Hook> hooks;

    NodePrograms(NetNs nodeNs, NodeNetwork network, NodeDevices devices, Program fromOverlay, Program fromNetdev,
                 Program toNetdev, Program fromHost) {
        this.nodeNs = nodeNs;
        this.network = network;
        List<Hook> all = new ArrayList<>();
        if (network.mode() == RoutingMode.OVERLAY) {
            all.add(new Hook(fromOverlay, NodeDevices.VXLAN, devices.encapIfindex(), TcDirection.INGRESS));
        } else {
            all.add(new Hook(fromNetdev, network.uplink().name(), network.uplink().ifindex(), TcDirection.INGRESS));
            all.add(new Hook(toNetdev, network.uplink().name(), network.uplink().ifindex(), TcDirection.EGRESS));
        }
        all.add(new Hook(fromHost, NodeDevices.HOST, devices.hostIfindex(), TcDirection.EGRESS));
        this.hooks = List.copyOf(all);
    }

    @Override
    public String name() {
        return "programs";
    }

    @Override
    public void apply() {
        if (network.mode() == RoutingMode.OVERLAY) {
            for (TcDirection direction : TcDirection.values()) {
                if (TcLink.query(nodeNs, network.uplink().ifindex(), direction).isPresent()) {
                    TcLink.detach(nodeNs, network.uplink().ifindex(), direction);
                    LOG.info("detached the native mode's program from tc {} of {}: the node is in overlay mode",
                            direction.name().toLowerCase(), network.uplink().name());
                }
            }
        }
        for (Hook hook : hooks) {
            OptionalInt before = TcLink.query(nodeNs, hook.ifindex, hook.direction);
            TcLink.attach(hook.program, nodeNs, hook.ifindex, hook.direction).release();
            if (before.isEmpty()) {
                LOG.info("attached {}", hook);
            } else if (before.getAsInt() != hook.program.id()) {
                LOG.info("replaced program {} with {} (id {})", before.getAsInt(), hook, hook.program.id());
            }
        }
    }

    @Override
    public List<String> verify() {
        List<String> diffs = new ArrayList<>();
        for (Hook hook : hooks) {
            OptionalInt attached = TcLink.query(nodeNs, hook.ifindex, hook.direction);
            if (attached.isEmpty()) {
                diffs.add("no program where " + hook + " belongs");
            } else if (attached.getAsInt() != hook.program.id()) {
                diffs.add("program " + attached.getAsInt() + " runs where " + hook + " (id " + hook.program.id()
                        + ") belongs");
            }
        }
        return diffs;
    }
}
