package io.vesicle.cluster.kubernetes;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.ClusterEvent.NamespaceDeleted;
import io.vesicle.cluster.ClusterEvent.NamespaceUpserted;
import io.vesicle.cluster.ClusterEvent.NodeDeleted;
import io.vesicle.cluster.ClusterEvent.NodeUpserted;
import io.vesicle.cluster.ClusterEvent.PodDeleted;
import io.vesicle.cluster.ClusterEvent.PodUpserted;
import io.vesicle.cluster.ClusterEvent.Synced;
import io.vesicle.cluster.ClusterStateException;
import io.vesicle.cluster.LocalNode;
import io.vesicle.cluster.NamespaceInfo;
import io.vesicle.cluster.NodeAssignment;
import io.vesicle.cluster.NodeInfo;
import io.vesicle.cluster.PodInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static io.vesicle.cluster.kubernetes.MockApiServer.node;
import static io.vesicle.cluster.kubernetes.MockApiServer.pod;
import static io.vesicle.cluster.kubernetes.MockApiServer.reshaped;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Kubernetes source against fabric8's mock API server in CRUD mode, built as the agent builds
 * it: through the provider, from a kubeconfig file naming the server.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubernetesClusterStateTest {
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    Path directory;
    private MockApiServer server;
    private KubernetesClient api;
    private Path kubeconfig;
    private KubernetesClusterState state;

    @BeforeEach
    void startServer() throws Exception {
        server = new MockApiServer();
        api = server.client();
        kubeconfig = server.writeKubeconfig(directory);
    }

    @AfterEach
    void stop() {
        if (state != null) {
            state.close();
        }
        server.close();
    }

    private KubernetesClusterState create(Duration joinTimeout, Map<String, String> extraSettings) {
        Map<String, String> settings = new HashMap<>(extraSettings);
        settings.put("kubeconfig", kubeconfig.toString());
        state = new KubernetesClusterStateProvider(variable -> null).create(settings, joinTimeout);
        return state;
    }

    private KubernetesClusterState create() {
        return create(JOIN_TIMEOUT, Map.of());
    }

    // ---- join

    @Test
    void joinReturnsTheNodesPodCIDRAndTheConfiguredClusterCIDR() {
        api.nodes().resource(node("n1", "192.168.50.1", "10.244.1.0/24")).create();
        NodeAssignment assignment = create(JOIN_TIMEOUT, Map.of("clusterCIDR", "10.244.0.0/16"))
                .join(new LocalNode("n1", Cidr.parseAddress("192.168.50.1")));
        assertEquals(new NodeAssignment(Cidr.parse("10.244.1.0/24"), Cidr.parse("10.244.0.0/16")), assignment);
    }

    @Test
    void joinWaitsForTheNodeObjectAndThenForItsPodCIDR() throws Exception {
        KubernetesClusterState state = create();
        CompletableFuture<NodeAssignment> joined = CompletableFuture.supplyAsync(
                () -> state.join(new LocalNode("n1", Cidr.parseAddress("192.168.50.1"))));
        String nodePath = "/api/v1/nodes/n1";
        // Each change is made once join has asked at least once more: it has seen the state before.
        awaitTrue(() -> server.getsOf(nodePath) >= 1, "join asking for Node/n1");
        api.nodes().resource(node("n1", "192.168.50.1", null)).create();
        int asked = server.getsOf(nodePath);
        awaitTrue(() -> server.getsOf(nodePath) > asked, "join asking again for Node/n1");
        assertFalse(joined.isDone(), "join returned before Node/n1 had a spec.podCIDR");
        api.nodes().withName("n1").edit(node -> new NodeBuilder(node).editSpec().withPodCIDR("10.244.7.0/24")
                .endSpec().build());
        assertEquals(new NodeAssignment(Cidr.parse("10.244.7.0/24"), null), joined.get(20, TimeUnit.SECONDS));
    }

    @Test
    void joinGivesUpAtItsDeadlineNamingTheNode() {
        ClusterStateException refused = assertThrows(ClusterStateException.class,
                () -> create(Duration.ofSeconds(1), Map.of()).join(new LocalNode("n9", Cidr.parseAddress("192.168.50.9"))));
        assertTrue(refused.getMessage().contains("Node/n9") && refused.getMessage().contains("no Node object named n9"),
                refused.getMessage());
    }

    @Test
    @Timeout(value = 15, unit = TimeUnit.SECONDS) // fabric8's own retries of one request take ~20 s
    void joinGivesUpAtItsDeadlineWhenTheAPIServerIsUnreachable() {
        server.stopAgentPort();
        ClusterStateException refused = assertThrows(ClusterStateException.class,
                () -> create(Duration.ofSeconds(2), Map.of()).join(new LocalNode("n1", Cidr.parseAddress("192.168.50.1"))));
        assertTrue(refused.getMessage().contains("Node/n1") && refused.getMessage().contains("the API server at http://127.0.0.1:"),
                refused.getMessage());
    }

    @Test
    void joinRefusesAPodCIDROutsideTheClusterCIDR() {
        api.nodes().resource(node("n1", "192.168.50.1", "10.99.1.0/24")).create();
        ClusterStateException refused = assertThrows(ClusterStateException.class,
                () -> create(JOIN_TIMEOUT, Map.of("clusterCIDR", "10.244.0.0/16"))
                        .join(new LocalNode("n1", Cidr.parseAddress("192.168.50.1"))));
        assertTrue(refused.getMessage().contains("10.99.1.0/24") && refused.getMessage().contains("10.244.0.0/16"),
                refused.getMessage());
    }

    // ---- events

    @Test
    void deliversWhatExistsThenSyncedThenEveryChangeOnOneThread() throws Exception {
        api.namespaces().resource(namespace("team-a", Map.of("team", "a"))).create();
        api.nodes().resource(node("n1", "192.168.50.1", "10.244.1.0/24")).create();
        api.pods().inNamespace("team-a").resource(pod("team-a", "web", "n1", "10.244.1.5", false)).create();
        api.pods().inNamespace("team-a").resource(pod("team-a", "hostnet", "n1", "192.168.50.1", true)).create();
        api.pods().inNamespace("team-a").resource(pod("team-a", "pending", "n1", null, false)).create();

        RecordingHandler events = new RecordingHandler();
        KubernetesClusterState state = create();
        assertFalse(state.hasSynced());
        CompletableFuture<Void> started = state.start(events);
        events.await(Synced.class, synced -> true, "Synced");
        started.get(5, TimeUnit.SECONDS);
        assertTrue(state.hasSynced());
        List<ClusterEvent> initial = events.events();
        assertTrue(initial.contains(new NamespaceUpserted(new NamespaceInfo("team-a", Map.of("team", "a")),
                "Namespace/team-a")), initial.toString());
        assertTrue(initial.contains(new NodeUpserted(new NodeInfo("n1", Cidr.parseAddress("192.168.50.1"),
                Cidr.parse("10.244.1.0/24")), "Node/n1")), initial.toString());
        assertTrue(initial.contains(new PodUpserted(new PodInfo("team-a", "web", Cidr.parseAddress("10.244.1.5"), "n1",
                Map.of("app", "web")), "Pod/team-a/web")), initial.toString());
        assertEquals(1, initial.stream().filter(event -> event.origin().startsWith("Pod/")).count(),
                "the host-network pod and the pod without an address are not delivered: " + initial);
        assertTrue(initial.get(initial.size() - 1) instanceof Synced, "Synced comes last: " + initial);

        // Creates, with the delay from the API call to the handler.
        long nodeCreated = System.nanoTime();
        api.nodes().resource(node("n2", "192.168.50.2", "10.244.2.0/24")).create();
        RecordingHandler.Received node = events.await(NodeUpserted.class, e -> e.node().name().equals("n2"), "Node/n2 upsert");
        long podCreated = System.nanoTime();
        api.pods().inNamespace("team-a").resource(pod("team-a", "db", "n2", "10.244.2.9", false)).create();
        RecordingHandler.Received pod = events.await(PodUpserted.class, e -> e.pod().name().equals("db"), "Pod/team-a/db upsert");
        long namespaceCreated = System.nanoTime();
        api.namespaces().resource(namespace("team-b", Map.of())).create();
        RecordingHandler.Received namespace = events.await(NamespaceUpserted.class,
                e -> e.namespace().name().equals("team-b"), "Namespace/team-b upsert");
        System.out.printf("create-to-handler delay: Node %.1f ms, Pod %.1f ms, Namespace %.1f ms%n",
                (node.nanos() - nodeCreated) / 1e6, (pod.nanos() - podCreated) / 1e6,
                (namespace.nanos() - namespaceCreated) / 1e6);
        assertEquals("Pod/team-a/db", pod.event().origin());

        // Updates: the pending pod gets its address; labels, InternalIP and podCIDR change.
        api.pods().inNamespace("team-a").withName("pending").edit(p -> new PodBuilder(p).editStatus()
                .withPodIP("10.244.1.6").endStatus().build());
        events.await(PodUpserted.class, e -> e.pod().name().equals("pending")
                && e.pod().ip().equals(Cidr.parseAddress("10.244.1.6")), "Pod/team-a/pending upsert with its address");
        api.namespaces().withName("team-b").edit(ns -> new NamespaceBuilder(ns).editMetadata()
                .addToLabels("team", "b").endMetadata().build());
        events.await(NamespaceUpserted.class, e -> e.namespace().labels().equals(Map.of("team", "b")),
                "Namespace/team-b upsert with its label");
        api.nodes().withName("n2").edit(n -> reshaped(n, node("n2", "192.168.50.22", "10.244.3.0/24")));
        events.await(NodeUpserted.class, e -> e.node().equals(new NodeInfo("n2", Cidr.parseAddress("192.168.50.22"),
                Cidr.parse("10.244.3.0/24"))), "Node/n2 upsert with its new InternalIP and podCIDR");

        // A pod that finishes leaves (its address goes back to the pool); deletes.
        api.pods().inNamespace("team-a").withName("pending").edit(p -> new PodBuilder(p).editStatus()
                .withPhase("Succeeded").endStatus().build());
        events.await(PodDeleted.class, e -> e.name().equals("pending"), "Pod/team-a/pending delete when finished");
        api.pods().inNamespace("team-a").withName("db").delete();
        assertEquals(new PodDeleted("team-a", "db", "Pod/team-a/db"),
                events.await(PodDeleted.class, e -> e.name().equals("db"), "Pod/team-a/db delete").event());
        api.nodes().withName("n2").delete();
        assertEquals(new NodeDeleted("n2", "Node/n2"),
                events.await(NodeDeleted.class, e -> true, "Node/n2 delete").event());
        api.namespaces().withName("team-b").delete();
        assertEquals(new NamespaceDeleted("team-b", "Namespace/team-b"),
                events.await(NamespaceDeleted.class, e -> true, "Namespace/team-b delete").event());

        assertEquals(1, events.threads().size(), "events on one thread: " + events.threads());
        assertTrue(state.degradedReason().isEmpty(), state.degradedReason().toString());
    }

    @Test
    void aMalformedNodeIsRefusedWithOneLogLineNamingItAndTreatedAsAbsent() throws Exception {
        try (CapturedLog log = new CapturedLog()) {
            api.nodes().resource(node("no-ip", null, "10.244.5.0/24")).create();
            api.nodes().resource(node("bad-cidr", "192.168.50.6", "10.244.6.1/24")).create();
            RecordingHandler events = new RecordingHandler();
            create().start(events).get(20, TimeUnit.SECONDS);
            assertTrue(events.events().stream().noneMatch(event -> event.origin().equals("Node/no-ip")
                    || event.origin().equals("Node/bad-cidr")), events.events().toString());
            assertEquals(1, log.lines("WARN", "Node/no-ip", "no IPv4 InternalIP").size(), log.lines("Node/no-ip").toString());
            assertEquals(1, log.lines("WARN", "Node/bad-cidr", "spec.podCIDR", "host bits").size(),
                    log.lines("Node/bad-cidr").toString());

            // An update that leaves it malformed is not logged again; one that mends it is delivered.
            api.nodes().withName("no-ip").edit(n -> new NodeBuilder(n).editMetadata().addToLabels("touched", "1")
                    .endMetadata().build());
            api.nodes().resource(node("marker", "192.168.50.7", null)).create();
            events.await(NodeUpserted.class, e -> e.node().name().equals("marker"), "Node/marker upsert");
            assertEquals(1, log.lines("WARN", "Node/no-ip").size(), log.lines("Node/no-ip").toString());
            api.nodes().withName("no-ip").edit(n -> reshaped(n, node("no-ip", "192.168.50.5", "10.244.5.0/24")));
            events.await(NodeUpserted.class, e -> e.node().name().equals("no-ip"), "Node/no-ip upsert once mended");

            // A delivered node that turns malformed is deleted.
            api.nodes().withName("marker").edit(n -> reshaped(n, node("marker", "192.168.50.300", null)));
            assertEquals(new NodeDeleted("marker", "Node/marker"),
                    events.await(NodeDeleted.class, e -> true, "Node/marker delete once malformed").event());
            assertEquals(1, log.lines("WARN", "Node/marker", "192.168.50.300").size(), log.lines("Node/marker").toString());
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aBrokenWatchCatchesUpWithWhatChangedAndWasDeletedMeanwhile() throws Exception {
        api.namespaces().resource(namespace("stays", Map.of())).create();
        api.namespaces().resource(namespace("goes", Map.of())).create();
        api.nodes().resource(node("n1", "192.168.50.1", "10.244.1.0/24")).create();
        api.nodes().resource(node("n2", "192.168.50.2", "10.244.2.0/24")).create();
        api.pods().inNamespace("stays").resource(pod("stays", "kept", "n1", "10.244.1.5", false)).create();
        api.pods().inNamespace("stays").resource(pod("stays", "removed", "n2", "10.244.2.5", false)).create();
        RecordingHandler events = new RecordingHandler();
        KubernetesClusterState state = create();
        state.start(events).get(20, TimeUnit.SECONDS);
        awaitTrue(() -> state.informers().stream().allMatch(SharedIndexInformer::isWatching)
                && state.degradedReason().isEmpty(), "every watch open, not degraded");

        server.stopAgentPort();
        long stopped = System.nanoTime();
        awaitTrue(() -> state.degradedReason().isPresent(), "degradedReason while the watch is broken");
        System.out.printf("watch broken -> degraded after %.0f ms: %s%n", (System.nanoTime() - stopped) / 1e6,
                state.degradedReason().get());
        events.skipAll();
        int before = events.count();

        // Meanwhile, in the store: deletes of each kind, a new pod, a changed node.
        api.pods().inNamespace("stays").withName("removed").delete();
        api.nodes().withName("n2").delete();
        api.namespaces().withName("goes").delete();
        api.pods().inNamespace("stays").resource(pod("stays", "added", "n1", "10.244.1.6", false)).create();
        api.nodes().withName("n1").edit(n -> reshaped(n, node("n1", "192.168.50.11", "10.244.1.0/24")));
        // Like a real API server whose history no longer reaches back to the watches' resourceVersions.
        server.compactHistory();
        server.startAgentPort();
        long restarted = System.nanoTime();

        // Each kind relists; deletes come before the Synced that follows them.
        events.await(PodDeleted.class, e -> e.name().equals("removed"), "Pod/stays/removed delete");
        events.await(Synced.class, e -> true, "Synced after the Pods relisting");
        awaitTrue(() -> hasAll(events.eventsFrom(before), "Node/n2", "Namespace/goes", "Pod/stays/added", "Node/n1"),
                "every change made while the watch was down");
        awaitTrue(() -> events.eventsFrom(before).get(events.count() - before - 1) instanceof Synced,
                "a Synced after the last of them");
        System.out.printf("watch restored -> caught up after %.0f ms%n", (System.nanoTime() - restarted) / 1e6);
        List<ClusterEvent> caughtUp = events.eventsFrom(before);
        assertTrue(caughtUp.contains(new NodeDeleted("n2", "Node/n2")), caughtUp.toString());
        assertTrue(caughtUp.contains(new NamespaceDeleted("goes", "Namespace/goes")), caughtUp.toString());
        assertTrue(caughtUp.contains(new PodUpserted(new PodInfo("stays", "added", Cidr.parseAddress("10.244.1.6"), "n1",
                Map.of("app", "added")), "Pod/stays/added")), caughtUp.toString());
        assertTrue(caughtUp.contains(new NodeUpserted(new NodeInfo("n1", Cidr.parseAddress("192.168.50.11"),
                Cidr.parse("10.244.1.0/24")), "Node/n1")), caughtUp.toString());
        // After a relisting every object that exists is upserted again, including unchanged ones: from the
        // informer's cache, which keeps only the fields read, so this also shows they are the right ones.
        assertTrue(caughtUp.contains(new PodUpserted(new PodInfo("stays", "kept", Cidr.parseAddress("10.244.1.5"), "n1",
                Map.of("app", "kept")), "Pod/stays/kept")), caughtUp.toString());
        assertTrue(caughtUp.contains(new NamespaceUpserted(new NamespaceInfo("stays", Map.of()), "Namespace/stays")),
                caughtUp.toString());
        assertTrue(caughtUp.stream().noneMatch(e -> e.origin().equals("Pod/stays/removed") && e instanceof PodUpserted),
                caughtUp.toString());
        awaitTrue(() -> state.degradedReason().isEmpty(), "degradedReason cleared once watching again");

        // And it keeps watching.
        api.pods().inNamespace("stays").withName("kept").delete();
        events.await(PodDeleted.class, e -> e.name().equals("kept"), "Pod/stays/kept delete after the catch-up");
        assertEquals(1, events.threads().size(), events.threads().toString());
    }

    @Test
    void startFailsWhenTheAPIServerRefusesAListing() {
        server.forbid("/api/v1/pods");
        KubernetesClusterState state = create();
        ExecutionException failed = assertThrows(ExecutionException.class,
                () -> state.start(new RecordingHandler()).get(20, TimeUnit.SECONDS));
        assertTrue(failed.getCause() instanceof ClusterStateException && failed.getCause().getMessage().contains("Pods")
                && failed.getCause().getMessage().contains("forbidden"), failed.getCause().toString());
        assertFalse(state.hasSynced());
        assertTrue(state.degradedReason().orElseThrow().contains("Pods"), state.degradedReason().toString());
    }

    private static boolean hasAll(List<ClusterEvent> events, String... origins) {
        return List.of(origins).stream().allMatch(origin -> events.stream().anyMatch(e -> e.origin().equals(origin)));
    }

    // ---- settings

    @Test
    void theProviderIsFoundAsKubernetes() {
        assertTrue(java.util.ServiceLoader.load(io.vesicle.cluster.ClusterStateProvider.class).stream()
                .anyMatch(provider -> provider.get().kind().equals("kubernetes")
                        && provider.type() == KubernetesClusterStateProvider.class));
    }

    @Test
    void badSettingsAreRefusedNamingTheKey() {
        KubernetesClusterStateProvider provider = new KubernetesClusterStateProvider(variable -> null);
        assertRefused(provider, Map.of("kubeconfig", kubeconfig.toString(), "clusterCIDR", "10.244.0.1/16"),
                "clusterCIDR");
        assertRefused(provider, Map.of("kubeconfig", directory.resolve("absent").toString()), "kubeconfig");
        assertRefused(provider, Map.of("kubeconfig", " "), "kubeconfig");
        assertRefused(provider, Map.of(), "kubeconfig");
    }

    private static void assertRefused(KubernetesClusterStateProvider provider, Map<String, String> settings, String key) {
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> provider.create(settings));
        assertTrue(refused.getMessage().startsWith(key + ": "), refused.getMessage());
    }

    // ---- helpers

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(20);
        }
    }

    static Namespace namespace(String name, Map<String, String> labels) {
        return new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata().build();
    }
}
