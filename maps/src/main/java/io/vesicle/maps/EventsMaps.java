package io.vesicle.maps;

import io.vesicle.loader.BpfMap;
import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.Map;

/**
 * The datapath's event maps: the ring buffer the events arrive in (read with the loader's
 * {@code RingBuffer}), the switch the programs read, and the per-CPU count of events the ring had
 * no room for.
 */
public final class EventsMaps implements AutoCloseable {
    private static final Codec<Integer> INDEX = scalar("__u32", 4);
    private static final Codec<Long> COUNTER = scalar("__u64", 8);

    private final BpfMap ring;
    private final TypedMap<Integer, EventsConfig> config;
    private final PerCpuMap<Integer, Long> lost;

    EventsMaps(BpfMap ring, BpfMap config, BpfMap lost) {
        this.ring = ring;
        this.config = new TypedMap<>(config, INDEX, EventsConfig.CODEC);
        this.lost = new PerCpuMap<>(lost, INDEX, COUNTER);
    }

    /** The vsl_events ring buffer. */
    public BpfMap ring() {
        return ring;
    }

    /** What the datapath sends now. */
    public EventsConfig config() {
        return config.get(0).orElse(EventsConfig.OFF);
    }

    /**
     * Whether the switch was ever written: a new map holds zeros, a written one a sample rate of at
     * least 1. The map is pinned, so an operator's choice outlives agent restarts.
     */
    public boolean configured() {
        ByteBuffer key = TypedMap.direct(4);
        ByteBuffer value = TypedMap.direct(config.raw().lookupValueSize());
        config.raw().lookup(key, value);
        return value.getInt(4) != 0;
    }

    /** Applies to the next packet the datapath sees. */
    public void configure(EventsConfig value) {
        config.put(0, value);
    }

    /** Events the ring had no room for since the map was created, by type, summed over CPUs. */
    public Map<EventType, Long> lost() {
        Map<EventType, Long> totals = new EnumMap<>(EventType.class);
        for (EventType type : EventType.values()) {
            totals.put(type, lost.get(type.code()).map(perCpu -> perCpu.stream().mapToLong(Long::longValue).sum())
                    .orElse(0L));
        }
        return totals;
    }

    @Override
    public void close() {
        ring.close();
        config.close();
        lost.close();
    }

    /** An unsigned integer of size 4 or 8 bytes, as a long or int in Java. */
    @SuppressWarnings("unchecked")
    private static <T> Codec<T> scalar(String name, int size) {
        StructLayout layout = StructLayout.of(name, size);
        return new Codec<>() {
            @Override
            public StructLayout layout() {
                return layout;
            }

            @Override
            public void write(T value, ByteBuffer buffer, int offset) {
                if (size == 4) {
                    buffer.putInt(offset, (Integer) value);
                } else {
                    buffer.putLong(offset, (Long) value);
                }
            }

            @Override
            public T read(ByteBuffer buffer, int offset) {
                return (T) (size == 4 ? (Object) buffer.getInt(offset) : (Object) buffer.getLong(offset));
            }
        };
    }
}
