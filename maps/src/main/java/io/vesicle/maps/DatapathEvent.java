package io.vesicle.maps;

import static io.vesicle.maps.StructLayout.field;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/**
 * One record of the vsl_events ring buffer ({@code struct datapath_event}).
 *
 * @param timestampNanos  CLOCK_MONOTONIC when the datapath wrote it
 * @param reasonCode      the verdict's {@code enum metric_reason} code ({@link #reason()} names it)
 * @param family          4, or 0 when the packet was no IPv4 the datapath could read: then the
 *                        addresses are 0.0.0.0 and protocol and ports 0
 * @param policyVerdict   {@link #VERDICT_ALLOW} or {@link #VERDICT_DENY} for policy verdicts, else 0
 * @param ifindex         the device the program ran on
 * @param endpointId      the local endpoint the packet came from or went to; 0 when none
 * @param sourceIdentity  0 when unknown
 * @param sourcePort      0 for protocols without ports
 * @param length          the packet's length, link-layer header included
 */
public record DatapathEvent(long timestampNanos, EventType type, int reasonCode, Direction direction, int family,
                            int protocol, int policyVerdict, int ifindex, int endpointId, int sourceIdentity,
                            int destinationIdentity, Inet4Address source, Inet4Address destination, int sourcePort,
                            int destinationPort, int length) {
    public static final int VERDICT_ALLOW = 1;
    public static final int VERDICT_DENY = 2;

    public Reason reason() {
        return Reason.of(reasonCode);
    }

    public static final Codec<DatapathEvent> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("datapath_event", 48,
                field("timestamp_ns", 0, 8), field("type", 8, 1), field("reason", 9, 1), field("direction", 10, 1),
                field("family", 11, 1), field("protocol", 12, 1), field("policy_verdict", 13, 1), field("pad", 14, 2),
                field("ifindex", 16, 4), field("endpoint_id", 20, 4), field("src_identity", 24, 4),
                field("dst_identity", 28, 4), field("saddr", 32, 4), field("daddr", 36, 4), field("sport", 40, 2),
                field("dport", 42, 2), field("length", 44, 4));

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(DatapathEvent e, ByteBuffer buffer, int offset) {
            buffer.putLong(offset, e.timestampNanos);
            buffer.put(offset + 8, (byte) e.type.code());
            buffer.put(offset + 9, (byte) e.reasonCode);
            buffer.put(offset + 10, (byte) e.direction.code());
            buffer.put(offset + 11, (byte) e.family);
            buffer.put(offset + 12, (byte) e.protocol);
            buffer.put(offset + 13, (byte) e.policyVerdict);
            buffer.putShort(offset + 14, (short) 0);
            buffer.putInt(offset + 16, e.ifindex);
            buffer.putInt(offset + 20, e.endpointId);
            buffer.putInt(offset + 24, e.sourceIdentity);
            buffer.putInt(offset + 28, e.destinationIdentity);
            Ip4.write(e.source, buffer, offset + 32);
            Ip4.write(e.destination, buffer, offset + 36);
            writePort(e.sourcePort, buffer, offset + 40);
            writePort(e.destinationPort, buffer, offset + 42);
            buffer.putInt(offset + 44, e.length);
        }

        @Override
        public DatapathEvent read(ByteBuffer buffer, int offset) {
            return new DatapathEvent(buffer.getLong(offset), EventType.of(buffer.get(offset + 8)),
                    buffer.get(offset + 9) & 0xff, Direction.of(buffer.get(offset + 10)), buffer.get(offset + 11) & 0xff,
                    buffer.get(offset + 12) & 0xff, buffer.get(offset + 13) & 0xff, buffer.getInt(offset + 16),
                    buffer.getInt(offset + 20), buffer.getInt(offset + 24), buffer.getInt(offset + 28),
                    Ip4.read(buffer, offset + 32), Ip4.read(buffer, offset + 36), readPort(buffer, offset + 40),
                    readPort(buffer, offset + 42), buffer.getInt(offset + 44));
        }
    };

    /** Ports are in network order whatever the buffer's. */
    private static int readPort(ByteBuffer buffer, int offset) {
        return (buffer.get(offset) & 0xff) << 8 | (buffer.get(offset + 1) & 0xff);
    }

    private static void writePort(int port, ByteBuffer buffer, int offset) {
        buffer.put(offset, (byte) (port >> 8));
        buffer.put(offset + 1, (byte) port);
    }
}
