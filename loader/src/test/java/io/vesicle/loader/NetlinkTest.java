package io.vesicle.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vesicle.loader.Netlink.Address;
import io.vesicle.loader.Netlink.Link;
import io.vesicle.loader.Netlink.Neighbour;
import io.vesicle.loader.Netlink.Route;
import io.vesicle.loader.Netlink.Scope;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Netlink against the real kernel, inside throwaway namespaces {@code vsl-t<pid>x<random>} created per
 * test; the root namespace's interfaces and routes are never touched. {@code ip -n} serves as
 * an independent witness, {@code nsenter --net} runs ping inside a namespace.
 */
class NetlinkTest {
    private static final Set<String> CREATED = ConcurrentHashMap.newKeySet();
    private static final byte[] PEER_MAC = {0x02, 0x00, 0x5e, 0x10, 0x00, (byte) 0xb0};
    private static final byte[] OTHER_MAC = {0x02, 0x00, 0x5e, 0x10, 0x00, (byte) 0xc1};

    private String nameA;
    private String nameB;
    private NetNs a;
    private NetNs b;

    @BeforeEach
    void createNamespaces() {
        nameA = addNamespace();
        nameB = addNamespace();
        a = NetNs.named(nameA);
        b = NetNs.named(nameB);
    }

    @AfterEach
    void deleteNamespaces() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
        deleteNamespace(nameA);
        deleteNamespace(nameB);
    }

    /** Whatever a failed @AfterEach left behind. */
    @AfterAll
    static void sweep() {
        for (String name : List.copyOf(CREATED)) {
            deleteNamespace(name);
        }
    }

    @Test
    void vethPeerIsCreatedInAnotherNamespace() {
        Link local = Netlink.createVeth(a, "va0", "vb0", b, 1400, PEER_MAC);

        assertEquals("va0", local.name());
        assertEquals("veth", local.kind());
        assertEquals(1400, local.mtu());
        assertFalse(local.up());
        assertEquals(6, local.mac().length);
        String witnessA = run("ip", "-n", nameA, "-j", "link", "show", "dev", "va0");
        assertTrue(witnessA.contains("\"ifindex\":" + local.index() + ","), witnessA);
        assertTrue(witnessA.contains("\"mtu\":1400"), witnessA);
        String witnessB = run("ip", "-n", nameB, "-j", "link", "show", "dev", "vb0");
        assertTrue(witnessB.contains("\"address\":\"02:00:5e:10:00:b0\""), witnessB);
        assertTrue(witnessB.contains("\"mtu\":1400"), witnessB);
        assertNotEquals(0, exec("ip", "-n", nameA, "link", "show", "dev", "vb0").exitCode(), "peer must not be in A");

        Link peer = Netlink.link(b, "vb0").orElseThrow();
        assertEquals("veth", peer.kind());
        assertEquals(new Link(peer.index(), "vb0", PEER_MAC, 1400, false, "veth"), peer);
        assertTrue(Netlink.link(a, "vb0").isEmpty());
        assertEquals(local, Netlink.link(a, local.index()).orElseThrow());
        List<String> namesInB = Netlink.links(b).stream().map(Link::name).toList();
        assertTrue(namesInB.containsAll(List.of("lo", "vb0")), namesInB.toString());
        assertFalse(namesInB.contains("va0"), namesInB.toString());
    }

    @Test
    void setsMtuMacAndUp() {
        Link link = Netlink.createVeth(a, "vm0", "vm1", null, 0, null);
        assertTrue(Netlink.link(a, "vm1").isPresent(), "peer in the same namespace by default");

        Netlink.setMtu(a, link.index(), 1280);
        Netlink.setMac(a, link.index(), OTHER_MAC);
        Netlink.setUp(a, link.index());

        String witness = run("ip", "-n", nameA, "-j", "link", "show", "dev", "vm0");
        assertTrue(witness.contains("\"mtu\":1280"), witness);
        assertTrue(witness.contains("\"address\":\"02:00:5e:10:00:c1\""), witness);
        assertTrue(witness.matches("(?s).*\"flags\":\\[[^]]*\"UP\".*"), witness);
        Link now = Netlink.link(a, link.index()).orElseThrow();
        assertEquals(new Link(link.index(), "vm0", OTHER_MAC, 1280, true, "veth"), now);
    }

    @Test
    void movesLinkByFdWithRename() {
        Netlink.createVeth(a, "mv0", "mv1", null, 0, null);
        Link peer = Netlink.link(a, "mv1").orElseThrow();

        Netlink.moveToNamespace(a, peer.index(), b, "eth0");

        assertTrue(Netlink.link(a, "mv1").isEmpty());
        assertTrue(Netlink.link(b, "mv1").isEmpty());
        Link moved = Netlink.link(b, "eth0").orElseThrow();
        assertEquals("veth", moved.kind());
        assertTrue(run("ip", "-n", nameB, "-j", "link", "show", "dev", "eth0").contains("\"ifname\":\"eth0\""));
        assertNotEquals(0, exec("ip", "-n", nameA, "link", "show", "dev", "eth0").exitCode());

        // And back, without a new name.
        Netlink.moveToNamespace(b, moved.index(), a, null);
        assertTrue(Netlink.link(a, "eth0").isPresent());
        assertTrue(Netlink.link(b, "eth0").isEmpty());
    }

    @Test
    void addsAndListsAddresses() {
        Link link = Netlink.createVeth(a, "ad0", "ad1", b, 0, null);
        InetAddress ip = ip("10.200.0.1");

        Netlink.addAddress(a, link.index(), ip, 24);

        String witness = run("ip", "-n", nameA, "-j", "addr", "show", "dev", "ad0");
        assertTrue(witness.contains("\"local\":\"10.200.0.1\",\"prefixlen\":24"), witness);
        assertEquals(List.of(new Address(ip, 24, link.index())), ipv4(Netlink.addresses(a, link.index())));
        assertTrue(Netlink.addresses(a, 0).contains(new Address(ip, 24, link.index())));
        NativeException duplicate = assertThrows(NativeException.class,
                () -> Netlink.addAddress(a, link.index(), ip, 24));
        assertEquals(Errors.EEXIST, duplicate.errno(), duplicate.getMessage());
        assertTrue(duplicate.getMessage().contains("10.200.0.1/24"), duplicate.getMessage());
        assertTrue(duplicate.getMessage().contains(nameA), duplicate.getMessage());
    }

    @Test
    void addsReplacesListsAndDeletesRoutes() {
        Link link = Netlink.createVeth(a, "rt0", "rt1", b, 0, null);
        int dev = link.index();
        Netlink.addAddress(a, dev, ip("10.200.0.1"), 24);
        Netlink.setUp(a, dev);  // a nexthop needs its device up

        Route scoped = Route.link(ip("10.201.0.0"), 24, dev);
        Route via = Route.via(ip("10.202.0.0"), 24, ip("10.200.0.2"), dev, false);
        Route onlink = Route.via(ip("10.203.0.0"), 24, ip("169.254.1.1"), dev, true);
        Route defaultRoute = Route.via(ip("0.0.0.0"), 0, ip("169.254.1.1"), dev, true);
        for (Route route : List.of(scoped, via, onlink, defaultRoute)) {
            Netlink.addRoute(a, route, false);
        }

        String witness = run("ip", "-n", nameA, "-j", "route", "show");
        assertTrue(witness.contains("{\"dst\":\"default\",\"gateway\":\"169.254.1.1\",\"dev\":\"rt0\","), witness);
        assertTrue(witness.matches("(?s).*\"dst\":\"default\"[^}]*\"flags\":\\[\"onlink\".*"), witness);
        assertTrue(witness.matches("(?s).*\"dst\":\"10\\.201\\.0\\.0/24\",\"dev\":\"rt0\"[^}]*\"scope\":\"link\".*"),
                witness);
        assertTrue(witness.contains("{\"dst\":\"10.202.0.0/24\",\"gateway\":\"10.200.0.2\",\"dev\":\"rt0\","), witness);
        assertTrue(witness.matches("(?s).*\"dst\":\"10\\.203\\.0\\.0/24\",\"gateway\":\"169\\.254\\.1\\.1\"[^}]*onlink.*"),
                witness);
        List<Route> listed = Netlink.routes(a, dev);
        for (Route route : List.of(scoped, via, onlink, defaultRoute, new Route(ip("10.200.0.0"), 24, null, dev,
                Scope.LINK, false, 0, Route.PROTOCOL_KERNEL, ip("10.200.0.1")))) {
            assertTrue(listed.contains(route), route + " not in " + listed);
        }
        assertTrue(Netlink.routes(a, 0).containsAll(listed));
        assertEquals(List.of(), Netlink.routes(a, dev + 1000));
        assertEquals(Scope.UNIVERSE, defaultRoute.scope());

        NativeException exists = assertThrows(NativeException.class, () -> Netlink.addRoute(a, defaultRoute, false));
        assertEquals(Errors.EEXIST, exists.errno(), exists.getMessage());
        assertTrue(exists.getMessage().contains("0.0.0.0/0 via 169.254.1.1"), exists.getMessage());
        Route replacement = Route.via(ip("0.0.0.0"), 0, ip("10.200.0.254"), dev, false);
        Netlink.addRoute(a, replacement, true);
        String replaced = run("ip", "-n", nameA, "-j", "route", "show", "default");
        assertTrue(replaced.contains("\"gateway\":\"10.200.0.254\""), replaced);
        assertFalse(replaced.contains("169.254.1.1"), replaced);

        assertTrue(Netlink.deleteRoute(a, replacement));
        assertFalse(Netlink.deleteRoute(a, replacement), "deleting twice");
        assertTrue(Netlink.deleteRoute(a, scoped));
        assertTrue(Netlink.deleteRoute(a, onlink));
        assertFalse(Netlink.deleteRoute(a, onlink));
        String after = run("ip", "-n", nameA, "-j", "route", "show");
        assertFalse(after.contains("default"), after);
        assertFalse(after.contains("10.201.0.0"), after);
        assertFalse(after.contains("10.203.0.0"), after);
        assertTrue(after.contains("10.202.0.0/24"), after);
    }

    @Test
    void routesCarryTheirProtocolAndPreferredSource() {
        Link link = Netlink.createVeth(a, "rp0", "rp1", b, 0, null);
        int dev = link.index();
        Netlink.addAddress(a, dev, ip("10.200.0.1"), 24);
        Netlink.setUp(a, dev);
        Route ours = Route.link(ip("10.210.0.0"), 16, dev).withProtocol(0xf5).withSource(ip("10.200.0.1"));
        Netlink.addRoute(a, ours, false);

        String witness = run("ip", "-n", nameA, "route", "show", "10.210.0.0/16");
        assertTrue(witness.contains("proto 245") && witness.contains("src 10.200.0.1"), witness);
        assertTrue(Netlink.routes(a, dev).contains(ours), Netlink.routes(a, dev).toString());
        assertTrue(Netlink.deleteRoute(a, Route.link(ip("10.210.0.0"), 16, dev)));
        assertEquals("", run("ip", "-n", nameA, "route", "show", "10.210.0.0/16").strip());
    }

    @Test
    void createsAnExternalVxlanDeviceWithoutLearning() {
        Link vxlan = Netlink.createVxlan(a, "vx0", 8472, 1450);
        assertEquals("vxlan", vxlan.kind());
        assertEquals(1450, vxlan.mtu());

        String witness = run("ip", "-n", nameA, "-d", "link", "show", "vx0");
        assertTrue(witness.contains("vxlan external"), witness);
        assertTrue(witness.contains("dstport 8472"), witness);
        assertTrue(witness.contains("nolearning"), witness);
        assertTrue(witness.contains("mtu 1450"), witness);
        Netlink.Vxlan settings = Netlink.vxlan(a, "vx0").orElseThrow();
        assertEquals(new Netlink.Vxlan(vxlan, 8472, true, false), settings);
        assertTrue(Netlink.vxlan(a, "vx9").isEmpty());

        NativeException taken = assertThrows(NativeException.class, () -> Netlink.createVxlan(a, "vx0", 8472, 0));
        assertEquals(Errors.EEXIST, taken.errno(), taken.getMessage());
        Netlink.createVeth(a, "nv0", "nv1", null, 0, null);
        NativeException notVxlan = assertThrows(NativeException.class, () -> Netlink.vxlan(a, "nv0"));
        assertTrue(notVxlan.getMessage().contains("nv0"), notVxlan.getMessage());
    }

    @Test
    void setsAndClearsNoArp() {
        Link link = Netlink.createVeth(a, "na0", "na1", null, 0, null);
        Netlink.setNoArp(a, link.index(), true);
        assertTrue(run("ip", "-n", nameA, "link", "show", "na0").contains("NOARP"));
        Netlink.setNoArp(a, link.index(), false);
        assertFalse(run("ip", "-n", nameA, "link", "show", "na0").contains("NOARP"));
    }

    @Test
    void addingARouteNeverReplacesOneToTheSameDestination() {
        int first = Netlink.createVeth(a, "ex0", "ex1", null, 0, null).index();
        int second = Netlink.createVeth(a, "ex2", "ex3", null, 0, null).index();
        for (int dev : new int[] {first, second}) {
            Netlink.setUp(a, dev);
        }
        Netlink.addAddress(a, first, ip("10.210.1.1"), 24);
        Netlink.addAddress(a, second, ip("10.210.2.1"), 24);
        Route existing = Route.link(ip("10.211.0.0"), 24, first);
        Netlink.addRoute(a, existing, false);
        String before = run("ip", "-n", nameA, "-j", "route", "show", "10.211.0.0/24");

        // Another device, a gateway on the same or on another device: each is the same destination.
        for (Route other : List.of(Route.link(ip("10.211.0.0"), 24, second),
                Route.via(ip("10.211.0.0"), 24, ip("10.210.1.2"), first, false),
                Route.via(ip("10.211.0.0"), 24, ip("10.210.2.2"), second, false))) {
            NativeException e = assertThrows(NativeException.class, () -> Netlink.addRoute(a, other, false));
            assertEquals(Errors.EEXIST, e.errno(), e.getMessage());
            assertTrue(e.getMessage().startsWith("add route " + other + " in network namespace /var/run/netns/" + nameA
                    + ": File exists (errno 17)"), e.getMessage());
            assertEquals(before, run("ip", "-n", nameA, "-j", "route", "show", "10.211.0.0/24"), "left as it was");
        }
        assertTrue(before.contains("\"dev\":\"ex0\""), before);
    }

    @Test
    void kernelExplainsRefusedRoute() {
        Link link = Netlink.createVeth(a, "ke0", "ke1", null, 0, null);
        Netlink.setUp(a, link.index());
        Route unreachable = Route.via(ip("10.204.0.0"), 24, ip("10.99.0.1"), link.index(), false);

        NativeException e = assertThrows(NativeException.class, () -> Netlink.addRoute(a, unreachable, false));

        assertEquals(101, e.errno(), e.getMessage()); // ENETUNREACH: the kernel's errno, not libnl's
        assertTrue(e.getMessage().contains("10.204.0.0/24 via 10.99.0.1"), e.getMessage());
        assertTrue(e.getMessage().contains("(kernel: "), e.getMessage());
    }

    @Test
    void addsReplacesAndDeletesNeighbours() {
        Link link = Netlink.createVeth(a, "nb0", "nb1", b, 0, null);
        int dev = link.index();
        InetAddress ip = ip("10.200.0.9");

        Netlink.addNeighbour(a, new Neighbour(ip, PEER_MAC, dev, true));
        String witness = run("ip", "-n", nameA, "-j", "neigh", "show", "dev", "nb0");
        assertTrue(witness.contains("{\"dst\":\"10.200.0.9\",\"lladdr\":\"02:00:5e:10:00:b0\",\"state\":[\"PERMANENT\"]}"),
                witness);
        assertEquals(List.of(new Neighbour(ip, PEER_MAC, dev, true)), Netlink.neighbours(a, dev));

        Netlink.addNeighbour(a, new Neighbour(ip, OTHER_MAC, dev, true));  // replace semantics
        assertTrue(run("ip", "-n", nameA, "-j", "neigh", "show", "dev", "nb0").contains("02:00:5e:10:00:c1"));
        assertEquals(List.of(new Neighbour(ip, OTHER_MAC, dev, true)), Netlink.neighbours(a, 0));

        assertTrue(Netlink.deleteNeighbour(a, dev, ip));
        assertFalse(Netlink.deleteNeighbour(a, dev, ip), "deleting twice");
        assertEquals(List.of(), Netlink.neighbours(a, dev));
        assertFalse(run("ip", "-n", nameA, "-j", "neigh", "show", "dev", "nb0").contains("10.200.0.9"));
    }

    @Test
    void deletesLinksByIndexAndName() {
        Link first = Netlink.createVeth(a, "dl0", "dl1", b, 0, null);
        Netlink.deleteLink(a, first.index());
        assertTrue(Netlink.link(a, "dl0").isEmpty());
        assertNotEquals(0, exec("ip", "-n", nameB, "link", "show", "dev", "dl1").exitCode(), "peer goes too");
        NoSuchDeviceException twice = assertThrows(NoSuchDeviceException.class,
                () -> Netlink.deleteLink(a, first.index()));
        assertTrue(twice.getMessage().contains("link #" + first.index()), twice.getMessage());

        Netlink.createVeth(a, "dn0", "dn1", b, 0, null);
        assertTrue(Netlink.deleteLink(b, "dn1"));
        assertFalse(Netlink.deleteLink(b, "dn1"), "deleting twice");
        assertFalse(Netlink.deleteLink(a, "dn0"), "went with its peer");
    }

    @Test
    void missingDeviceIsNoSuchDeviceNamingIt() {
        NoSuchDeviceException mtu = assertThrows(NoSuchDeviceException.class, () -> Netlink.setMtu(a, 987654, 1400));
        assertTrue(mtu.getMessage().contains("link #987654"), mtu.getMessage());
        assertTrue(mtu.getMessage().contains(nameA), mtu.getMessage());
        assertEquals(Errors.ENODEV, mtu.errno());
        NoSuchDeviceException address = assertThrows(NoSuchDeviceException.class,
                () -> Netlink.addAddress(a, 987654, ip("10.200.0.1"), 24));
        assertTrue(address.getMessage().contains("10.200.0.1/24 to link #987654"), address.getMessage());
        assertThrows(NoSuchDeviceException.class, () -> Netlink.setUp(b, 987654));
        assertThrows(NoSuchDeviceException.class,
                () -> Netlink.addNeighbour(a, new Neighbour(ip("10.200.0.9"), PEER_MAC, 987654, true)));
        assertTrue(Netlink.link(a, "nosuchdev").isEmpty());
        assertTrue(Netlink.link(a, 987654).isEmpty());
    }

    @Test
    void duplicateNameIsEexistNamingIt() {
        Netlink.createVeth(a, "dup0", "dup1", b, 0, null);

        NativeException sameName = assertThrows(NativeException.class,
                () -> Netlink.createVeth(a, "dup0", "other1", b, 0, null));
        assertEquals(Errors.EEXIST, sameName.errno());
        assertTrue(sameName.getMessage().contains("dup0"), sameName.getMessage());
        NativeException samePeerName = assertThrows(NativeException.class,
                () -> Netlink.createVeth(a, "other0", "dup1", b, 0, null));
        assertEquals(Errors.EEXIST, samePeerName.errno());
        assertTrue(samePeerName.getMessage().contains("dup1"), samePeerName.getMessage());
        assertTrue(Netlink.link(a, "other0").isEmpty(), "nothing half-created");
    }

    @Test
    void missingNamespaceIsNativeExceptionNamingIt() {
        Path missing = Path.of("/var/run/netns/vsl-t-missing-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));

        NativeException e = assertThrows(NativeException.class, () -> NetNs.open(missing));

        assertEquals(Errors.ENOENT, e.errno());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void overlongNameIsRejectedBeforeAnyNativeCall() {
        String sixteen = "abcdefghijklmnop";

        assertThrows(IllegalArgumentException.class, () -> Netlink.createVeth(a, sixteen, "ok1", null, 0, null));
        assertThrows(IllegalArgumentException.class, () -> Netlink.createVeth(a, "ok0", sixteen, null, 0, null));
        assertThrows(IllegalArgumentException.class, () -> Netlink.moveToNamespace(a, 1, b, sixteen));
        assertThrows(IllegalArgumentException.class, () -> Netlink.link(a, sixteen));
        assertThrows(IllegalArgumentException.class, () -> Netlink.createVeth(a, "bad/name", "ok1", null, 0, null));
        assertEquals(List.of("lo"), Netlink.links(a).stream().map(Link::name).toList());
    }

    @Test
    void callingThreadStaysInItsNamespace() throws IOException {
        Path self = Path.of("/proc/thread-self/ns/net");
        Path before = Files.readSymbolicLink(self);

        Link link = Netlink.createVeth(a, "th0", "th1", b, 0, null);
        Netlink.links(b);
        assertThrows(NoSuchDeviceException.class, () -> Netlink.setUp(a, 987654));
        Netlink.deleteLink(a, link.index());

        assertEquals(before, Files.readSymbolicLink(self));
    }

    @Test
    void concurrentCallsStayInTheirOwnNamespaces() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    NetNs mine = thread % 2 == 0 ? a : b;
                    NetNs other = thread % 2 == 0 ? b : a;
                    Path before = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net"));
                    for (int i = 0; i < 20; i++) {
                        String name = "c" + thread + "x" + i;
                        Link link = Netlink.createVeth(mine, name, "c" + thread + "y" + i, null, 0, null);
                        assertTrue(Netlink.link(mine, name).isPresent(), name);
                        assertTrue(Netlink.link(other, name).isEmpty(), name);
                        Netlink.deleteLink(mine, link.index());
                    }
                    assertEquals(before, Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")));
                    return null;
                }));
            }
            for (Future<?> result : results) {
                result.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of("lo"), Netlink.links(a).stream().map(Link::name).toList());
        assertEquals(List.of("lo"), Netlink.links(b).stream().map(Link::name).toList());
    }

    @Test
    void acceptsIpv6WhereLibnlMakesItFree() {
        Link link = Netlink.createVeth(a, "v6a", "v6b", b, 0, null);
        InetAddress ip = ip("fd00:10::1");
        InetAddress neighbour = ip("fd00:10::9");

        Netlink.addAddress(a, link.index(), ip, 64);
        Netlink.addNeighbour(a, new Neighbour(neighbour, PEER_MAC, link.index(), true));

        assertTrue(Netlink.addresses(a, link.index()).contains(new Address(ip, 64, link.index())));
        assertTrue(run("ip", "-n", nameA, "-j", "-6", "addr", "show", "dev", "v6a")
                .contains("\"local\":\"fd00:10::1\",\"prefixlen\":64"));
        assertTrue(Netlink.neighbours(a, link.index()).contains(new Neighbour(neighbour, PEER_MAC, link.index(), true)));
        assertTrue(Netlink.deleteNeighbour(a, link.index(), neighbour));
    }

    @Test
    void pingsAcrossVethConfiguredOnlyThroughNetlink() {
        Link left = Netlink.createVeth(a, "pa0", "pb0", b, 0, null);
        Link right = Netlink.link(b, "pb0").orElseThrow();
        Netlink.addAddress(a, left.index(), ip("10.210.0.1"), 30);
        Netlink.addAddress(b, right.index(), ip("10.210.0.2"), 30);
        Netlink.setUp(a, left.index());
        Netlink.setUp(b, right.index());

        assertPings(nameA, "10.210.0.2");
        assertPings(nameB, "10.210.0.1");
    }

    // ---- helpers ----

    /** A fresh link's qdisc starts a moment after IFF_UP: allow a few attempts. */
    private static void assertPings(String namespace, String target) {
        Result last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            last = exec("nsenter", "--net=/var/run/netns/" + namespace, "ping", "-c1", "-W1", target);
            if (last.exitCode() == 0) {
                return;
            }
        }
        fail("ping " + target + " from " + namespace + " failed: " + last.output());
    }

    private static List<Address> ipv4(List<Address> addresses) {
        List<Address> v4 = new ArrayList<>();
        for (Address address : addresses) {
            if (address.address().getAddress().length == 4) {
                v4.add(address);
            }
        }
        return v4;
    }

    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static String addNamespace() {
        String name = TestSupport.netnsName();
        CREATED.add(name);
        run("ip", "netns", "add", name);
        return name;
    }

    private static void deleteNamespace(String name) {
        if (name != null && CREATED.remove(name)) {
            exec("ip", "netns", "del", name);
        }
    }

    private record Result(int exitCode, String output) {
    }

    private static String run(String... command) {
        Result result = exec(command);
        if (result.exitCode() != 0) {
            fail(String.join(" ", command) + " exited " + result.exitCode() + ": " + result.output());
        }
        return result.output();
    }

    private static Result exec(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output;
            try (InputStream in = process.getInputStream()) {
                output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " timed out");
            }
            return new Result(process.exitValue(), output);
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
