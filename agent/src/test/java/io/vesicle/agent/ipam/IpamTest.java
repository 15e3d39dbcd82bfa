package io.vesicle.agent.ipam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.api.Messages.Attachment;
import java.net.Inet4Address;
import java.nio.file.Files;
import java.nio.file.Path;
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

    static Attachment owner(int i) {
        return new Attachment("c" + i, "eth0");
    }

    Ipam ipam() {
        return new Ipam(dir, CIDR, GATEWAY);
    }

    @Test
    void handsOutHostAddressesButNetworkBroadcastAndGateway() {
        Ipam ipam = ipam();
        assertEquals(5, ipam.capacity());
        Set<String> got = new HashSet<>();
        for (int i = 0; i < 5; i++) {
            got.add(ipam.allocate(owner(i), a -> false).getHostAddress());
        }
        assertEquals(Set.of("10.244.1.2", "10.244.1.3", "10.244.1.4", "10.244.1.5", "10.244.1.6"), got);
        assertEquals(5, ipam.allocated());
        assertEquals(0, ipam.free());
    }

    @Test
    void theSameOwnerGetsTheSameAddress() {
        Ipam ipam = ipam();
        Inet4Address first = ipam.allocate(owner(1), a -> false);
        assertEquals(first, ipam.allocate(owner(1), a -> false));
        assertNotEquals(first, ipam.allocate(new Attachment("c1", "eth1"), a -> false), "ifname is part of the owner");
    }

    @Test
    void exhaustionIsAnErrorAndReleaseMakesRoom() {
        Ipam ipam = ipam();
        for (int i = 0; i < 5; i++) {
            ipam.allocate(owner(i), a -> false);
        }
        Ipam.ExhaustedException e = assertThrows(Ipam.ExhaustedException.class, () -> ipam.allocate(owner(9), a -> false));
        assertTrue(e.getMessage().contains("10.244.1.0/29"), e.getMessage());
        Inet4Address released = ipam.addressOf(owner(3)).orElseThrow();
        assertEquals(List.of(released), ipam.release(owner(3)));
        assertEquals(List.of(), ipam.release(owner(3)), "a second release finds nothing");
        assertEquals(released, ipam.allocate(owner(9), a -> false));
    }

    @Test
    void skipsAddressesTakenElsewhere() {
        Ipam ipam = ipam();
        Inet4Address taken = Cidr.parseAddress("10.244.1.2");
        assertNotEquals(taken, ipam.allocate(owner(1), taken::equals));
    }

    @Test
    void releasedAddressesAreReusedLast() {
        Ipam ipam = ipam();
        Inet4Address a = ipam.allocate(owner(1), x -> false);
        ipam.release(owner(1));
        assertNotEquals(a, ipam.allocate(owner(2), x -> false));
    }

    @Test
    void allocationsPersistAcrossInstances() throws Exception {
        Ipam first = ipam();
        Inet4Address a = first.allocate(owner(1), x -> false);
        Inet4Address b = first.allocate(owner(2), x -> false);
        first.release(owner(2));
        Path file = dir.resolve(a.getHostAddress());
        assertEquals("c1\neth0\n", Files.readString(file));
        Files.writeString(dir.resolve(".10.244.1.6.abc.tmp"), "c7\neth0\n"); // a crash before the link
        Ipam second = ipam();
        assertEquals(a, second.addressOf(owner(1)).orElseThrow());
        assertTrue(second.addressOf(owner(2)).isEmpty());
        assertEquals(1, second.allocated());
        assertFalse(Files.exists(dir.resolve(".10.244.1.6.abc.tmp")), "temporary files are removed");
        assertNotEquals(a, second.allocate(owner(3), x -> false));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(2, files.count());
        }
    }

    @Test
    void releaseIfMatchesOwners() {
        Ipam ipam = ipam();
        ipam.allocate(owner(1), x -> false);
        ipam.allocate(owner(2), x -> false);
        assertEquals(Set.of(owner(2)), Set.copyOf(ipam.releaseIf(o -> o.containerID().equals("c2")).values()));
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
                        got.add(ipam.allocate(new Attachment("t" + thread + "-" + i, "eth0"), x -> false));
                    } catch (Ipam.ExhaustedException e) {
                        // expected once the range is used up
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
