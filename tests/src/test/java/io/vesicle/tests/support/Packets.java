package io.vesicle.tests.support;

import java.nio.ByteBuffer;

/** Crafted frames for BPF_PROG_TEST_RUN, in network byte order. */
public final class Packets {
    public static final int ETH_HLEN = 14;
    public static final short ETH_P_IP = 0x0800;
    public static final short ETH_P_ARP = 0x0806;
    public static final short ETH_P_IPV6 = (short) 0x86DD;
    public static final int IP_HLEN = 20;
    public static final int PROTO_ICMP = 1;
    public static final int PROTO_UDP = 17;
    public static final int ICMP_ECHO_REPLY = 0;
    public static final int ICMP_ECHO = 8;
    /** frag_off's more-fragments bit. */
    public static final short IP_MF = 0x2000;

    private Packets() {
    }

    public static byte[] ethernet(byte[] dst, byte[] src, short type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(ETH_HLEN + payload.length);
        b.put(dst).put(src).putShort(type).put(payload);
        return b.array();
    }

    /** An IPv4 header with a valid checksum, followed by a UDP datagram of payloadLength zero bytes. */
    public static byte[] udp4(byte[] src, byte[] dst, int ttl, int payloadLength) {
        return udp4(src, dst, 40000, 5201, ttl, payloadLength);
    }

    /** {@link #udp4(byte[], byte[], int, int)} between these ports. */
    public static byte[] udp4(byte[] src, byte[] dst, int sport, int dport, int ttl, int payloadLength) {
        ByteBuffer b = ipv4(src, dst, PROTO_UDP, ttl, 8 + payloadLength);
        b.putShort((short) sport).putShort((short) dport).putShort((short) (8 + payloadLength)).putShort((short) 0);
        return b.array();
    }

    /** An ICMP echo request or reply (type) with this identifier, sequence 1 and no data. */
    public static byte[] icmpEcho4(byte[] src, byte[] dst, int type, int id) {
        ByteBuffer b = ipv4(src, dst, PROTO_ICMP, 64, 8);
        b.put((byte) type).put((byte) 0).putShort((short) 0).putShort((short) id).putShort((short) 1);
        b.putShort(IP_HLEN + 2, ipChecksum(b.array(), IP_HLEN, 8));
        return b.array();
    }

    /** The IPv4 packet (no Ethernet header) with frag_off set to fragOff and its checksum fixed. */
    public static byte[] withFragOff(byte[] packet, short fragOff) {
        ByteBuffer b = ByteBuffer.wrap(packet.clone());
        b.putShort(6, fragOff).putShort(10, (short) 0);
        b.putShort(10, ipChecksum(b.array(), 0, IP_HLEN));
        return b.array();
    }

    /** A buffer holding an IPv4 header with a valid checksum (DF set), positioned at its payload. */
    private static ByteBuffer ipv4(byte[] src, byte[] dst, int protocol, int ttl, int payloadLength) {
        int total = IP_HLEN + payloadLength;
        ByteBuffer b = ByteBuffer.allocate(total);
        b.put((byte) 0x45).put((byte) 0).putShort((short) total).putShort((short) 1).putShort((short) 0x4000)
                .put((byte) ttl).put((byte) protocol).putShort((short) 0).put(src).put(dst);
        b.putShort(10, ipChecksum(b.array(), 0, IP_HLEN));
        return b;
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
