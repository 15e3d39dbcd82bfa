package io.vesicle.tests.support;

import java.nio.ByteBuffer;

/** Crafted frames for BPF_PROG_TEST_RUN, in network byte order. */
public final class Packets {
    public static final int ETH_HLEN = 14;
    public static final short ETH_P_IP = 0x0800;
    public static final short ETH_P_ARP = 0x0806;
    public static final short ETH_P_IPV6 = (short) 0x86DD;
    public static final int IP_HLEN = 20;
    public static final int PROTO_UDP = 17;

    private Packets() {
    }

    public static byte[] ethernet(byte[] dst, byte[] src, short type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(ETH_HLEN + payload.length);
        b.put(dst).put(src).putShort(type).put(payload);
        return b.array();
    }

    /** An IPv4 header with a valid checksum, followed by a UDP datagram of payloadLength zero bytes. */
    public static byte[] udp4(byte[] src, byte[] dst, int ttl, int payloadLength) {
        int total = IP_HLEN + 8 + payloadLength;
        ByteBuffer b = ByteBuffer.allocate(total);
        b.put((byte) 0x45).put((byte) 0).putShort((short) total).putShort((short) 1).putShort((short) 0x4000)
                .put((byte) ttl).put((byte) PROTO_UDP).putShort((short) 0).put(src).put(dst);
        b.putShort(10, ipChecksum(b.array(), 0, IP_HLEN));
        b.putShort((short) 40000).putShort((short) 5201).putShort((short) (8 + payloadLength)).putShort((short) 0);
        return b.array();
    }

    /** An ARP request from (sha, sip) for tip. */
    public static byte[] arpRequest(byte[] sha, byte[] sip, byte[] tip) {
        return arp(1, sha, sip, new byte[6], tip);
    }

    /** An ARP reply from (sha, sip) to (tha, tip). */
    public static byte[] arpReply(byte[] sha, byte[] sip, byte[] tha, byte[] tip) {
        return arp(2, sha, sip, tha, tip);
    }

    private static byte[] arp(int op, byte[] sha, byte[] sip, byte[] tha, byte[] tip) {
        ByteBuffer b = ByteBuffer.allocate(28);
        b.putShort((short) 1).putShort(ETH_P_IP).put((byte) 6).put((byte) 4).putShort((short) op)
                .put(sha).put(sip).put(tha).put(tip);
        return b.array();
    }

    /** The Internet checksum of length bytes at offset (RFC 1071). */
    public static short ipChecksum(byte[] data, int offset, int length) {
        long sum = 0;
        for (int i = 0; i < length; i += 2) {
            sum += ((data[offset + i] & 0xff) << 8) | (i + 1 < length ? data[offset + i + 1] & 0xff : 0);
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (short) ~sum;
    }

    public static byte[] slice(byte[] data, int from, int length) {
        byte[] out = new byte[length];
        System.arraycopy(data, from, out, 0, length);
        return out;
    }
}
