package io.vesicle.maps;

import static io.vesicle.maps.StructLayout.field;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/** Key of the endpoints map ({@code struct endpoint_key}): a pod address. */
public record EndpointKey(Inet4Address address) {
    static final int FAMILY_IPV4 = 4;

    public static final Codec<EndpointKey> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("endpoint_key", 20,
                field("addr", 0, 16), field("family", 16, 1), field("pad", 17, 3));

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(EndpointKey key, ByteBuffer buffer, int offset) {
            buffer.putLong(offset, 0);
            buffer.putLong(offset + 8, 0);
            buffer.putInt(offset + 16, 0);
            Ip4.write(key.address, buffer, offset);
            buffer.put(offset + 16, (byte) FAMILY_IPV4);
        }

        @Override
        public EndpointKey read(ByteBuffer buffer, int offset) {
            int family = buffer.get(offset + 16);
            if (family != FAMILY_IPV4) {
                throw new IllegalStateException("endpoint key of family " + family + " is not IPv4");
            }
            return new EndpointKey(Ip4.read(buffer, offset));
        }
    };
}
