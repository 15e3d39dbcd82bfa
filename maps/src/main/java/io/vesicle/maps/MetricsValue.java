package io.vesicle.maps;

import static io.vesicle.maps.StructLayout.field;

import java.nio.ByteBuffer;

/** Value of the metrics map ({@code struct metrics_value}); per CPU in the map, summed here. */
public record MetricsValue(long packets, long bytes) {
    public static final MetricsValue ZERO = new MetricsValue(0, 0);

    public static final Codec<MetricsValue> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("metrics_value", 16,
                field("packets", 0, 8), field("bytes", 8, 8));

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(MetricsValue value, ByteBuffer buffer, int offset) {
            buffer.putLong(offset, value.packets);
            buffer.putLong(offset + 8, value.bytes);
        }

        @Override
        public MetricsValue read(ByteBuffer buffer, int offset) {
            return new MetricsValue(buffer.getLong(offset), buffer.getLong(offset + 8));
        }
    };

    public MetricsValue plus(MetricsValue other) {
        return new MetricsValue(packets + other.packets, bytes + other.bytes);
    }
}
