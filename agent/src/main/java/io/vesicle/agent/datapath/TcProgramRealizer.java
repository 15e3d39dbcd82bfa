package io.vesicle.agent.datapath;

import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.loader.Program;
import io.vesicle.loader.TcDirection;
import io.vesicle.loader.TcLink;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * {@code from_container} on tc ingress of the host-side veth, at Vesicle's one handle and priority:
 * attaching again replaces the program in place, so traffic never meets a missing filter. The
 * veth is Vesicle's, and so is its clsact qdisc: removing takes both, whichever process attached.
 */
final class TcProgramRealizer implements Realizer {
    private final NetNs nodeNs;
    private final Program program;

    TcProgramRealizer(NetNs nodeNs, Program program) {
        this.nodeNs = nodeNs;
        this.program = program;
    }

    @Override
    public String name() {
        return "program";
    }

    @Override
    public EndpointWiring apply(EndpointWiring w) {
        Netlink.Link host = w.hostLink(nodeNs);
        TcLink.attach(program, nodeNs, host.index(), TcDirection.INGRESS).release();
        return w;
    }

    @Override
    public List<String> verify(EndpointWiring w) {
        Optional<Netlink.Link> host = Netlink.link(nodeNs, w.hostIf());
        if (host.isEmpty()) {
            return List.of();
        }
        OptionalInt attached = TcLink.query(nodeNs, host.get().index(), TcDirection.INGRESS);
        if (attached.isEmpty()) {
            return List.of("no datapath program on tc ingress of " + w.hostIf());
        }
        if (attached.getAsInt() != program.id()) {
            return List.of("tc ingress of " + w.hostIf() + " runs program " + attached.getAsInt() + ", not "
                    + program.id());
        }
        return List.of();
    }

    @Override
    public void remove(EndpointWiring w) {
        Netlink.link(nodeNs, w.hostIf()).ifPresent(host -> {
            TcLink.detach(nodeNs, host.index(), TcDirection.INGRESS);
            TcLink.removeClsact(nodeNs, host.index());
        });
    }

    @Override
    public int sweep(Collection<EndpointWiring> wired) {
        return 0; // programs on a stale veth go with it
    }
}
