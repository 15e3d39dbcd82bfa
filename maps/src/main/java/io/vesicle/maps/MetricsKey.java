package io.vesicle.maps;

import static io.vesicle.maps.StructLayout.field;

import java.nio.ByteBuffer;

/** Key of the metrics map ({@code struct metrics_key}). */
public record MetricsKey(Reason reason, Direction direction) {
    public static final Codec<MetricsKey> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("metrics_key", 4,
                field("reason", 0, 1), field("direction", 1, 1), field("pad", 2, 2));

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(MetricsKey key, ByteBuffer buffer, int offset) {
            buffer.putInt(offset, 0);
            buffer.put(offset, (byte) key.reason.code());
            buffer.put(offset + 1, (byte) key.direction.code());
        }

        @Override
        public MetricsKey read(ByteBuffer buffer, int offset) {
            return new MetricsKey(Reason.of(buffer.get(offset) & 0xff), Direction.of(buffer.get(offset + 1)));
        }
    };
}
