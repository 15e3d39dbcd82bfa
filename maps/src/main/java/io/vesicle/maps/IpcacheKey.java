package io.vesicle.maps;

import static io.vesicle.maps.StructLayout.field;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Key of the ipcache ({@code struct ipcache_key}): an IPv4 prefix. Host bits must be zero, so a
 * key read back from the kernel equals the one written.
 */
public record IpcacheKey(Inet4Address network, int prefixLength) {
    /** The family and pad bytes the LPM trie matches before the address. */
    private static final int HEADER_BITS = 32;
    static final int FAMILY_IPV4 = 4;

    public IpcacheKey {
        Objects.requireNonNull(network, "network");
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is not within 0..32");
        }
        int bits = java.nio.ByteBuffer.wrap(network.getAddress()).getInt();
        int mask = prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
        if ((bits & ~mask) != 0) {
            throw new IllegalArgumentException(network.getHostAddress() + "/" + prefixLength + " has host bits set");
        }
    }

    /** A single address, /32. */
    public static IpcacheKey host(Inet4Address address) {
        return new IpcacheKey(address, 32);
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }

    public static final Codec<IpcacheKey> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("ipcache_key", 24,
                field("prefixlen", 0, 4), field("family", 4, 1), field("pad", 5, 3), field("addr", 8, 16));

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(IpcacheKey key, ByteBuffer buffer, int offset) {
            buffer.putLong(offset, 0);
            buffer.putLong(offset + 8, 0);
            buffer.putLong(offset + 16, 0);
            buffer.putInt(offset, HEADER_BITS + key.prefixLength);
            buffer.put(offset + 4, (byte) FAMILY_IPV4);
            Ip4.write(key.network, buffer, offset + 8);
        }

        @Override
        public IpcacheKey read(ByteBuffer buffer, int offset) {
            int family = buffer.get(offset + 4);
            if (family != FAMILY_IPV4) {
                throw new IllegalStateException("ipcache key of family " + family + " is not IPv4");
            }
            return new IpcacheKey(Ip4.read(buffer, offset + 8), buffer.getInt(offset) - HEADER_BITS);
        }
    };
}
