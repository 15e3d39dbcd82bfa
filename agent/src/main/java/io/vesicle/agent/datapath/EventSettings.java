package io.vesicle.agent.datapath;

/**
 * Which events the datapath sends, changed while it runs (the next packet sees it).
 *
 * @param traceSample traces for 1 in traceSample packets let through (at least 1)
 */
public record EventSettings(boolean drops, boolean traces, boolean policyVerdicts, int traceSample) {
    /** The agent's start: drops and policy verdicts, no traces (they cost on every forwarded packet). */
    public static final EventSettings DEFAULT = new EventSettings(true, false, true, 1);

    public EventSettings {
        if (traceSample < 1) {
            throw new IllegalArgumentException("traceSample must be at least 1, got " + traceSample);
        }
    }
}
