package io.vesicle.maps;

/** Direction of a counted packet, from the endpoint's point of view (METRIC_* in metrics.h). */
public enum Direction {
    INGRESS(0), EGRESS(1);

    private final int code;

    Direction(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static Direction of(int code) {
        for (Direction d : values()) {
            if (d.code == code) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown direction code " + code);
    }
}
