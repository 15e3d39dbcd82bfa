package io.vesicle.loader;

import static io.vesicle.loader.TestSupport.BPF_LXC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** tc filters on a veth inside a throwaway namespace; tc itself is the witness. */
class TcLinkTest {
    private TestSupport.TestNetns netns;
    private BpfObject first;
    private BpfObject second;
    private int ifindex;

    @BeforeEach
    void setUp() {
        netns = new TestSupport.TestNetns();
        ifindex = netns.veth("vsl0", "vsl1");
        first = load();
        second = load();
    }

    @AfterEach
    void tearDown() {
        try {
            if (first != null) {
                first.close();
            }
            if (second != null) {
                second.close();
            }
        } finally {
            netns.close();
        }
    }

    @Test
    void attachReplaceQueryDetach() {
        Program program = first.program("from_container");
        assertEquals(OptionalInt.empty(), TcLink.query(netns.ns, ifindex, TcDirection.INGRESS));

        TcLink link = TcLink.attach(program, netns.ns, ifindex, TcDirection.INGRESS);
        assertTrue(link.createdQdisc());
        assertEquals(ifindex, link.ifindex());
        assertEquals(TcDirection.INGRESS, link.direction());
        assertEquals(OptionalInt.of(program.id()), TcLink.query(netns.ns, ifindex, TcDirection.INGRESS));
        assertTrue(netns.qdiscs("vsl0").contains("clsact"), netns.qdiscs("vsl0"));
        assertEquals(1, netns.filters("vsl0", TcDirection.INGRESS).size());
        assertTrue(netns.filters("vsl0", TcDirection.INGRESS).get(0).contains("direct-action"));
        assertEquals(OptionalInt.empty(), TcLink.query(netns.ns, ifindex, TcDirection.EGRESS));

        // Attaching again, the same program or another, replaces: still one filter.
        TcLink same = TcLink.attach(program, netns.ns, ifindex, TcDirection.INGRESS);
        assertFalse(same.createdQdisc());
        assertEquals(1, netns.filters("vsl0", TcDirection.INGRESS).size());
        Program other = second.program("from_container");
        assertNotEquals(program.id(), other.id());
        TcLink replaced = TcLink.attach(other, netns.ns, ifindex, TcDirection.INGRESS);
        assertEquals(OptionalInt.of(other.id()), TcLink.query(netns.ns, ifindex, TcDirection.INGRESS));
        assertEquals(1, netns.filters("vsl0", TcDirection.INGRESS).size());
        assertTrue(netns.filters("vsl0", TcDirection.INGRESS).get(0).contains("id " + other.id()));

        replaced.close();
        assertEquals(OptionalInt.empty(), TcLink.query(netns.ns, ifindex, TcDirection.INGRESS));
        assertEquals(0, netns.filters("vsl0", TcDirection.INGRESS).size());
        // The filter is gone already: closing the others is no error, nor is closing twice.
        link.close();
        same.close();
        replaced.close();
        // The qdisc stays until asked.
        assertTrue(netns.qdiscs("vsl0").contains("clsact"));
        TcLink.removeClsact(netns.ns, ifindex);
        assertFalse(netns.qdiscs("vsl0").contains("clsact"), netns.qdiscs("vsl0"));
        TcLink.removeClsact(netns.ns, ifindex);
        assertEquals(OptionalInt.empty(), TcLink.query(netns.ns, ifindex, TcDirection.INGRESS));
    }

    @Test
    void bothDirectionsShareTheQdisc() {
        Program program = first.program("from_container");
        try (TcLink ingress = TcLink.attach(program, netns.ns, ifindex, TcDirection.INGRESS);
                TcLink egress = TcLink.attach(program, netns.ns, ifindex, TcDirection.EGRESS)) {
            assertTrue(ingress.createdQdisc());
            assertFalse(egress.createdQdisc());
            assertEquals(OptionalInt.of(program.id()), TcLink.query(netns.ns, ifindex, TcDirection.EGRESS));
            assertEquals(1, netns.filters("vsl0", TcDirection.EGRESS).size());
            assertEquals(1, netns.filters("vsl0", TcDirection.INGRESS).size());
            egress.close();
            assertEquals(0, netns.filters("vsl0", TcDirection.EGRESS).size());
            assertEquals(1, netns.filters("vsl0", TcDirection.INGRESS).size());
        }
    }

    @Test
    void failedAttachRemovesTheQdiscItCreated() {
        try (ObjectSpec spec = ObjectSpec.fromResource(TestSupport.WRONG_HOOK); BpfObject wrong = spec.load()) {
            for (String name : new String[] {"xdp_pass", "socket_accept"}) {
                Program program = wrong.program(name);
                NativeException e = assertThrows(NativeException.class,
                        () -> TcLink.attach(program, netns.ns, ifindex, TcDirection.INGRESS));
                assertEquals(Errors.EINVAL, e.errno(), e.getMessage());
                assertTrue(e.getMessage().startsWith("attach program " + name + " at tc ingress of ifindex " + ifindex
                        + " in network namespace /var/run/netns/" + netns.name), e.getMessage());
                // The attach created clsact for the filter; its failure took it away again.
                assertFalse(netns.qdiscs("vsl0").contains("clsact"), netns.qdiscs("vsl0"));
            }
        }
    }

    @Test
    void failedAttachKeepsAQdiscThatWasThere() {
        TestSupport.run("tc", "-n", netns.name, "qdisc", "add", "dev", "vsl0", "clsact");
        try (TcLink egress = TcLink.attach(first.program("from_container"), netns.ns, ifindex, TcDirection.EGRESS);
                ObjectSpec spec = ObjectSpec.fromResource(TestSupport.WRONG_HOOK); BpfObject wrong = spec.load()) {
            assertFalse(egress.createdQdisc());
            assertThrows(NativeException.class,
                    () -> TcLink.attach(wrong.program("xdp_pass"), netns.ns, ifindex, TcDirection.INGRESS));
            assertTrue(netns.qdiscs("vsl0").contains("clsact"), netns.qdiscs("vsl0"));
            assertEquals(1, netns.filters("vsl0", TcDirection.EGRESS).size(), "the other hook's filter stays");
            assertEquals(0, netns.filters("vsl0", TcDirection.INGRESS).size());
        }
    }

    @Test
    void missingDeviceIsNoSuchDevice() {
        int missing = 999_999;
        NoSuchDeviceException e = assertThrows(NoSuchDeviceException.class,
                () -> TcLink.attach(first.program("from_container"), netns.ns, missing, TcDirection.INGRESS));
        assertTrue(e.getMessage().contains("ifindex " + missing) && e.getMessage().contains(netns.name),
                e.getMessage());
        assertThrows(NoSuchDeviceException.class, () -> TcLink.query(netns.ns, missing, TcDirection.INGRESS));
        TcLink.removeClsact(netns.ns, missing);
    }

    @Test
    void closeAfterTheDeviceIsGoneIsQuiet() {
        TcLink link = TcLink.attach(first.program("from_container"), netns.ns, ifindex, TcDirection.INGRESS);
        TestSupport.run("ip", "-n", netns.name, "link", "del", "vsl0");
        link.close();
        TcLink.removeClsact(netns.ns, ifindex);
    }

    @Test
    void linkOutlivesTheCallersNamespaceHandle() {
        TcLink link;
        try (NetNs ns = NetNs.named(netns.name)) {
            link = TcLink.attach(first.program("from_container"), ns, ifindex, TcDirection.INGRESS);
        }
        assertEquals(1, netns.filters("vsl0", TcDirection.INGRESS).size());
        link.close();
        assertEquals(0, netns.filters("vsl0", TcDirection.INGRESS).size());
    }

    @Test
    void programStaysAttachedAfterItsHandleCloses() {
        Program program = first.program("from_container");
        int id = program.id();
        try (TcLink link = TcLink.attach(program, netns.ns, ifindex, TcDirection.INGRESS)) {
            first.close();
            assertEquals(OptionalInt.of(id), TcLink.query(netns.ns, ifindex, TcDirection.INGRESS));
        }
    }

    private static BpfObject load() {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            return spec.load();
        }
    }
}
