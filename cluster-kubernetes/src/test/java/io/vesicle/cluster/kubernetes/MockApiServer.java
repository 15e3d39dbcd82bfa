package io.vesicle.cluster.kubernetes;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * fabric8's mock API server in CRUD mode, served on two ports from one store: the agent's port
 * (what the kubeconfig under test names), which a test can stop and start again on the same port
 * to break the agent's watches, and the test's own port, through which {@link #client()} changes
 * the store meanwhile.
 *
 * <p>The CRUD mock ignores a watch's resourceVersion: a watch opened again gets ADDED for what
 * exists and nothing of what was deleted meanwhile. A real API server either replays the events
 * since that resourceVersion or, when its history no longer reaches back that far (compacted),
 * answers with a 410 Gone ERROR event, upon which fabric8 lists again and reports what vanished as
 * deletes. {@link #compactHistory()} makes this server do the latter, as etcd compaction would.
 *
 * <p>Public, with the objects' builders, for the agent's end-to-end test in tests/ (this module's
 * test-jar).
 */
public final class MockApiServer implements AutoCloseable {
    private final KubernetesCrudDispatcher store = new KubernetesCrudDispatcher();
    private final CompactingDispatcher dispatcher = new CompactingDispatcher(store);
    private final MockWebServer testFacing;
    private MockWebServer agentFacing;
    private final int agentPort;
    private final KubernetesClient client;

    public MockApiServer() {
        testFacing = serve(0);
        agentFacing = serve(0);
        agentPort = agentFacing.getPort();
        client = new KubernetesClientBuilder()
                .withConfig(new ConfigBuilder(Config.empty()).withMasterUrl(url(testFacing.getPort())).build())
                .withHttpClientFactory(new JdkHttpClientFactory()).build();
    }

    private MockWebServer serve(int port) {
        MockWebServer server = new MockWebServer();
        server.setDispatcher(dispatcher);
        server.start(InetAddress.getLoopbackAddress(), port);
        return server;
    }

    private static String url(int port) {
        return "http://127.0.0.1:" + port;
    }

    /** The test's client (its own port: up while the agent's port is down). */
    public KubernetesClient client() {
        return client;
    }

    /** A kubeconfig naming the agent's port, as an operator would write one. */
    public Path writeKubeconfig(Path directory) throws IOException {
        return Files.writeString(directory.resolve("kubeconfig"), """
                apiVersion: v1
                kind: Config
                clusters:
                - name: mock
                  cluster:
                    server: %s
                users:
                - name: vesicle-agent
                  user:
                    token: not-checked-by-the-mock
                contexts:
                - name: mock
                  context:
                    cluster: mock
                    user: vesicle-agent
                current-context: mock
                """.formatted(url(agentPort)));
    }

    /** Closes the agent's port and every connection on it (its watches break); the store stays. */
    public void stopAgentPort() {
        agentFacing.shutdown();
    }

    /** Serves the same store on the same port again. */
    public void startAgentPort() {
        agentFacing = serve(agentPort);
    }

    /** From now on a watch from a resourceVersion older than the store's current one gets 410 Gone. */
    public void compactHistory() {
        dispatcher.compactedBefore.set(Long.parseLong(client.namespaces().list().getMetadata().getResourceVersion()));
    }

    /** From now on GETs of this path (query excluded) are answered 403 Forbidden, as RBAC would. */
    public void forbid(String path) {
        dispatcher.forbidden.add(path);
    }

    /** How many GET requests for this path (query excluded) the store has answered. */
    public int getsOf(String path) {
        return dispatcher.gets.getOrDefault(path, new AtomicInteger()).get();
    }

    @Override
    public void close() {
        client.close();
        testFacing.shutdown();
        try {
            agentFacing.shutdown();
        } catch (IllegalStateException alreadyStopped) {
            // a test stopped it
        }
    }

    /** A Node as a kubelet registers it: a Hostname address, and the InternalIP when not null. */
    public static Node node(String name, String internalIP, String podCIDR) {
        NodeBuilder node = new NodeBuilder().withNewMetadata().withName(name).endMetadata()
                .withNewSpec().withPodCIDR(podCIDR).endSpec()
                .withNewStatus().addNewAddress().withType("Hostname").withAddress(name).endAddress().endStatus();
        if (internalIP != null) {
            node.editStatus().addNewAddress().withType("InternalIP").withAddress(internalIP).endAddress().endStatus();
        }
        return node.build();
    }

    /** The stored node with the wanted one's spec and status (its metadata kept). */
    public static Node reshaped(Node stored, Node wanted) {
        return new NodeBuilder(stored).withSpec(wanted.getSpec()).withStatus(wanted.getStatus()).build();
    }

    public static Pod pod(String namespace, String name, String nodeName, String ip, boolean hostNetwork) {
        return new PodBuilder().withNewMetadata().withNamespace(namespace).withName(name)
                .addToLabels("app", name).endMetadata()
                .withNewSpec().withNodeName(nodeName).withHostNetwork(hostNetwork).endSpec()
                .withNewStatus().withPhase("Running").withPodIP(ip).endStatus().build();
    }

    /** The store, shared by both ports (whose shutdown must not end it), answering 410 to stale watches. */
    private static final class CompactingDispatcher extends Dispatcher {
        private final KubernetesCrudDispatcher store;
        final AtomicLong compactedBefore = new AtomicLong();
        final Map<String, AtomicInteger> gets = new ConcurrentHashMap<>();
        final Set<String> forbidden = ConcurrentHashMap.newKeySet();

        CompactingDispatcher(KubernetesCrudDispatcher store) {
            this.store = store;
        }

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String path = request.getPath();
            int queryStart = path.indexOf('?');
            String query = queryStart < 0 ? "" : path.substring(queryStart + 1);
            if ("GET".equals(request.getMethod())) {
                String pathOnly = queryStart < 0 ? path : path.substring(0, queryStart);
                gets.computeIfAbsent(pathOnly, p -> new AtomicInteger()).incrementAndGet();
                if (forbidden.contains(pathOnly)) {
                    return new MockResponse().setResponseCode(403).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\","
                            + "\"metadata\":{},\"status\":\"Failure\",\"reason\":\"Forbidden\",\"code\":403,"
                            + "\"message\":\"forbidden: the user cannot list resource at the cluster scope\"}");
                }
                String resourceVersion = queryParameter(query, "resourceVersion");
                if ("true".equals(queryParameter(query, "watch")) && resourceVersion != null
                        && !resourceVersion.isEmpty() && Long.parseLong(resourceVersion) < compactedBefore.get()) {
                    return new MockResponse().withWebSocketUpgrade(new Gone(resourceVersion, compactedBefore.get()));
                }
            }
            return store.dispatch(request);
        }

        private static String queryParameter(String query, String name) {
            for (String parameter : query.split("&")) {
                if (parameter.startsWith(name + "=")) {
                    return parameter.substring(name.length() + 1);
                }
            }
            return null;
        }
    }

    /** What the API server sends a watch whose resourceVersion is older than its history. */
    private static final class Gone extends WebSocketListener {
        private final String event;

        Gone(String requested, long oldest) {
            event = """
                    {"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",\
                    "message":"too old resource version: %s (%d)","reason":"Expired","code":410}}"""
                    .formatted(requested, oldest);
        }

        @Override
        public void onOpen(WebSocket webSocket, Response response) {
            webSocket.send(event);
        }
    }
}
