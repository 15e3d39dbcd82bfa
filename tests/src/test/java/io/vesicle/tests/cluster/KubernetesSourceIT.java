package io.vesicle.tests.cluster;

import static io.vesicle.cluster.kubernetes.MockApiServer.node;
import static io.vesicle.cluster.kubernetes.MockApiServer.pod;
import static io.vesicle.cluster.kubernetes.MockApiServer.reshaped;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.api.ApiPaths;
import io.vesicle.api.Messages;
import io.vesicle.cluster.kubernetes.CapturedLog;
import io.vesicle.cluster.kubernetes.MockApiServer;
import io.vesicle.maps.IpcacheEntry;
import io.vesicle.tests.support.InProcessAgent;
import io.vesicle.tests.support.KernelView;
import io.vesicle.tests.support.Poll;
import io.vesicle.tests.support.Shell;
import io.vesicle.tests.support.TestNetwork;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real agent with {@code clusterState: kubernetes}, in this JVM (its API client reaches fabric8's
 * mock API server, CRUD mode, on 127.0.0.1) and its datapath in a node namespace of the test with
 * an uplink veth, in native routing mode: what the API server holds is checked where it ends up,
 * in the kernel's ipcache and routing table, read with bpftool and ip: changes followed, bad
 * objects refused naming them and changing nothing, and the catch-up after a broken watch and after
 * a restart of the agent. Delays from the API write to the kernel are printed (polled every 20 ms
 * plus a bpftool run), not asserted.
 */
@Timeout(90)
class KubernetesSourceIT {
    private static final String SELF = "n1";
    private static final String SELF_IP = "192.168.77.1";
    private static final String SELF_POD_CIDR = "10.244.1.0/24";
    private static final String CLUSTER_CIDR = "10.244.0.0/16";
    private static final String UPLINK = "up0";
    private static final Duration WITHIN = Duration.ofSeconds(20);
    /** The mock server logs every request (java.util.logging); held here, as JUL keeps loggers weakly. */
    private static final java.util.logging.Logger MOCK_SERVER_LOG = quiet("io.fabric8.mockwebserver");

    private TestNetwork network;
    private MockApiServer server;
    private KubernetesClient api;
    private CapturedLog log;
    private InProcessAgent agent;

    /** The ipcache by prefix and Vesicle's own IPv4 routes (protocol 0xf5), as the kernel shows them. */
    private record Kernel(Map<String, KernelView.IpcacheEntry> ipcache, List<String> routes) {
        boolean hasNode(String underlayIP, String podCIDR) {
            return new KernelView.IpcacheEntry(IpcacheEntry.IDENTITY_UNKNOWN, underlayIP, IpcacheEntry.F_POD_CIDR)
                    .equals(ipcache.get(podCIDR))
                    && new KernelView.IpcacheEntry(IpcacheEntry.IDENTITY_REMOTE_NODE, "0.0.0.0", 0)
                    .equals(ipcache.get(underlayIP + "/32"))
                    && routes.contains(podCIDR + " via " + underlayIP + " dev " + UPLINK);
        }

        /** Nothing of the node left: neither its pod CIDR, nor its address, nor a route. */
        boolean lacksNode(String underlayIP, String podCIDR) {
            return !ipcache.containsKey(podCIDR) && lacksAddress(underlayIP)
                    && routes.stream().noneMatch(r -> r.startsWith(podCIDR + " "));
        }

        /** No entry for a node address, and no route through it. */
        boolean lacksAddress(String underlayIP) {
            return !ipcache.containsKey(underlayIP + "/32") && routes.stream().noneMatch(r -> r.contains(" " + underlayIP + " "));
        }

        boolean hasPod(String ip, String nodeIP) {
            return new KernelView.IpcacheEntry(EndpointManager.POD_IDENTITY, nodeIP, 0).equals(ipcache.get(ip + "/32"));
        }

        boolean lacksPod(String ip) {
            return !ipcache.containsKey(ip + "/32");
        }
    }

    @BeforeEach
    void startAgentOnAStore() throws IOException {
        network = new TestNetwork();
        server = new MockApiServer();
        api = server.client();
        log = new CapturedLog();
        agent = new InProcessAgent(network, Map.of("cluster-state", "kubernetes",
                "kubeconfig", server.writeKubeconfig(network.tempDir("kube")).toString(),
                "routing-mode", "native", "uplink", UPLINK, "cluster-cidr", CLUSTER_CIDR));
        // The uplink: a veth into an underlay namespace of the test's, nothing else on it.
        String node = agent.nodeNetns();
        String underlay = network.namespace("underlay");
        Shell.check("ip", "-n", node, "link", "add", UPLINK, "type", "veth", "peer", "name", UPLINK, "netns", underlay);
        Shell.check("ip", "-n", node, "addr", "add", SELF_IP + "/24", "dev", UPLINK);
        Shell.check("ip", "-n", node, "link", "set", UPLINK, "up");
        Shell.check("ip", "-n", underlay, "link", "set", UPLINK, "up");

        api.nodes().resource(node(SELF, SELF_IP, SELF_POD_CIDR)).create();
        api.nodes().resource(node("n2", "192.168.77.2", "10.244.2.0/24")).create();
        api.nodes().resource(node("n3", "192.168.77.3", "10.244.3.0/24")).create();
        api.pods().inNamespace("default").resource(pod("default", "web-n1", SELF, "10.244.1.5", false)).create();
        api.pods().inNamespace("default").resource(pod("default", "web-n2", "n2", "10.244.2.5", false)).create();
        api.pods().inNamespace("default").resource(pod("default", "api-n2", "n2", "10.244.2.6", false)).create();
        api.pods().inNamespace("default").resource(pod("default", "web-n3", "n3", "10.244.3.5", false)).create();
        long starting = System.nanoTime();
        agent.start();
        awaitKernel("the first listing in the maps and routes", k -> k.hasNode("192.168.77.2", "10.244.2.0/24")
                && k.hasNode("192.168.77.3", "10.244.3.0/24") && k.hasPod("10.244.2.5", "192.168.77.2")
                && k.hasPod("10.244.2.6", "192.168.77.2")
                && k.hasPod("10.244.3.5", "192.168.77.3"));
        printDelay("agent start -> the first listing in the kernel", starting);
        Kernel first = kernel();
        assertTrue(first.lacksPod("10.244.1.5"), "this node's own pod comes from its own state, never from the"
                + " store: " + first);
        assertEquals(SELF_POD_CIDR, agent.client().config().podCIDR(),
                "the pod CIDR is the Node's spec.podCIDR");
    }

    @AfterEach
    void removeEverything() {
        try {
            if (agent != null) {
                agent.close();
            }
        } finally {
            if (log != null) {
                log.close();
            }
            if (server != null) {
                server.close();
            }
            if (network != null) {
                network.close();
            }
        }
    }

    @Test
    void nodesAndPodsFollowTheApiServerAndBadNodesAreRefusedNamingThemChangingNothing() {
        long written = System.nanoTime();
        api.nodes().resource(node("n5", "192.168.77.5", "10.244.5.0/24")).create();
        awaitKernel("Node/n5 created", k -> k.hasNode("192.168.77.5", "10.244.5.0/24"));
        printDelay("Node created -> in the kernel", written);

        written = System.nanoTime();
        api.pods().inNamespace("default").resource(pod("default", "web-n5", "n5", "10.244.5.9", false)).create();
        awaitKernel("Pod/default/web-n5 created", k -> k.hasPod("10.244.5.9", "192.168.77.5"));
        printDelay("Pod created -> in the kernel", written);

        written = System.nanoTime();
        api.pods().inNamespace("default").withName("web-n2").delete();
        awaitKernel("Pod/default/web-n2 deleted", k -> k.lacksPod("10.244.2.5"));
        printDelay("Pod deleted -> gone from the kernel", written);

        written = System.nanoTime();
        api.nodes().withName("n3").delete();
        // Its pod is still in the store, but has nowhere to go.
        awaitKernel("Node/n3 deleted", k -> k.lacksNode("192.168.77.3", "10.244.3.0/24") && k.lacksPod("10.244.3.5"));
        printDelay("Node deleted -> gone from the kernel", written);
        assertTrue(kernel().hasNode("192.168.77.2", "10.244.2.0/24"), "the other nodes stay: " + kernel());

        Kernel before = kernel();
        // A node whose pod CIDR overlaps this node's, one with this node's address, one whose podCIDR does
        // not parse, a pod of another node in this node's pod CIDR, and this node's own Node rewritten.
        api.nodes().resource(node("n4", "192.168.77.4", "10.244.1.128/25")).create();
        api.nodes().resource(node("n7", SELF_IP, "10.244.7.0/24")).create();
        api.nodes().resource(node("n8", "192.168.77.8", "10.244.8.0/33")).create();
        api.pods().inNamespace("default").resource(pod("default", "squatter", "n2", "10.244.1.77", false)).create();
        api.nodes().withName(SELF).edit(n -> reshaped(n, node(SELF, "192.168.77.99", "10.244.9.0/24")));
        for (String origin : List.of("Node/n4", "Node/n7", "Node/n8", "Pod/default/squatter", "Node/" + SELF)) {
            Poll.until("a log line refusing " + origin, WITHIN, () -> !log.lines("refused", origin).isEmpty());
            System.out.println("logged: " + log.lines("refused", origin).get(0));
        }
        assertEquals(before, kernel(), "maps or routes changed by refused objects");
        assertTrue(refusedEntries() >= 4, "refusals counted in /v1/status (the malformed Node is the source's)");
    }

    @Test
    void aBrokenWatchDegradesHealthKeepsForwardingStateAndCatchesUpWhenItResumes() {
        Poll.until("health ok once every watch is open", WITHIN, () -> "ok".equals(health().status()));
        Kernel before = kernel();

        server.stopAgentPort();
        long broken = System.nanoTime();
        Poll.until("health degraded while the watch is broken", WITHIN, () -> "degraded".equals(health().status()));
        System.out.printf("watch broken -> /v1/healthz degraded after %.0f ms: %s%n", (System.nanoTime() - broken) / 1e6,
                health().reason());

        changeTheStoreBehindTheAgentsBack();
        assertEquals(before, kernel(), "forwarding state stays while the store is away");
        Messages.Health degraded = health();
        assertEquals("degraded", degraded.status(), degraded.toString());
        assertTrue(degraded.reason().contains("kubernetes"), degraded.reason());

        // Like a real API server whose history no longer reaches back to the watches' resourceVersions.
        server.compactHistory();
        server.startAgentPort();
        long resumed = System.nanoTime();
        awaitKernel("the maps catching up with what changed during the break", KubernetesSourceIT::caughtUp);
        printDelay("watch resumed -> maps caught up", resumed);
        Poll.until("health ok again", WITHIN, () -> "ok".equals(health().status()));
        printDelay("watch resumed -> health ok", resumed);

        // And it keeps watching.
        long written = System.nanoTime();
        api.nodes().withName("n6").delete();
        awaitKernel("Node/n6 deleted after the resume", k -> k.lacksNode("192.168.77.6", "10.244.6.0/24")
                && k.lacksPod("10.244.6.5"));
        printDelay("Node deleted after the resume -> gone from the kernel", written);
    }

    @Test
    void aRestartedAgentCatchesUpWithWhatChangedWhileItWasDown() {
        agent.stop();
        changeTheStoreBehindTheAgentsBack();
        Kernel stale = kernel();
        assertTrue(stale.hasNode("192.168.77.3", "10.244.3.0/24") && stale.hasPod("10.244.2.5", "192.168.77.2"),
                "the maps stay while the agent is down: " + stale);
        long restarting = System.nanoTime();
        agent.start();
        awaitKernel("the maps catching up with what changed while the agent was down", KubernetesSourceIT::caughtUp);
        printDelay("agent restart -> maps caught up", restarting);
    }

    /** A pod and a node deleted, a node created with a pod, a node moved to another address with its pod. */
    private void changeTheStoreBehindTheAgentsBack() {
        api.pods().inNamespace("default").withName("web-n2").delete();
        api.nodes().withName("n3").delete();
        api.nodes().resource(node("n6", "192.168.77.6", "10.244.6.0/24")).create();
        api.pods().inNamespace("default").resource(pod("default", "web-n6", "n6", "10.244.6.5", false)).create();
        api.nodes().withName("n2").edit(n -> reshaped(n, node("n2", "192.168.77.22", "10.244.2.0/24")));
    }

    /** The kernel holds what {@link #changeTheStoreBehindTheAgentsBack()} left, and nothing of what it removed. */
    private static boolean caughtUp(Kernel k) {
        return k.lacksPod("10.244.2.5") && k.lacksNode("192.168.77.3", "10.244.3.0/24") && k.lacksPod("10.244.3.5")
                && k.hasNode("192.168.77.6", "10.244.6.0/24") && k.hasPod("10.244.6.5", "192.168.77.6")
                && k.hasNode("192.168.77.22", "10.244.2.0/24") && k.hasPod("10.244.2.6", "192.168.77.22")
                && k.lacksAddress("192.168.77.2");
    }

    private long refusedEntries() {
        return agent.client().call("GET", ApiPaths.STATUS, null, StatusCluster.class).cluster().refused();
    }

    /** The part of /v1/status read here. */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
    private record StatusCluster(Cluster cluster) {
        @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
        private record Cluster(long refused) {
        }
    }

    private Messages.Health health() {
        return agent.client().health();
    }

    private Kernel kernel() {
        List<String> routes = Shell.check("ip", "-n", agent.nodeNetns(), "-4", "route", "show", "proto", "0xf5")
                .lines().map(String::strip).filter(r -> !r.isEmpty()).toList();
        return new Kernel(KernelView.ipcache(agent.nodeNetns(), agent.pinRoot()), routes);
    }

    private void awaitKernel(String what, Predicate<Kernel> condition) {
        try {
            Poll.until(what, WITHIN, () -> condition.test(kernel()));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; the kernel holds " + kernel(), e);
        }
    }

    private static java.util.logging.Logger quiet(String name) {
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger(name);
        logger.setLevel(java.util.logging.Level.WARNING);
        return logger;
    }

    private static void printDelay(String what, long sinceNanos) {
        System.out.printf("%s: %.0f ms%n", what, (System.nanoTime() - sinceNanos) / 1e6);
    }
}
