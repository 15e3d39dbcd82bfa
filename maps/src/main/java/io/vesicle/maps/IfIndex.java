package io.vesicle.maps;

import java.nio.ByteBuffer;

/** Key of the by-ifindex endpoint map: a host-side device index ({@code __u32}). */
public record IfIndex(int value) {
    public static final Codec<IfIndex> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("__u32", 4);

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(IfIndex index, ByteBuffer buffer, int offset) {
            buffer.putInt(offset, index.value);
        }

        @Override
        public IfIndex read(ByteBuffer buffer, int offset) {
            return new IfIndex(buffer.getInt(offset));
        }
    };
}
