package io.vesicle.agent;

import io.vesicle.cluster.Cidr;
import io.vesicle.agent.core.AttachmentKey;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.agent.util.Throwables;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vesicle.api.AgentClient;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Messages;
import io.vesicle.loader.NetNs;
import io.vesicle.loader.Netlink;
import io.vesicle.loader.TcDirection;
import io.vesicle.loader.TcLink;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.IfIndex;
import io.vesicle.maps.MacAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent in this JVM, acting on a node namespace of its own (the Datapath and every netlink call
 * take it explicitly), with pods in further namespaces: real veths, maps, tc and traffic.
 */
class AgentTest {
    TestNamespaces ns;
    String node;
    NetNs nodeNs;
    Path pinRoot;
    Path stateDir;
    Path socket;
    AgentConfig config;
    Agent agent;
    AgentClient client;

    @BeforeEach
    void setUp() {
        ns = new TestNamespaces();
        node = ns.namespace("node");
        nodeNs = ns.open(node);
        pinRoot = ns.pinRoot();
        Path scratch = ns.scratch();
        stateDir = scratch.resolve("state");
        socket = scratch.resolve("api.sock");
        config = config("10.201.0.0/24");
        client = new AgentClient(socket, Duration.ofSeconds(20));
    }

    AgentConfig config(String cidr) {
        return AgentConfig.load(null, Map.of("pod-cidr", cidr, "node-name", "n1", "bpffs-root", pinRoot.toString(),
                "state-dir", stateDir.toString(), "api-socket", socket.toString(),
                // The test JVM's namespace is the machine's: a port of the kernel's choice, never a fixed one.
                "metrics-address", "127.0.0.1:0"));
    }

    Agent start(EndpointManager.Checkpoint checkpoint) {
        agent = new Agent(config, TestNamespaces.path(node), checkpoint).start();
        return agent;
    }

    Agent start() {
        return start(EndpointManager.Checkpoint.NONE);
    }

    @AfterEach
    void tearDown() {
        try {
            if (agent != null) {
                agent.close();
            }
        } finally {
            ns.close();
        }
    }

    Messages.Endpoint create(String containerID, String pod) {
        return client.createEndpoint(new Messages.CreateEndpoint(containerID, "eth0",
                TestNamespaces.path(pod).toString(), "default", containerID, null, null));
    }

    static String ip(Messages.Endpoint e) {
        return e.address().substring(0, e.address().indexOf('/'));
    }

    List<String> lxcLinks() {
        return Netlink.links(nodeNs).stream().map(Netlink.Link::name).filter(n -> n.startsWith("lxc")).toList();
    }

    List<String> files(String sub) throws IOException {
        Path dir = stateDir.resolve(sub);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    void assertNothingLeft() throws IOException {
        assertEquals(List.of(), lxcLinks(), "veths in the node namespace");
        assertEquals(List.of(), files("endpoints"), "endpoint state files");
        assertEquals(List.of(), files("ipam"), "IPAM allocations");
        try (DatapathMaps maps = DatapathMaps.openPinned(pinRoot)) {
            assertEquals(List.of(), maps.endpoints().keys(), "vsl_endpoints entries");
            assertEquals(List.of(), maps.endpointsByIfindex().keys(), "vsl_lxc entries");
        }
    }

    @Test
    void podsTalkThroughTheAgentsEndpointsAndLeaveNothingBehind() throws IOException {
        start();
        assertEquals("ok", client.health().status());
        assertEquals(new Messages.NodeConfig("n1", "10.201.0.0/24", "10.201.0.1", 1450), client.config());
        String podA = ns.namespace("a");
        String podB = ns.namespace("b");
        Messages.Endpoint a = create("ca", podA);
        Messages.Endpoint b = create("cb", podB);
        assertEquals(1, a.id());
        assertEquals(2, b.id());
        assertEquals("10.201.0.2/24", a.address());
        assertEquals("10.201.0.3/24", b.address());
        assertEquals(new AttachmentKey("ca", "eth0").hostIfName(), a.hostIf());
        assertTrue(a.hostIf().matches("lxc[0-9a-f]{11}"), a.hostIf());
        assertTrue(a.ipamOwned());
        assertEquals(1450, a.mtu());
        assertEquals("10.201.0.1", a.gateway());

        // The pod side as the plugin's result will describe it.
        try (NetNs pod = NetNs.named(podA)) {
            Netlink.Link eth0 = Netlink.link(pod, "eth0").orElseThrow();
            assertEquals(a.mac(), MacAddress.of(eth0.mac()).toString());
            assertEquals(1450, eth0.mtu());
        }
        Netlink.Link host = Netlink.link(nodeNs, a.hostIf()).orElseThrow();
        assertEquals(a.hostMac(), MacAddress.of(host.mac()).toString());
        assertTrue(TcLink.query(nodeNs, host.index(), TcDirection.INGRESS).isPresent());

        assertTrue(TestNamespaces.ping(podA, ip(b)), "a reaches b");
        assertTrue(TestNamespaces.ping(podB, ip(a)), "b reaches a");

        assertEquals(List.of(a, b), client.endpoints());
        assertEquals(a, client.endpoint("ca", "eth0").orElseThrow());
        assertTrue(client.checkEndpoint("ca", "eth0").ok());
        JsonNode status = client.call("GET", ApiPaths.STATUS, null, JsonNode.class);
        assertEquals(2, status.path("endpoints").asInt());
        assertEquals(2, status.path("ipam").path("allocated").asInt());
        assertEquals(251, status.path("ipam").path("free").asInt());
        assertEquals("n1", status.path("node").asText());

        assertTrue(client.deleteEndpoint("ca", "eth0").deleted());
        assertFalse(client.deleteEndpoint("ca", "eth0").deleted(), "a repeated delete succeeds");
        assertTrue(client.endpoint("ca", "eth0").isEmpty());
        assertFalse(TestNamespaces.ping(podB, ip(a)));
        assertTrue(client.deleteEndpoint("cb", "eth0").deleted());
        assertNothingLeft();
    }

    @Test
    void repeatedPutAndConflictsFailAndChangeNothing() throws IOException {
        start();
        String pod = ns.namespace("p");
        String other = ns.namespace("q");
        Messages.Endpoint e = create("c1", pod);
        // CNI: a second ADD of a live attachment must fail (the interface exists in the container).
        AgentClient.ApiException again = assertThrows(AgentClient.ApiException.class, () -> create("c1", pod));
        assertEquals(409, again.status());
        assertTrue(again.getMessage().contains("already exists"), again.getMessage());
        assertEquals(List.of(e), client.endpoints(), "the first endpoint is untouched");

        AgentClient.ApiException moved = assertThrows(AgentClient.ApiException.class, () -> create("c1", other));
        assertEquals(409, moved.status());
        assertTrue(moved.getMessage().contains(TestNamespaces.path(pod).toString()), moved.getMessage());

        // CNI: ADD must fail when the interface exists in the namespace.
        TestNamespaces.run("ip", "-n", other, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p");
        AgentClient.ApiException exists = assertThrows(AgentClient.ApiException.class, () -> create("c2", other));
        assertEquals(409, exists.status());
        assertTrue(exists.getMessage().contains("eth0"), exists.getMessage());

        AgentClient.ApiException missing = assertThrows(AgentClient.ApiException.class,
                () -> client.createEndpoint(new Messages.CreateEndpoint("c3", "eth0", "/var/run/netns/nope-"
                        + ns.prefix, null, null, null, null)));
        assertEquals(404, missing.status());

        Path notNetns = Files.createFile(stateDir.resolve("plain-file"));
        AgentClient.ApiException plain = assertThrows(AgentClient.ApiException.class,
                () -> client.createEndpoint(new Messages.CreateEndpoint("c4", "eth0", notNetns.toString(), null, null,
                        null, null)));
        assertEquals(400, plain.status());
        assertTrue(plain.getMessage().contains("not a network namespace"), plain.getMessage());
        Files.delete(notNetns);

        AgentClient.ApiException badGateway = assertThrows(AgentClient.ApiException.class,
                () -> client.createEndpoint(new Messages.CreateEndpoint("c5", "eth0", TestNamespaces.path(other)
                        .toString(), null, null, "10.201.0.9/24", "10.201.0.254")));
        assertEquals(400, badGateway.status());
        AgentClient.ApiException taken = assertThrows(AgentClient.ApiException.class,
                () -> client.createEndpoint(new Messages.CreateEndpoint("c6", "eth1", TestNamespaces.path(other)
                        .toString(), null, null, e.address(), null)));
        assertEquals(409, taken.status());
        assertTrue(taken.getMessage().contains("c1/eth0"), taken.getMessage());

        assertEquals(List.of(e), client.endpoints(), "nothing else was created");
        assertEquals(List.of(e.hostIf()), lxcLinks());
        assertEquals(List.of("c1_eth0.json"), files("endpoints"));
        assertEquals(List.of(ip(e)), files("ipam"));
        client.deleteEndpoint("c1", "eth0");
        assertNothingLeft();
    }

    @Test
    void givenAddressesAreUsedAndNotReleasedToIpam() throws IOException {
        start();
        String pod = ns.namespace("p");
        Messages.Endpoint e = client.createEndpoint(new Messages.CreateEndpoint("c1", "net1",
                TestNamespaces.path(pod).toString(), null, null, "10.201.0.77/24", "10.201.0.1"));
        assertFalse(e.ipamOwned());
        assertEquals("10.201.0.77/24", e.address());
        // The IPAM holds every address a pod has, a delegated one too, so nothing else gets it.
        assertEquals(List.of("10.201.0.77"), files("ipam"));
        assertTrue(Files.readString(stateDir.resolve("ipam/10.201.0.77")).contains("source=delegated"));
        Messages.IpamAllocation next = client.allocate(new Messages.IpamRequest("c2", "eth0"));
        assertNotEquals("10.201.0.77/24", next.address());
        assertEquals(next, client.allocate(new Messages.IpamRequest("c2", "eth0")), "same owner, same address");
        assertEquals(List.of(next.address().replace("/24", "")),
                client.release(new Messages.IpamRequest("c2", "eth0")).released());
        assertEquals(List.of(), client.release(new Messages.IpamRequest("c2", "eth0")).released());
        assertTrue(client.checkEndpoint("c1", "net1").ok());
        client.deleteEndpoint("c1", "net1");
        assertNothingLeft();
    }

    @Test
    void exhaustionIs507AndLeavesNothing() throws IOException {
        config = config("10.201.0.0/30"); // .1 gateway, .2 the only pod address
        start();
        String a = ns.namespace("a");
        String b = ns.namespace("b");
        create("c1", a);
        AgentClient.ApiException full = assertThrows(AgentClient.ApiException.class, () -> create("c2", b));
        assertEquals(507, full.status());
        try (NetNs pod = NetNs.named(b)) {
            assertTrue(Netlink.link(pod, "eth0").isEmpty());
        }
        assertEquals(List.of("c1_eth0.json"), files("endpoints"));
        client.deleteEndpoint("c1", "eth0");
        assertEquals("10.201.0.2/30", create("c2", b).address());
        client.deleteEndpoint("c2", "eth0");
        assertNothingLeft();
    }

    @Test
    void deleteWorksWhenThePodNamespaceIsGone() throws IOException {
        start();
        String pod = ns.namespace("p");
        create("c1", pod);
        ns.delete(pod);
        assertTrue(client.deleteEndpoint("c1", "eth0").deleted());
        assertNothingLeft();
    }

    @Test
    void aPodNamespaceRecreatedUnderTheSamePathGetsAFreshEndpoint() throws IOException {
        start();
        String pod = ns.namespace("p");
        Messages.Endpoint first = create("c1", pod);
        ns.delete(pod); // no DELETE: the runtime lost track
        ns.recreate(pod);
        Messages.Endpoint second = create("c1", pod);
        assertEquals(first.hostIf(), second.hostIf());
        assertTrue(client.checkEndpoint("c1", "eth0").ok());
        assertNotEquals(first.mac(), second.mac());
        client.deleteEndpoint("c1", "eth0");
        assertNothingLeft();
    }

    @Test
    void checkNamesWhatDiffers() {
        start();
        String pod = ns.namespace("p");
        Messages.Endpoint e = create("c1", pod);
        assertTrue(client.checkEndpoint("c1", "eth0").ok());
        TestNamespaces.run("ip", "-n", pod, "route", "del", "default");
        agent.datapath().maps().endpoints().remove(new EndpointKey(io.vesicle.cluster.Cidr.parseAddress(ip(e))));
        AgentClient.ApiException diff = assertThrows(AgentClient.ApiException.class,
                () -> client.checkEndpoint("c1", "eth0"));
        assertEquals(409, diff.status());
        assertTrue(diff.getMessage().contains("default route"), diff.getMessage());
        assertTrue(diff.getMessage().contains("datapath entry for " + ip(e)), diff.getMessage());
        assertEquals(404, assertThrows(AgentClient.ApiException.class, () -> client.checkEndpoint("zz", "eth0"))
                .status());
    }

    /** A crash at each step of a create, then a restart: nothing half-made survives. */
    @Test
    void aCreateCutOffAtAnyStepIsUndoneByTheRestart() throws IOException {
        String pod = ns.namespace("p");
        for (String step : List.of("intent", "address", "veth", "entries", "route", "program")) {
            start(s -> {
                if (s.equals(step)) {
                    throw new Crash(step);
                }
            });
            AgentClient.ApiException e = assertThrows(AgentClient.ApiException.class, () -> create("c1", pod));
            assertEquals(500, e.status(), step);
            assertEquals(List.of("c1_eth0.json"), files("endpoints"), "the intent survives a crash at " + step);
            agent.close(); // the process dies: nothing is cleaned up on the way out
            start();
            assertEquals(1, agent.restoreReport().rolledBack(), step);
            assertNothingLeft();
            try (NetNs p = NetNs.named(pod)) {
                assertTrue(Netlink.link(p, "eth0").isEmpty(), "the pod side went with the veth after " + step);
            }
            agent.close();
        }
        // Cut off after the endpoint was ready and written: it is restored, not rolled back.
        start(s -> {
            if (s.equals("ready")) {
                throw new Crash(s);
            }
        });
        assertThrows(AgentClient.ApiException.class, () -> create("c1", pod));
        agent.close();
        start();
        assertEquals(1, agent.restoreReport().restored());
        assertTrue(client.checkEndpoint("c1", "eth0").ok());
        client.deleteEndpoint("c1", "eth0");
        assertNothingLeft();
    }

    static final class Crash extends Error {
        Crash(String step) {
            super("crash at " + step);
        }
    }

    @Test
    void restartRestoresEndpointsInPlaceAndRemovesWhatNothingAccountsFor() throws Exception {
        start();
        String podA = ns.namespace("a");
        String podB = ns.namespace("b");
        String podC = ns.namespace("c");
        Messages.Endpoint a = create("ca", podA);
        Messages.Endpoint b = create("cb", podB);
        create("cc", podC);
        int programBefore = TcLink.query(nodeNs, Netlink.link(nodeNs, a.hostIf()).orElseThrow().index(),
                TcDirection.INGRESS).getAsInt();
        agent.close();

        // While the agent is down: pod c goes away, strays appear in the maps and the namespace.
        ns.delete(podC);
        TestNamespaces.run("ip", "-n", node, "link", "add", "lxc00000000000", "type", "veth", "peer", "name", "x0");
        TestNamespaces.run("ip", "-n", node, "link", "add", "lxcmanual", "type", "veth", "peer", "name", "x1");
        try (DatapathMaps maps = DatapathMaps.openPinned(pinRoot)) {
            EndpointInfo stray = new EndpointInfo(io.vesicle.cluster.Cidr.parseAddress("10.201.0.99"), 9999, 99, 0, 0,
                    MacAddress.parse("02:00:00:00:00:99"), MacAddress.parse("02:00:00:00:00:98"));
            maps.endpoints().put(new EndpointKey(stray.address()), stray);
            maps.endpointsByIfindex().put(new IfIndex(9999), stray);
        }
        assertTrue(TestNamespaces.ping(podA, ip(b)), "pods talk while the agent is down");

        start();
        EndpointManager.RestoreReport report = agent.restoreReport();
        assertEquals(2, report.restored());
        assertEquals(1, report.cleanedUp());
        assertEquals(3, report.staleObjects(), "two stray map entries and one stray veth");
        assertEquals(List.of(a, b), client.endpoints());
        assertTrue(client.checkEndpoint("ca", "eth0").ok());
        assertTrue(client.checkEndpoint("cb", "eth0").ok());
        int programAfter = TcLink.query(nodeNs, Netlink.link(nodeNs, a.hostIf()).orElseThrow().index(),
                TcDirection.INGRESS).getAsInt();
        assertNotEquals(programBefore, programAfter, "the new agent's program replaced the old one in place");
        assertTrue(TestNamespaces.ping(podA, ip(b)));
        assertEquals(List.of(a.hostIf(), b.hostIf(), "lxcmanual").stream().sorted().toList(),
                lxcLinks().stream().sorted().toList(), "only veths named like ours are removed");
        TestNamespaces.run("ip", "-n", node, "link", "del", "lxcmanual");

        // The next create takes the lowest free id again.
        String podD = ns.namespace("d");
        assertEquals(3, create("cd", podD).id());
        assertEquals(4, client.gc(new Messages.GcRequest(List.of())).removed().size() + 1);
        assertNothingLeft();
    }

    @Test
    void parallelCreatesAndGc() throws Exception {
        start();
        int n = 8;
        List<String> pods = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pods.add(ns.namespace("p" + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CompletableFuture<Void> go = new CompletableFuture<>();
        List<Future<Messages.Endpoint>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int index = i;
            futures.add(pool.submit(() -> {
                go.get();
                return create("par" + index, pods.get(index));
            }));
        }
        go.complete(null);
        List<Messages.Endpoint> created = new ArrayList<>();
        for (Future<Messages.Endpoint> f : futures) {
            created.add(f.get());
        }
        pool.shutdown();
        Set<Integer> ids = new HashSet<>();
        Set<String> addresses = new HashSet<>();
        for (Messages.Endpoint e : created) {
            ids.add(e.id());
            addresses.add(e.address());
        }
        assertEquals(n, ids.size(), "distinct ids");
        assertEquals(n, addresses.size(), "distinct addresses");
        assertTrue(TestNamespaces.ping(pods.get(0), ip(created.get(n - 1))));

        List<Messages.Attachment> valid = new ArrayList<>();
        for (int i = 0; i < n / 2; i++) {
            valid.add(new Messages.Attachment("par" + i, "eth0"));
        }
        client.allocate(new Messages.IpamRequest("orphan", "eth0"));
        List<Messages.Attachment> removed = client.gc(new Messages.GcRequest(valid)).removed();
        assertEquals(n / 2 + 1, removed.size(), removed.toString());
        assertTrue(removed.contains(new Messages.Attachment("orphan", "eth0")));
        assertEquals(n / 2, client.endpoints().size());
        assertEquals(n / 2, files("ipam").size());
        client.gc(new Messages.GcRequest(List.of()));
        assertNothingLeft();
    }

    /** Two CNI networks served by one agent: the GC of one never touches the other's pods. */
    @Test
    void gcRemovesOnlyWhatItsNetworkOwns() throws IOException {
        start();
        String blue = ns.namespace("blue");
        String green = ns.namespace("green");
        Messages.Endpoint b = client.createEndpoint(new Messages.CreateEndpoint("cb", "eth0",
                TestNamespaces.path(blue).toString(), null, null, null, null, "blue"));
        Messages.Endpoint g = client.createEndpoint(new Messages.CreateEndpoint("cg", "eth0",
                TestNamespaces.path(green).toString(), null, null, null, null, "green"));
        assertEquals("blue", b.network());
        Messages.GcResult blueGc = client.gc(new Messages.GcRequest(List.of(), "blue"));
        assertEquals(List.of(new Messages.Attachment("cb", "eth0")), blueGc.removed());
        assertEquals(List.of("cg"), client.endpoints().stream().map(Messages.Endpoint::containerID).toList());
        assertTrue(client.checkEndpoint("cg", "eth0").ok(), "green's pod is untouched");
        assertEquals(List.of(ip(g)), files("ipam"));
        assertEquals(400, assertThrows(AgentClient.ApiException.class,
                () -> client.gc(new Messages.GcRequest(List.of(), "bad name"))).status());
        client.gc(new Messages.GcRequest(List.of(), "green"));
        assertNothingLeft();
    }

    /** A stuck endpoint holds up neither the GC nor the other endpoints' removal. */
    @Test
    void gcIsNotSerialisedBehindAStuckEndpoint() throws Exception {
        CountDownLatch stuck = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
        start(step -> {
            if (step.equals("teardown:intent") && first.compareAndSet(true, false)) {
                stuck.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        create("cs", ns.namespace("s"));
        create("cf", ns.namespace("f"));
        CompletableFuture<Messages.Deleted> delete = CompletableFuture.supplyAsync(
                () -> client.deleteEndpoint("cs", "eth0"));
        assertTrue(stuck.await(20, TimeUnit.SECONDS), "the delete reached its first step");
        EndpointManager.GcReport report = agent.endpointManager().gc(null, Set.of(), Duration.ofSeconds(2));
        assertEquals(List.of(new AttachmentKey("cf", "eth0")), report.removed());
        assertEquals(List.of(new AttachmentKey("cs", "eth0")), report.pending());
        assertFalse(delete.isDone());
        release.countDown();
        assertTrue(delete.get(20, TimeUnit.SECONDS).deleted());
        assertNothingLeft();
    }

    /** A state directory another user owns could hold state the agent would act on: refused. */
    @Test
    void aStateDirectoryAnotherUserOwnsIsRefused() throws IOException {
        Files.createDirectories(stateDir.resolve("endpoints"));
        Files.setAttribute(stateDir, "unix:uid", 65534);
        RuntimeException refused = assertThrows(RuntimeException.class, () -> start());
        assertTrue(Throwables.describe(refused).contains(stateDir + " is owned by uid 65534"),
                Throwables.describe(refused));
        assertEquals(List.of(), lxcLinks());
        agent = null;
        Files.setAttribute(stateDir, "unix:uid", 0);
        Files.setAttribute(stateDir.resolve("endpoints"), "unix:uid", 65534);
        assertThrows(RuntimeException.class, () -> start(), "a subdirectory another user owns too");
        agent = null;
    }
}
