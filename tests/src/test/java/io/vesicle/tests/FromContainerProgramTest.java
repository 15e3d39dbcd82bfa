package io.vesicle.tests;

import static io.vesicle.tests.support.Packets.ETH_HLEN;
import static io.vesicle.tests.support.Packets.ETH_P_ARP;
import static io.vesicle.tests.support.Packets.ETH_P_IP;
import static io.vesicle.tests.support.Packets.ETH_P_IPV6;
import static io.vesicle.tests.support.Packets.arpReply;
import static io.vesicle.tests.support.Packets.arpRequest;
import static io.vesicle.tests.support.Packets.ethernet;
import static io.vesicle.tests.support.Packets.slice;
import static io.vesicle.tests.support.Packets.udp4;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.loader.Program;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.Direction;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.MacAddress;
import io.vesicle.maps.MetricsValue;
import io.vesicle.maps.Reason;
import io.vesicle.tests.support.Packets;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every branch of from_container, through BPF_PROG_TEST_RUN with crafted frames, on private
 * (unpinned) maps. The test run's skb arrives on loopback (ifindex 1), so the sending endpoint is
 * registered under ifindex 1.
 */
class FromContainerProgramTest {
    static final int TC_ACT_OK = 0;
    static final int TC_ACT_SHOT = 2;
    static final int TC_ACT_REDIRECT = 7;
    static final int LOOPBACK = 1;

    static final byte[] SRC_IP = {10, (byte) 199, 0, 2};
    static final byte[] DST_IP = {10, (byte) 199, 0, 3};
    static final byte[] REMOTE_IP = {10, (byte) 200, 7, 7};
    static final byte[] GATEWAY = {10, (byte) 199, 0, 1};
    static final MacAddress SRC_MAC = MacAddress.parse("02:00:00:00:00:02");
    static final MacAddress SRC_ROUTER_MAC = MacAddress.parse("02:00:00:00:01:02");
    static final MacAddress DST_MAC = MacAddress.parse("02:00:00:00:00:03");
    static final MacAddress DST_ROUTER_MAC = MacAddress.parse("02:00:00:00:01:03");

    Datapath datapath;
    Program program;
    DatapathMaps maps;

    @BeforeEach
    void load() throws Exception {
        datapath = load(null);
    }

    Datapath load(Inet4Address gateway) throws Exception {
        if (datapath != null) {
            datapath.close();
        }
        datapath = Datapath.load(null, new DatapathConfig(null, gateway));
        program = datapath.fromContainer();
        maps = datapath.maps();
        EndpointInfo source = new EndpointInfo(ip(SRC_IP), LOOPBACK, 1, 256, 0, SRC_MAC, SRC_ROUTER_MAC);
        maps.endpointsByIfindex().put(new IfIndex(LOOPBACK), source);
        maps.endpoints().put(new EndpointKey(ip(SRC_IP)), source);
        maps.endpoints().put(new EndpointKey(ip(DST_IP)),
                new EndpointInfo(ip(DST_IP), 4242, 2, 257, 0, DST_MAC, DST_ROUTER_MAC));
        return datapath;
    }

    @AfterEach
    void close() {
        datapath.close();
    }

    static Inet4Address ip(byte[] b) throws Exception {
        return (Inet4Address) InetAddress.getByAddress(b);
    }

    byte[] fromSource(byte[] ipPacket) {
        return ethernet(SRC_ROUTER_MAC.bytes(), SRC_MAC.bytes(), ETH_P_IP, ipPacket);
    }

    /** A broadcast ARP request from the source pod's MAC, claiming sender address sip. */
    static byte[] arpRequestFromSource(byte[] sip, byte[] tip) {
        byte[] broadcast = {-1, -1, -1, -1, -1, -1};
        return ethernet(broadcast, SRC_MAC.bytes(), ETH_P_ARP, arpRequest(SRC_MAC.bytes(), sip, tip));
    }

    Program.TestRunResult run(byte[] frame) {
        return program.testRun(frame, 0, 1);
    }

    long count(Reason reason) {
        MetricsValue value = maps.metrics().get(reason, Direction.EGRESS);
        return value.packets();
    }

    @Test
    void localDestinationIsRedirectedWithRewrittenHeaders() {
        byte[] frame = fromSource(udp4(SRC_IP, DST_IP, 64, 32));
        Program.TestRunResult result = run(frame);

        assertEquals(TC_ACT_REDIRECT, result.retval());
        byte[] out = result.data();
        assertArrayEquals(DST_MAC.bytes(), slice(out, 0, 6), "destination MAC is the pod's");
        assertArrayEquals(DST_ROUTER_MAC.bytes(), slice(out, 6, 6), "source MAC is the pod's router");
        assertEquals(63, out[ETH_HLEN + 8] & 0xff, "TTL decremented");
        assertEquals(0, Packets.ipChecksum(out, ETH_HLEN, Packets.IP_HLEN), "IP checksum still valid");
        assertEquals(1, count(Reason.FORWARDED));
        assertEquals(frame.length, maps.metrics().get(Reason.FORWARDED, Direction.EGRESS).bytes());
    }

    @Test
    void unknownDestinationGoesToTheStackUntouched() {
        byte[] frame = fromSource(udp4(SRC_IP, REMOTE_IP, 64, 32));
        Program.TestRunResult result = run(frame);

        assertEquals(TC_ACT_OK, result.retval());
        assertArrayEquals(frame, result.data());
        assertEquals(1, count(Reason.TO_STACK));
    }

    @Test
    void expiringPacketGoesToTheStackForIcmpTimeExceeded() {
        Program.TestRunResult result = run(fromSource(udp4(SRC_IP, DST_IP, 1, 32)));

        assertEquals(TC_ACT_OK, result.retval());
        assertEquals(1, count(Reason.TO_STACK));
        assertEquals(0, count(Reason.FORWARDED));
    }

    @Test
    void spoofedSourceIpIsDropped() {
        Program.TestRunResult result = run(fromSource(udp4(REMOTE_IP, DST_IP, 64, 32)));

        assertEquals(TC_ACT_SHOT, result.retval());
        assertEquals(1, count(Reason.INVALID_SOURCE_IP));
        assertEquals(0, count(Reason.FORWARDED));
    }

    @Test
    void spoofedSourceMacIsDropped() {
        byte[] frame = ethernet(SRC_ROUTER_MAC.bytes(), MacAddress.parse("02:66:66:66:66:66").bytes(), ETH_P_IP,
                udp4(SRC_IP, DST_IP, 64, 32));

        assertEquals(TC_ACT_SHOT, run(frame).retval());
        assertEquals(1, count(Reason.INVALID_SOURCE_MAC));
    }

    @Test
    void unknownSendingDeviceIsDropped() {
        maps.endpointsByIfindex().remove(new IfIndex(LOOPBACK));

        assertEquals(TC_ACT_SHOT, run(fromSource(udp4(SRC_IP, DST_IP, 64, 32))).retval());
        assertEquals(1, count(Reason.UNKNOWN_ENDPOINT));
    }

    @Test
    void truncatedHeadersAreDropped() {
        // The kernel refuses to test-run IPv4 frames shorter than an IPv4 header, so: an ARP cut
        // short, a total length past the end of the frame, and one shorter than the header.
        byte[] cutArp = ethernet(SRC_ROUTER_MAC.bytes(), SRC_MAC.bytes(), ETH_P_ARP, new byte[] {0, 1});
        byte[] longer = fromSource(udp4(SRC_IP, DST_IP, 64, 32));
        ByteBuffer.wrap(longer).putShort(ETH_HLEN + 2, (short) 1400);
        byte[] shorter = fromSource(udp4(SRC_IP, DST_IP, 64, 32));
        ByteBuffer.wrap(shorter).putShort(ETH_HLEN + 2, (short) 12);

        assertEquals(TC_ACT_SHOT, run(cutArp).retval());
        assertEquals(TC_ACT_SHOT, run(longer).retval());
        assertEquals(TC_ACT_SHOT, run(shorter).retval());
        assertEquals(3, count(Reason.TRUNCATED));
    }

    @Test
    void malformedIpHeaderIsDropped() {
        byte[] badVersion = fromSource(udp4(SRC_IP, DST_IP, 64, 32));
        badVersion[ETH_HLEN] = 0x65;
        byte[] shortIhl = fromSource(udp4(SRC_IP, DST_IP, 64, 32));
        shortIhl[ETH_HLEN] = 0x44;

        assertEquals(TC_ACT_SHOT, run(badVersion).retval());
        assertEquals(TC_ACT_SHOT, run(shortIhl).retval());
        assertEquals(2, count(Reason.INVALID_IP_HEADER));
    }

    @Test
    void nonIpFramesAreDropped() {
        byte[] lldp = ethernet(SRC_ROUTER_MAC.bytes(), SRC_MAC.bytes(), (short) 0x88CC, new byte[46]);
        byte[] ipv6 = ethernet(SRC_ROUTER_MAC.bytes(), SRC_MAC.bytes(), ETH_P_IPV6, new byte[60]);

        assertEquals(TC_ACT_SHOT, run(lldp).retval());
        assertEquals(TC_ACT_SHOT, run(ipv6).retval());
        assertEquals(2, count(Reason.UNSUPPORTED_L3));
    }

    @Test
    void arpForTheRouterIsAnsweredFromTheRouterMac() {
        byte[] frame = arpRequestFromSource(SRC_IP, GATEWAY);
        Program.TestRunResult result = run(frame);

        assertEquals(TC_ACT_REDIRECT, result.retval(), "sent back out of the device it came in on");
        byte[] out = result.data();
        assertArrayEquals(SRC_MAC.bytes(), slice(out, 0, 6));
        assertArrayEquals(SRC_ROUTER_MAC.bytes(), slice(out, 6, 6));
        assertEquals(2, ByteBuffer.wrap(out).getShort(ETH_HLEN + 6), "ARP reply");
        assertArrayEquals(SRC_ROUTER_MAC.bytes(), slice(out, ETH_HLEN + 8, 6), "sender is the router");
        assertArrayEquals(GATEWAY, slice(out, ETH_HLEN + 14, 4));
        assertArrayEquals(SRC_MAC.bytes(), slice(out, ETH_HLEN + 18, 6));
        assertArrayEquals(SRC_IP, slice(out, ETH_HLEN + 24, 4));
        assertEquals(1, count(Reason.ARP_REPLY));
    }

    @Test
    void arpProbeForOwnAddressOrFromSpoofedSenderIsDropped() {
        byte[] probe = arpRequestFromSource(SRC_IP, SRC_IP);
        byte[] spoofed = arpRequestFromSource(REMOTE_IP, GATEWAY);

        assertEquals(TC_ACT_SHOT, run(probe).retval());
        assertEquals(TC_ACT_SHOT, run(spoofed).retval());
        assertEquals(1, count(Reason.INVALID_ARP));
        assertEquals(1, count(Reason.INVALID_SOURCE_IP));
        assertEquals(0, count(Reason.ARP_REPLY));
    }

    @Test
    void arpReplyToTheNodeGoesToTheStackUnlessSpoofed() {
        byte[] nodeIp = {10, (byte) 199, 9, 9};
        byte[] reply = ethernet(SRC_ROUTER_MAC.bytes(), SRC_MAC.bytes(), ETH_P_ARP,
                arpReply(SRC_MAC.bytes(), SRC_IP, SRC_ROUTER_MAC.bytes(), nodeIp));
        byte[] spoofed = ethernet(SRC_ROUTER_MAC.bytes(), SRC_MAC.bytes(), ETH_P_ARP,
                arpReply(SRC_MAC.bytes(), DST_IP, SRC_ROUTER_MAC.bytes(), nodeIp));

        Program.TestRunResult passed = run(reply);
        assertEquals(TC_ACT_OK, passed.retval(), "the node's own ARP request gets its answer");
        assertArrayEquals(reply, passed.data());
        assertEquals(TC_ACT_SHOT, run(spoofed).retval());
        assertEquals(1, count(Reason.TO_STACK));
        assertEquals(1, count(Reason.INVALID_SOURCE_IP));
    }

    /** An ARP request from the source pod for its router, with one header field set to value. */
    static byte[] arpRequestWith(int offset, int size, int value) {
        byte[] frame = arpRequestFromSource(SRC_IP, GATEWAY);
        ByteBuffer b = ByteBuffer.wrap(frame);
        if (size == 2) {
            b.putShort(ETH_HLEN + offset, (short) value);
        } else {
            b.put(ETH_HLEN + offset, (byte) value);
        }
        return frame;
    }

    @Test
    void arpWithBadHeaderFieldsIsDropped() {
        byte[] notEthernet = arpRequestWith(0, 2, 6); // hardware type IEEE 802
        byte[] notIpv4 = arpRequestWith(2, 2, ETH_P_IPV6);
        byte[] badHardwareLength = arpRequestWith(4, 1, 8);
        byte[] badProtocolLength = arpRequestWith(5, 1, 16);

        for (byte[] frame : new byte[][] {notEthernet, notIpv4, badHardwareLength, badProtocolLength}) {
            assertEquals(TC_ACT_SHOT, run(frame).retval());
        }
        assertEquals(4, count(Reason.INVALID_ARP));
        assertEquals(0, count(Reason.ARP_REPLY));
    }

    @Test
    void arpFromAnotherSenderMacIsDropped() {
        // The frame comes from the pod's MAC, the ARP payload claims another: it would poison
        // whoever learns from it.
        byte[] frame = ethernet(new byte[] {-1, -1, -1, -1, -1, -1}, SRC_MAC.bytes(), ETH_P_ARP,
                arpRequest(MacAddress.parse("02:66:66:66:66:66").bytes(), SRC_IP, GATEWAY));

        assertEquals(TC_ACT_SHOT, run(frame).retval());
        assertEquals(1, count(Reason.INVALID_SOURCE_MAC));
        assertEquals(0, count(Reason.ARP_REPLY));
    }

    @Test
    void arpOpNeitherRequestNorReplyIsDropped() {
        byte[] rarpRequest = arpRequestWith(6, 2, 3);
        byte[] inArpRequest = arpRequestWith(6, 2, 8);

        assertEquals(TC_ACT_SHOT, run(rarpRequest).retval());
        assertEquals(TC_ACT_SHOT, run(inArpRequest).retval());
        assertEquals(2, count(Reason.INVALID_ARP));
        assertEquals(0, count(Reason.ARP_REPLY));
        assertEquals(0, count(Reason.TO_STACK));
    }

    @Test
    void configuredGatewayIsTheOnlyArpTargetAnswered() throws Exception {
        load(ip(GATEWAY));
        byte[] forGateway = arpRequestFromSource(SRC_IP, GATEWAY);
        byte[] forOther = arpRequestFromSource(SRC_IP, DST_IP);

        assertEquals(TC_ACT_REDIRECT, run(forGateway).retval());
        assertEquals(TC_ACT_SHOT, run(forOther).retval());
        assertEquals(1, count(Reason.ARP_REPLY));
        assertEquals(1, count(Reason.INVALID_ARP));
    }
}
