package io.vesicle.cluster;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 prefix such as {@code 10.244.1.0/24}, and IPv4 literals parsed strictly (four decimal
 * octets, never a host name to resolve).
 *
 * @param network the prefix's first address (host bits zero)
 * @param prefixLength 0 to 32
 */
public record Cidr(Inet4Address network, int prefixLength) {
    public Cidr {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is not within 0..32");
        }
        if ((toInt(network) & ~mask(prefixLength)) != 0) {
            throw new IllegalArgumentException(network.getHostAddress() + "/" + prefixLength
                    + " has host bits set");
        }
    }

    /** Parses "a.b.c.d/n" whose host bits are zero. */
    public static Cidr parse(String text) {
        AddressWithPrefix parsed = parseAddressWithPrefix(text);
        int network = toInt(parsed.address()) & mask(parsed.prefixLength());
        if (network != toInt(parsed.address())) {
            throw new IllegalArgumentException("'" + text + "' has host bits set (the network is "
                    + fromInt(network).getHostAddress() + "/" + parsed.prefixLength() + ")");
        }
        return new Cidr(parsed.address(), parsed.prefixLength());
    }

    /** An address with its prefix length, "10.244.1.5/24": host bits allowed. */
    public record AddressWithPrefix(Inet4Address address, int prefixLength) {
        @Override
        public String toString() {
            return address.getHostAddress() + "/" + prefixLength;
        }
    }

    public static AddressWithPrefix parseAddressWithPrefix(String text) {
        if (text == null) {
            throw new IllegalArgumentException("an IPv4 CIDR (a.b.c.d/n) is required");
        }
        int slash = text.indexOf('/');
        if (slash < 0 || !text.substring(slash + 1).matches("\\d{1,2}")
                || !text.substring(0, slash).matches("(\\d{1,3})(\\.\\d{1,3}){3}")) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 CIDR (a.b.c.d/n)");
        }
        Inet4Address address = parseAddress(text.substring(0, slash));
        int prefix = Integer.parseInt(text.substring(slash + 1));
        if (prefix > 32) {
            throw new IllegalArgumentException("'" + text + "' has a prefix length above 32");
        }
        return new AddressWithPrefix(address, prefix);
    }

    /** Parses a dotted-quad IPv4 literal. */
    public static Inet4Address parseAddress(String text) {
        if (text == null || !text.matches("(\\d{1,3})(\\.\\d{1,3}){3}")) {
            throw new IllegalArgumentException("'" + text + "' is not an IPv4 address (a.b.c.d)");
        }
        String[] parts = text.split("\\.");
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            int octet = Integer.parseInt(parts[i]);
            if (octet > 255) {
                throw new IllegalArgumentException("'" + text + "' is not an IPv4 address: octet " + octet + " > 255");
            }
            bytes[i] = (byte) octet;
        }
        return fromBytes(bytes);
    }

    /** Number of addresses in the prefix, network and broadcast included. */
    public long size() {
        return 1L << (32 - prefixLength);
    }

    public boolean contains(Inet4Address address) {
        return (toInt(address) & mask(prefixLength)) == toInt(network);
    }

    /** The address at offset from the network address (0 is the network itself). */
    public Inet4Address address(long offset) {
        if (offset < 0 || offset >= size()) {
            throw new IllegalArgumentException("offset " + offset + " is outside " + this);
        }
        return fromInt((int) (toInt(network) + offset));
    }

    /** Offset of address from the network address. */
    public long offsetOf(Inet4Address address) {
        if (!contains(address)) {
            throw new IllegalArgumentException(address.getHostAddress() + " is outside " + this);
        }
        return Integer.toUnsignedLong(toInt(address) - toInt(network));
    }

    /** Whether the two prefixes share any address (one contains the other). */
    public boolean overlaps(Cidr other) {
        int shorter = Math.min(prefixLength, other.prefixLength);
        return (toInt(network) & mask(shorter)) == (toInt(other.network) & mask(shorter));
    }

    public Inet4Address broadcast() {
        return address(size() - 1);
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }

    public static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    public static int toInt(Inet4Address address) {
        byte[] b = address.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    public static Inet4Address fromInt(int value) {
        return fromBytes(new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value});
    }

    private static Inet4Address fromBytes(byte[] bytes) {
        try {
            return (Inet4Address) InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
