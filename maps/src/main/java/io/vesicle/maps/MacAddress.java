package io.vesicle.maps;

import java.util.Arrays;
import java.util.HexFormat;

/** A 48-bit Ethernet address. */
public final class MacAddress {
    public static final int LENGTH = 6;
    private static final HexFormat COLONS = HexFormat.ofDelimiter(":");

    private final byte[] bytes;

    private MacAddress(byte[] bytes) {
        this.bytes = bytes;
    }

    public static MacAddress of(byte[] bytes) {
        if (bytes == null || bytes.length != LENGTH) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, got "
                    + (bytes == null ? "none" : bytes.length));
        }
        return new MacAddress(bytes.clone());
    }

    /** Parses "aa:bb:cc:dd:ee:ff". */
    public static MacAddress parse(String text) {
        try {
            if (text.length() != 17) {
                throw new IllegalArgumentException("length " + text.length());
            }
            return new MacAddress(COLONS.parseHex(text));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a MAC address: '" + text + "' (expected aa:bb:cc:dd:ee:ff)", e);
        }
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    void writeTo(java.nio.ByteBuffer buffer, int offset) {
        for (int i = 0; i < LENGTH; i++) {
            buffer.put(offset + i, bytes[i]);
        }
    }

    static MacAddress readFrom(java.nio.ByteBuffer buffer, int offset) {
        byte[] b = new byte[LENGTH];
        buffer.get(offset, b);
        return new MacAddress(b);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MacAddress other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return COLONS.formatHex(bytes);
    }
}
