package io.vesicle.agent.datapath;

/** How pods on different nodes reach each other. */
public enum RoutingMode {
    /** Encapsulated in VXLAN (UDP 8472) by BPF, through the node's vsl_vxlan device. */
    OVERLAY(1),
    /** Unencapsulated: routed by a FIB lookup in BPF along the node's route to each remote pod CIDR. */
    NATIVE(2);

    /** The datapath's CFG_ROUTING_MODE for this mode (lib/config.h: 0 is a single node). */
    final int constant;

    RoutingMode(int constant) {
        this.constant = constant;
    }
}
