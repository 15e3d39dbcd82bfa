package io.vesicle.loader;

import static io.vesicle.loader.TestSupport.BPF_LXC;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** tcx links on a veth inside a throwaway namespace; the kernel's query of the hook is the witness. */
@Timeout(60)
class TcxLinkTest {
    private TestSupport.TestNetns netns;
    private BpfObject first;
    private BpfObject second;
    private Path pins;
    private int ifindex;

    @BeforeEach
    void setUp() throws Exception {
        netns = new TestSupport.TestNetns();
        ifindex = netns.veth("vsl0", "vsl1");
        first = load();
        second = load();
        pins = TestSupport.pinDir();
        Files.createDirectory(pins);
    }

    @AfterEach
    void tearDown() {
        try {
            first.close();
            second.close();
            TestSupport.deleteTree(pins);
        } finally {
            netns.close();
        }
    }

    @Test
    void attachPinReopenUpdateDetach() {
        Program program = first.program("from_container");
        Program other = second.program("from_container");
        Path pin = pins.resolve("lxc-ingress");
        assertArrayEquals(new int[0], TcxLink.query(netns.ns, ifindex, TcDirection.INGRESS));

        try (TcxLink link = TcxLink.attach(program, netns.ns, ifindex, TcDirection.INGRESS)) {
            assertArrayEquals(new int[] {program.id()}, TcxLink.query(netns.ns, ifindex, TcDirection.INGRESS));
            assertEquals(program.id(), link.programId());
            assertArrayEquals(new int[0], TcxLink.query(netns.ns, ifindex, TcDirection.EGRESS));
            assertFalse(netns.qdiscs("vsl0").contains("clsact"), "no qdisc: " + netns.qdiscs("vsl0"));
            assertEquals(OptionalInt.empty(), TcLink.query(netns.ns, ifindex, TcDirection.INGRESS));
            link.pin(pin);
        }
        // The pin holds it after the descriptor is closed, as it does after the process ends.
        assertArrayEquals(new int[] {program.id()}, TcxLink.query(netns.ns, ifindex, TcDirection.INGRESS));

        try (TcxLink reopened = TcxLink.openPinned(pin)) {
            assertEquals(ifindex, reopened.ifindex());
            assertEquals(TcDirection.INGRESS, reopened.direction());
            reopened.update(other);
            assertEquals(other.id(), reopened.programId());
            assertArrayEquals(new int[] {other.id()}, TcxLink.query(netns.ns, ifindex, TcDirection.INGRESS),
                    "replaced in place: one program, never none or two");
            reopened.detach();
            assertArrayEquals(new int[0], TcxLink.query(netns.ns, ifindex, TcDirection.INGRESS));
            reopened.detach();
        }
    }

    @Test
    void closingAnUnpinnedLinkDetachesIt() {
        Program program = first.program("from_container");
        TcxLink egress = TcxLink.attach(program, netns.ns, ifindex, TcDirection.EGRESS);
        assertEquals(TcDirection.EGRESS, egress.direction());
        assertArrayEquals(new int[] {program.id()}, TcxLink.query(netns.ns, ifindex, TcDirection.EGRESS));
        egress.close();
        egress.close();
        assertArrayEquals(new int[0], TcxLink.query(netns.ns, ifindex, TcDirection.EGRESS));
        assertThrows(IllegalStateException.class, egress::programId);
    }

    @Test
    void deletingTheDeviceDetachesAPinnedLink() {
        Path pin = pins.resolve("gone");
        try (TcxLink link = TcxLink.attach(first.program("from_container"), netns.ns, ifindex, TcDirection.INGRESS)) {
            link.pin(pin);
        }
        TestSupport.run("ip", "-n", netns.name, "link", "del", "vsl0");
        try (TcxLink reopened = TcxLink.openPinned(pin)) {
            reopened.detach();
        }
    }

    @Test
    void refusalsAreNamed() {
        int missing = 999_999;
        NoSuchDeviceException noDevice = assertThrows(NoSuchDeviceException.class,
                () -> TcxLink.attach(first.program("from_container"), netns.ns, missing, TcDirection.INGRESS));
        assertTrue(noDevice.getMessage().startsWith("attach program from_container at tcx ingress of ifindex " + missing
                + " in network namespace /var/run/netns/" + netns.name), noDevice.getMessage());
        try (ObjectSpec spec = ObjectSpec.fromResource(TestSupport.WRONG_HOOK); BpfObject wrong = spec.load()) {
            NativeException wrongType = assertThrows(NativeException.class,
                    () -> TcxLink.attach(wrong.program("xdp_pass"), netns.ns, ifindex, TcDirection.INGRESS));
            assertEquals(Errors.EINVAL, wrongType.errno(), wrongType.getMessage());
            assertFalse(wrongType instanceof TcxUnsupportedException, "this kernel has tcx: " + wrongType);
        }
        Path map = pins.resolve("a-map");
        first.map("vsl_lxc").pin(map);
        NativeException notALink = assertThrows(NativeException.class, () -> TcxLink.openPinned(map));
        assertTrue(notALink.getMessage().contains("it is no tcx link"), notALink.getMessage());
        NativeException absent = assertThrows(NativeException.class, () -> TcxLink.openPinned(pins.resolve("none")));
        assertEquals(Errors.ENOENT, absent.errno());
    }

    private static BpfObject load() {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            return spec.load();
        }
    }
}
