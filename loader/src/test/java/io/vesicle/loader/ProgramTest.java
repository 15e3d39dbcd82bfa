package io.vesicle.loader;

import static io.vesicle.loader.TestSupport.BPF_LXC;
import static io.vesicle.loader.TestSupport.direct;
import static io.vesicle.loader.TestSupport.endpointInfo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** BPF_PROG_TEST_RUN of from_container: verdicts, and the gateway constant's effect. */
class ProgramTest {
    private static final int TC_ACT_OK = 0;
    private static final int TC_ACT_SHOT = 2;
    private static final int TC_ACT_REDIRECT = 7;
    private static final int LOOPBACK = 1;
    private static final int DROP_TRUNCATED = 132;
    private static final int DROP_UNKNOWN_ENDPOINT = 133;
    private static final int METRIC_EGRESS = 1;

    private static final byte[] POD_MAC = {2, 0, 0, 0, 0, 1};
    private static final byte[] NODE_MAC = {2, 0, 0, 0, 0, 2};
    private static final byte[] POD_IP = {10, 0, 0, 5};
    private static final byte[] GATEWAY = {10, 0, 0, 1};
    private static final byte[] OTHER = {10, 0, 0, 9};

    @Test
    void truncatedFrameIsDroppedAndCounted() {
        try (BpfObject object = load(null)) {
            Program program = object.program("from_container");
            // No endpoint on loopback, where test runs happen: dropped as unknown.
            Program.TestRunResult result = program.testRun(new byte[14], 0, 1);
            assertEquals(TC_ACT_SHOT, result.retval());
            assertEquals(14, result.data().length);

            assertEquals(1, packets(object, DROP_UNKNOWN_ENDPOINT));
            assertEquals(14, sum(object, DROP_UNKNOWN_ENDPOINT, 8));

            NativeException e = assertThrows(NativeException.class, () -> program.testRun(new byte[10], 0, 1));
            assertEquals(Errors.EINVAL, e.errno());
            assertTrue(e.getMessage().contains("from_container"), e.getMessage());
        }
    }

    @Test
    void truncatedArpIsDropped() {
        try (BpfObject object = load(null)) {
            addLoopbackEndpoint(object);
            // (Test runs refuse IPv4 frames too short for an IPv4 header themselves.)
            byte[] frame = Arrays.copyOf(arpRequest(GATEWAY), 14 + 10);
            assertEquals(TC_ACT_SHOT, object.program("from_container").testRun(frame, 0, 1).retval());
            assertEquals(1, packets(object, DROP_TRUNCATED));
        }
    }

    @Test
    void repeatsAndTimes() {
        try (BpfObject object = load(null)) {
            Program.TestRunResult result = object.program("from_container").testRun(new byte[64], 0, 100);
            assertEquals(TC_ACT_SHOT, result.retval());
            assertTrue(result.durationNs() >= 0);
        }
    }

    @Test
    void unknownContextDeviceIsNoSuchDevice() {
        try (BpfObject object = load(null)) {
            assertThrows(NoSuchDeviceException.class,
                    () -> object.program("from_container").testRun(new byte[14], 1_000_000, 1));
        }
    }

    @Test
    void runsInsideANamespaceOnItsDevices() {
        // A device index no other namespace has: the run sees it only from inside its namespace.
        int ifindex = 3_999_999;
        try (TestSupport.TestNetns netns = new TestSupport.TestNetns(); BpfObject object = load(null)) {
            TestSupport.run("ip", "-n", netns.name, "link", "add", "vsl0", "index", String.valueOf(ifindex), "type",
                    "veth", "peer", "name", "vsl1");
            object.map("vsl_lxc").put(direct(4).putInt(0, ifindex),
                    endpointInfo(POD_IP, ifindex, 1, POD_MAC, NODE_MAC));
            Program program = object.program("from_container");

            assertEquals(TC_ACT_REDIRECT, program.testRun(netns.ns, arpRequest(GATEWAY), ifindex, 1).retval(),
                    "the endpoint on that device answered");
            assertThrows(NoSuchDeviceException.class, () -> program.testRun(null, arpRequest(GATEWAY), ifindex, 1));
        }
    }

    @Test
    void answersArpForAnyRouterAddressByDefault() {
        try (BpfObject object = load(null)) {
            addLoopbackEndpoint(object);
            Program program = object.program("from_container");
            assertEquals(TC_ACT_REDIRECT, program.testRun(arpRequest(GATEWAY), 0, 1).retval());
            assertEquals(TC_ACT_REDIRECT, program.testRun(arpRequest(OTHER), 0, 1).retval());
        }
    }

    @Test
    void gatewayConstantLimitsArpAnswers() {
        try (BpfObject object = load(GATEWAY)) {
            addLoopbackEndpoint(object);
            Program program = object.program("from_container");

            Program.TestRunResult reply = program.testRun(arpRequest(GATEWAY), 0, 1);
            assertEquals(TC_ACT_REDIRECT, reply.retval());
            ByteBuffer frame = ByteBuffer.wrap(reply.data()).order(ByteOrder.BIG_ENDIAN);
            assertArrayEquals(POD_MAC, TestSupport.bytes(frame, 0, 6));
            assertArrayEquals(NODE_MAC, TestSupport.bytes(frame, 6, 6));
            assertEquals(2, frame.getShort(14 + 6)); // ARPOP_REPLY
            assertArrayEquals(NODE_MAC, TestSupport.bytes(frame, 14 + 8, 6));
            assertArrayEquals(GATEWAY, TestSupport.bytes(frame, 14 + 14, 4));
            assertArrayEquals(POD_MAC, TestSupport.bytes(frame, 14 + 18, 6));
            assertArrayEquals(POD_IP, TestSupport.bytes(frame, 14 + 24, 4));

            assertEquals(TC_ACT_SHOT, program.testRun(arpRequest(OTHER), 0, 1).retval());
        }
    }

    @Test
    void ipv4ToAnUnknownAddressGoesToTheStack() {
        try (BpfObject object = load(null)) {
            addLoopbackEndpoint(object);
            byte[] frame = new byte[14 + 20];
            ByteBuffer b = ByteBuffer.wrap(frame);
            b.put(0, NODE_MAC).put(6, POD_MAC).putShort(12, (short) 0x0800);
            b.put(14, (byte) 0x45).putShort(16, (short) 20).put(22, (byte) 64).put(23, (byte) 17);
            b.put(26, POD_IP).put(30, OTHER);
            assertEquals(TC_ACT_OK, object.program("from_container").testRun(frame, 0, 1).retval());
        }
    }

    /** Packets counted under reason, over all CPUs. */
    private static long packets(BpfObject object, int reason) {
        return sum(object, reason, 0);
    }

    /** A field (0: packets, 8: bytes) of the egress metrics under reason, added up over CPUs. */
    private static long sum(BpfObject object, int reason, int field) {
        BpfMap metrics = object.map("vsl_metrics");
        ByteBuffer key = direct(4);
        key.put(0, (byte) reason).put(1, (byte) METRIC_EGRESS);
        ByteBuffer value = direct(metrics.lookupValueSize());
        metrics.lookup(key, value);
        long total = 0;
        for (int cpu = 0; cpu < BpfMap.possibleCpus(); cpu++) {
            total += value.getLong(cpu * 16 + field);
        }
        return total;
    }

    private static BpfObject load(byte[] gateway) {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            if (gateway != null) {
                spec.setConstant("CFG_GATEWAY_IP4", gateway);
            }
            return spec.load();
        }
    }

    /** The pod sends from loopback, as far as test runs go. */
    private static void addLoopbackEndpoint(BpfObject object) {
        object.map("vsl_lxc").put(direct(4).putInt(0, LOOPBACK), endpointInfo(POD_IP, LOOPBACK, 1, POD_MAC, NODE_MAC));
    }

    private static byte[] arpRequest(byte[] target) {
        ByteBuffer b = ByteBuffer.allocate(14 + 28);
        b.put(new byte[] {-1, -1, -1, -1, -1, -1}).put(POD_MAC).putShort((short) 0x0806);
        b.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 1);
        b.put(POD_MAC).put(POD_IP).put(new byte[6]).put(target);
        return b.array();
    }
}
