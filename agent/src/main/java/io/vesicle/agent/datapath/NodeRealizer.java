package io.vesicle.agent.datapath;

import java.util.List;

/**
 * One part of the node's own datapath state (its devices, its programs, its routes to the cluster,
 * masquerading), made to match the {@link NodeNetwork} it was built for. As with an endpoint's
 * {@link Realizer}s: applying again changes nothing traffic would notice, so a restart applies
 * every part again.
 */
interface NodeRealizer {
    /** For messages: "devices", "programs", "cluster routes", "masquerading". */
    String name();

    /** Makes the kernel hold this part, in place. */
    void apply();

    /** How the kernel differs, one sentence each; empty when it agrees. */
    List<String> verify();
}
