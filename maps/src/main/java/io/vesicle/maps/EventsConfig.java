package io.vesicle.maps;

import static io.vesicle.maps.StructLayout.field;

import java.nio.ByteBuffer;

/**
 * The one entry of vsl_events_config ({@code struct events_config}): which events the datapath
 * sends, read by the programs on every verdict, so a change applies to the next packet.
 *
 * @param traceSample trace events for 1 in traceSample packets let through (1: every one)
 */
public record EventsConfig(boolean drops, boolean traces, boolean policyVerdicts, int traceSample) {
    public static final int F_DROP = 0x1;
    public static final int F_TRACE = 0x2;
    public static final int F_POLICY_VERDICT = 0x4;
    /** Nothing sent: what a freshly created map holds. */
    public static final EventsConfig OFF = new EventsConfig(false, false, false, 1);

    public EventsConfig {
        if (traceSample < 1) {
            throw new IllegalArgumentException("traceSample must be at least 1 (1 in N packets), got " + traceSample);
        }
    }

    public int flags() {
        return (drops ? F_DROP : 0) | (traces ? F_TRACE : 0) | (policyVerdicts ? F_POLICY_VERDICT : 0);
    }

    public static final Codec<EventsConfig> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("events_config", 8,
                field("flags", 0, 4), field("trace_sample", 4, 4));

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(EventsConfig config, ByteBuffer buffer, int offset) {
            buffer.putInt(offset, config.flags());
            buffer.putInt(offset + 4, config.traceSample);
        }

        @Override
        public EventsConfig read(ByteBuffer buffer, int offset) {
            int flags = buffer.getInt(offset);
            return new EventsConfig((flags & F_DROP) != 0, (flags & F_TRACE) != 0, (flags & F_POLICY_VERDICT) != 0,
                    Math.max(1, buffer.getInt(offset + 4)));
        }
    };
}
