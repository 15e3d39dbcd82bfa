package io.vesicle.loader;

/** The clsact hook of a device a {@link TcLink} attaches at. */
public enum TcDirection {
    /** Packets the device receives (for a pod's host-side veth: what the pod sends). */
    INGRESS(1),
    /** Packets the device transmits. */
    EGRESS(2);

    /** libbpf's {@code enum bpf_tc_attach_point}. */
    final int attachPoint;

    TcDirection(int attachPoint) {
        this.attachPoint = attachPoint;
    }
}
