package io.vesicle.maps;

/** Why the datapath counted a packet ({@code enum metric_reason} in bpf/include/metrics.h). */
public enum Reason {
    FORWARDED(0, "forwarded"),
    TO_STACK(1, "to_stack"),
    ARP_REPLY(2, "arp_reply"),
    ENCAPSULATED(3, "encapsulated"),
    FIB_FORWARDED(4, "fib_forwarded"),
    DECAPSULATED(5, "decapsulated"),
    VIA_STACK(6, "via_stack"),
    INVALID_SOURCE_IP(130, "invalid_source_ip"),
    INVALID_SOURCE_MAC(131, "invalid_source_mac"),
    TRUNCATED(132, "truncated"),
    UNKNOWN_ENDPOINT(133, "unknown_endpoint"),
    UNSUPPORTED_L3(134, "unsupported_l3"),
    INVALID_ARP(135, "invalid_arp"),
    INVALID_IP_HEADER(136, "invalid_ip_header"),
    FIB_LOOKUP_FAILED(137, "fib_lookup_failed"),
    NO_TUNNEL_KEY(138, "no_tunnel_key"),
    UNKNOWN_DESTINATION(139, "unknown_destination"),
    ENCAP_FAILED(140, "encap_failed"),
    /** A code this build does not know: a newer datapath object. */
    UNKNOWN(255, "unknown");

    /** Codes from here up are drops. */
    public static final int DROP_MIN = 130;

    private final int code;
    private final String label;

    Reason(int code, String label) {
        this.code = code;
        this.label = label;
    }

    public int code() {
        return code;
    }

    /** The name used in metrics labels and the CLI. */
    public String label() {
        return label;
    }

    public boolean isDrop() {
        return code >= DROP_MIN;
    }

    public static Reason of(int code) {
        for (Reason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return UNKNOWN;
    }
}
