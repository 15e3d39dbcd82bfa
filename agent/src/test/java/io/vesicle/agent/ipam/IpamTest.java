package io.vesicle.agent.ipam;

import io.vesicle.cluster.Cidr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.agent.core.AgentException;
import io.vesicle.agent.core.AttachmentKey;
import java.net.Inet4Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IpamTest {
    static final Cidr CIDR = Cidr.parse("10.244.1.0/29"); // .1 gateway, .2 to .6 for pods
    static final Inet4Address GATEWAY = Cidr.parseAddress("10.244.1.1");

    @TempDir
    Path dir;

    static AttachmentKey owner(int i) {
        return new AttachmentKey("c" + i, "eth0");
    }

    Ipam ipam() {
        return new Ipam(dir, CIDR, GATEWAY);
    }

    static Inet4Address ip(String text) {
        return Cidr.parseAddress(text);
    }

    @Test
    void handsOutHostAddressesButNetworkBroadcastAndGateway() {
        Ipam ipam = ipam();
        assertEquals(5, ipam.capacity());
        Set<String> got = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            got.add(ipam.allocate(owner(i), "net").address().getHostAddress());
        }
        assertEquals(Set.of("10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6"), got);
        assertEquals(5, ipam.allocated());
        assertEquals(0, ipam.free());
    }

    @Test
    void theSameOwnerGetsTheSameAddress() {
        Ipam ipam = ipam();
        Ipam.Allocation first = ipam.allocate(owner(1), "net");
        assertEquals(first, ipam.allocate(owner(1), "net"));
        assertNotEquals(first.address(), ipam.allocate(new AttachmentKey("c1", "eth1"), "net").address(),
                "ifname is part of the owner");
        assertEquals("10.244.1.2/29", first.cidr());
    }

    @Test
    void exhaustionIsAnErrorAndReleaseMakesRoom() {
        Ipam ipam = ipam();
        for (int i = 0; i < 5; i++) {
            ipam.allocate(owner(i), "net");
        }
        AgentException e = assertThrows(AgentException.class, () -> ipam.allocate(owner(9), "net"));
        assertEquals(AgentException.Reason.EXHAUSTED, e.reason());
        assertTrue(e.getMessage().contains("10.244.1.0/29"), e.getMessage());
        Inet4Address released = ipam.allocationOf(owner(3)).orElseThrow().address();
        assertEquals(List.of(released), ipam.release(owner(3)).stream().map(Ipam.Allocation::address).toList());
        assertEquals(List.of(), ipam.release(owner(3)), "a second release finds nothing");
        assertEquals(released, ipam.allocate(owner(9), "net").address());
    }

    @Test
    void nodeAddressesAreNeverHandedOut() {
        Ipam ipam = new Ipam(dir, CIDR, GATEWAY, () -> Set.of(ip("10.244.1.2"), ip("10.244.1.3")));
        assertEquals(ip("10.244.1.4"), ipam.allocate(owner(1), "net").address());
    }

    @Test
    void releasedAddressesAreReusedLast() {
        Ipam ipam = ipam();
        Inet4Address a = ipam.allocate(owner(1), "net").address();
        ipam.release(owner(1));
        assertNotEquals(a, ipam.allocate(owner(2), "net").address());
    }

    @Test
    void delegatedAddressesAreCheckedAndHeldAgainstEveryoneElse() {
        Ipam ipam = new Ipam(dir, Cidr.parse("10.244.0.0/16"), ip("10.244.0.1"), () -> Set.of(ip("10.244.3.9")));
        Ipam.Allocation given = ipam.reserve(owner(1), "net", ip("10.244.2.5"), 24);
        assertEquals(Ipam.Source.DELEGATED, given.source());
        assertEquals("10.244.2.5/24", given.cidr());
        assertEquals(given, ipam.reserve(owner(1), "net", ip("10.244.2.5"), 24), "asking again is the same");
        assertEquals(AgentException.Reason.CONFLICT, assertThrows(AgentException.class,
                () -> ipam.reserve(owner(2), "net", ip("10.244.2.5"), 24)).reason());
        assertEquals(AgentException.Reason.CONFLICT, assertThrows(AgentException.class,
                () -> ipam.allocate(owner(1), "net")).reason(), "an owner holds one address");
        for (String[] row : new String[][] {
                {"10.245.0.5", "24", "outside the pod pool"},
                {"169.254.169.254", "32", "outside the pod pool"},
                {"10.244.2.5", "0", "shorter prefix"},
                {"10.244.2.5", "8", "shorter prefix"},
                {"10.244.0.1", "24", "gateway"},
                {"10.244.0.0", "16", "network or broadcast address of 10.244.0.0/16"},
                {"10.244.255.255", "16", "network or broadcast address of 10.244.0.0/16"},
                {"10.244.7.0", "24", "network or broadcast address of 10.244.7.0/24"},
                {"10.244.7.255", "24", "network or broadcast address of 10.244.7.0/24"},
                {"10.244.3.9", "24", "belongs to the node"}}) {
            AgentException e = assertThrows(AgentException.class,
                    () -> ipam.reserve(owner(3), "net", ip(row[0]), Integer.parseInt(row[1])), row[0]);
            assertEquals(AgentException.Reason.INVALID, e.reason(), row[0]);
            assertEquals("address", e.field());
            assertTrue(e.getMessage().contains(row[2]), row[0] + ": " + e.getMessage());
        }
        assertEquals(1, ipam.allocations().size(), "refused addresses are not recorded");
    }

    @Test
    void allocationsPersistAcrossInstancesPrivatelyWithTheirNetworkAndSource() throws Exception {
        Ipam first = ipam();
        Inet4Address a = first.allocate(owner(1), "blue").address();
        first.allocate(owner(2), "blue");
        first.release(owner(2));
        first.reserve(owner(5), null, ip("10.244.1.6"), 29);
        Path file = dir.resolve(a.getHostAddress());
        assertEquals("c1\neth0\nnetwork=blue\nsource=agent\nprefix=29\n", Files.readString(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        Files.writeString(dir.resolve(".10.244.1.5.abc.tmp"), "c7\neth0\n"); // a crash before the link
        Ipam second = ipam();
        assertEquals(new Ipam.Allocation(a, 29, owner(1), "blue", Ipam.Source.AGENT),
                second.allocationOf(owner(1)).orElseThrow());
        assertEquals(new Ipam.Allocation(ip("10.244.1.6"), 29, owner(5), null, Ipam.Source.DELEGATED),
                second.allocationOf(owner(5)).orElseThrow());
        assertTrue(second.allocationOf(owner(2)).isEmpty());
        assertEquals(2, second.allocated());
        assertFalse(Files.exists(dir.resolve(".10.244.1.5.abc.tmp")), "temporary files are removed");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(2, files.count());
        }
    }

    @Test
    void versionOneFilesReadAsAgentAllocationsOfNoKnownNetwork() throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("10.244.1.4"), "c4\neth0\n");
        Files.writeString(dir.resolve("10.244.1.5"), "\n"); // names no owner: kept out of use
        Ipam ipam = ipam();
        assertEquals(new Ipam.Allocation(ip("10.244.1.4"), 29, owner(4), null, Ipam.Source.AGENT),
                ipam.allocationOf(owner(4)).orElseThrow());
        for (int i = 0; i < 3; i++) {
            Inet4Address got = ipam.allocate(owner(10 + i), "net").address();
            assertNotEquals(ip("10.244.1.5"), got);
            assertNotEquals(ip("10.244.1.4"), got);
        }
        assertThrows(AgentException.class, () -> ipam.allocate(owner(20), "net"));
    }

    @Test
    void releaseIfMatchesOwners() {
        Ipam ipam = ipam();
        ipam.allocate(owner(1), "net");
        ipam.allocate(owner(2), "net");
        assertEquals(List.of(owner(2)), ipam.releaseIf(o -> o.containerID().equals("c2")).stream()
                .map(Ipam.Allocation::owner).toList());
        assertEquals(1, ipam.allocated());
    }

    @Test
    void parallelWritersNeverShareAnAddress() throws Exception {
        // Two instances on one directory stand for two processes: only the file system arbitrates.
        Path shared = dir.resolve("shared");
        Cidr cidr = Cidr.parse("10.250.0.0/24");
        Inet4Address gateway = cidr.address(1);
        Ipam one = new Ipam(shared, cidr, gateway);
        Ipam two = new Ipam(shared, cidr, gateway);
        int threads = 8;
        int perThread = 40; // 320 requests for 253 addresses: some must fail
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        ConcurrentLinkedQueue<Inet4Address> got = new ConcurrentLinkedQueue<>();
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Ipam ipam = t % 2 == 0 ? one : two;
            int thread = t;
            futures.add(pool.submit(() -> {
                start.await();
                for (int i = 0; i < perThread; i++) {
                    try {
                        got.add(ipam.allocate(new AttachmentKey("t" + thread + "-" + i, "eth0"), "net").address());
                    } catch (AgentException e) {
                        assertEquals(AgentException.Reason.EXHAUSTED, e.reason());
                    }
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : futures) {
            f.get();
        }
        pool.shutdown();
        assertEquals(got.size(), new HashSet<>(got).size(), "an address was handed out twice");
        assertEquals(253, got.size(), "every address is used once the range is exhausted");
        try (Stream<Path> files = Files.list(shared)) {
            assertEquals(253, files.count(), "one file per allocation, no temporary file left");
        }
        Ipam third = new Ipam(shared, cidr, gateway);
        assertEquals(253, third.allocated());
    }
}
