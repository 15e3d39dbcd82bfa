package io.vesicle.maps;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/** IPv4 addresses as the datapath stores them: 4 bytes in network order. */
final class Ip4 {
    static final Inet4Address ANY = of(new byte[4]);

    private Ip4() {
    }

    static void write(Inet4Address address, ByteBuffer buffer, int offset) {
        // Byte by byte: small bulk puts cost more than the four stores (batch encoding is hot).
        byte[] b = address.getAddress();
        buffer.put(offset, b[0]);
        buffer.put(offset + 1, b[1]);
        buffer.put(offset + 2, b[2]);
        buffer.put(offset + 3, b[3]);
    }

    static Inet4Address read(ByteBuffer buffer, int offset) {
        byte[] b = new byte[4];
        buffer.get(offset, b);
        return of(b);
    }

    static Inet4Address of(byte[] b) {
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError("4 bytes are always an IPv4 address", e);
        }
    }
}
