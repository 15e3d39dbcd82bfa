package io.vesicle.maps;

/** What a datapath event reports ({@code EVENT_*} in bpf/include/datapath_event.h). */
public enum EventType {
    DROP(1, "drop"),
    TRACE(2, "trace"),
    POLICY_VERDICT(3, "policy-verdict");

    private final int code;
    private final String label;

    EventType(int code, String label) {
        this.code = code;
        this.label = label;
    }

    public int code() {
        return code;
    }

    /** The name in the API, the CLI and metrics labels. */
    public String label() {
        return label;
    }

    /** The type of code; IllegalArgumentException for one this build does not know. */
    public static EventType of(int code) {
        for (EventType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown event type " + code);
    }

    /** The type labelled label (as {@link #label()} spells it); IllegalArgumentException otherwise. */
    public static EventType ofLabel(String label) {
        for (EventType t : values()) {
            if (t.label.equals(label)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown event type '" + label + "' (known: drop, trace, policy-verdict)");
    }
}
