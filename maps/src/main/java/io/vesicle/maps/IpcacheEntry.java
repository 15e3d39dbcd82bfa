package io.vesicle.maps;

import static io.vesicle.maps.StructLayout.field;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Optional;

/**
 * Value of the ipcache ({@code struct ipcache_value}): who a prefix is and which node hosts it.
 *
 * @param identity       the prefix's security identity ({@link #IDENTITY_REMOTE_NODE} and the
 *                       other reserved ones below 256)
 * @param tunnelEndpoint the underlay address of the node hosting it, or {@code 0.0.0.0} for a
 *                       prefix not behind a node (a node itself)
 * @param flags          {@code IPCACHE_F_*}
 */
public record IpcacheEntry(int identity, Inet4Address tunnelEndpoint, int flags) {
    public static final int IDENTITY_UNKNOWN = 0;
    public static final int IDENTITY_HOST = 1;
    public static final int IDENTITY_WORLD = 2;
    public static final int IDENTITY_REMOTE_NODE = 6;
    /** A remote node's whole pod CIDR, before its pods are known one by one. */
    public static final int F_POD_CIDR = 0x1;

    public IpcacheEntry {
        Objects.requireNonNull(tunnelEndpoint, "tunnelEndpoint");
        if ((flags & ~0xff) != 0) {
            throw new IllegalArgumentException("ipcache flags " + flags + " do not fit a byte");
        }
    }

    /** The node hosting the prefix, if it is behind one. */
    public Optional<Inet4Address> node() {
        return tunnelEndpoint.equals(Ip4.ANY) ? Optional.empty() : Optional.of(tunnelEndpoint);
    }

    /** An entry not behind a node. */
    public static IpcacheEntry local(int identity, int flags) {
        return new IpcacheEntry(identity, Ip4.ANY, flags);
    }

    public static final Codec<IpcacheEntry> CODEC = new Codec<>() {
        private final StructLayout layout = StructLayout.of("ipcache_value", 12,
                field("identity", 0, 4), field("tunnel_endpoint", 4, 4), field("flags", 8, 1), field("pad", 9, 3));

        @Override
        public StructLayout layout() {
            return layout;
        }

        @Override
        public void write(IpcacheEntry entry, ByteBuffer buffer, int offset) {
            buffer.putInt(offset, entry.identity);
            Ip4.write(entry.tunnelEndpoint, buffer, offset + 4);
            buffer.put(offset + 8, (byte) entry.flags);
            buffer.put(offset + 9, (byte) 0);
            buffer.putShort(offset + 10, (short) 0);
        }

        @Override
        public IpcacheEntry read(ByteBuffer buffer, int offset) {
            return new IpcacheEntry(buffer.getInt(offset), Ip4.read(buffer, offset + 4), buffer.get(offset + 8) & 0xff);
        }
    };
}
