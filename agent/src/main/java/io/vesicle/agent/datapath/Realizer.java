package io.vesicle.agent.datapath;

import java.util.Collection;
import java.util.List;

/**
 * One part of an endpoint's kernel state (its veth, its datapath entries, its route, its program),
 * made to match an {@link EndpointWiring}. Creating, checking and restoring an endpoint are loops
 * over the datapath's realizers in order; removing is the same loop backwards.
 */
public interface Realizer {
    /** For messages and failure injection: "veth", "entries", "route", "program". */
    String name();

    /**
     * Makes the kernel hold what wiring says, in place: applying what is already there changes
     * nothing that traffic would notice. Returns wiring with what this step learnt (the pod MAC).
     */
    EndpointWiring apply(EndpointWiring wiring);

    /** How the kernel differs from wiring, one sentence each; empty when they agree. */
    List<String> verify(EndpointWiring wiring);

    /** Removes what {@link #apply} made; succeeds when it is already gone. */
    void remove(EndpointWiring wiring);

    /** Removes what this part holds for no endpoint of wired; returns how many objects went. */
    int sweep(Collection<EndpointWiring> wired);
}
