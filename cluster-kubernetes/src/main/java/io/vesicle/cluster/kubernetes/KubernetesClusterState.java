package io.vesicle.cluster.kubernetes;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.ReducedStateItemStore;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.ClusterEvents;
import io.vesicle.cluster.EventThread;
import io.vesicle.cluster.ClusterState;
import io.vesicle.cluster.ClusterStateException;
import io.vesicle.cluster.LocalNode;
import io.vesicle.cluster.NodeAssignment;
import io.vesicle.cluster.PodInfo;
import io.vesicle.cluster.kubernetes.KubernetesObjects.MalformedObjectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet4Address;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The cluster state from the Kubernetes API: fabric8 shared informers on Nodes, Pods and
 * Namespaces (see {@link ClusterState} for what the handler is promised).
 *
 * <p>fabric8 calls each informer's handlers on an executor of its own; they only queue work onto
 * one thread ({@code vesicle-k8s-events}), which converts, refuses what is malformed, and calls
 * the handler, so events reach it in the order the informers produced them. That thread also
 * checks every {@value #HEALTH_CHECK_MILLIS} ms whether each informer is still watching.
 *
 * <p>Catching up after a broken watch is fabric8's: it resumes the watch from the last resource
 * version it saw (the API server replays what happened since), and when the server answers 410
 * Gone (that history is compacted) it lists again and reports what vanished as deletes. After
 * such a relisting this class upserts every object again and then sends {@link ClusterEvent.Synced}.
 */
public final class KubernetesClusterState implements ClusterState {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesClusterState.class);
    private static final long JOIN_POLL_MILLIS = 500;
    static final long HEALTH_CHECK_MILLIS = 500;
    /** How long a watch must be down to count as broken: one re-opened on its periodic timeout, or
     *  just after a listing, is down for an instant, which is no reason for a 503. */
    private static final Duration BROKEN_AFTER = Duration.ofSeconds(1);

    private final Config config;
    private final Cidr clusterCIDR;
    private final Duration joinTimeout;
    private final ScheduledThreadPoolExecutor events;
    private KubernetesClient client;
    private ClusterEvents handler;
    private List<Informed<?, ?>> informed = List.of();
    private final CompletableFuture<Void> firstSync = new CompletableFuture<>();
    private volatile boolean synced;
    private volatile String degraded;
    private volatile boolean closed;

    KubernetesClusterState(Config config, Cidr clusterCIDR, Duration joinTimeout) {
        this.config = config;
        this.clusterCIDR = clusterCIDR;
        this.joinTimeout = joinTimeout;
        this.events = EventThread.named("vesicle-k8s-events");
    }

    private synchronized KubernetesClient client() {
        if (closed) {
            throw new ClusterStateException("the Kubernetes cluster state is closed");
        }
        if (client == null) {
            // The JDK's own HTTP client, named so that no other factory on the class path is picked.
            client = new KubernetesClientBuilder().withConfig(config)
                    .withHttpClientFactory(new JdkHttpClientFactory()).build();
        }
        return client;
    }

    @Override
    public NodeAssignment join(LocalNode self) {
        try {
            return awaitAssignment(self);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterStateException("joining as Node/" + self.name() + ": interrupted", e);
        }
    }

    private NodeAssignment awaitAssignment(LocalNode self) throws InterruptedException {
        String origin = "Node/" + self.name();
        long deadline = System.nanoTime() + joinTimeout.toNanos();
        String waitingFor = null;
        String logged = null;
        while (true) {
            try {
                Node node = getNode(self.name(), deadline);
                if (node == null) {
                    waitingFor = "no Node object named " + self.name();
                } else {
                    Cidr podCIDR = KubernetesObjects.podCIDR(node);
                    if (podCIDR != null) {
                        return assignment(self, node, podCIDR);
                    }
                    waitingFor = origin + " has no spec.podCIDR yet";
                }
            } catch (MalformedObjectException e) {
                throw new ClusterStateException("joining as " + origin + ": refused: " + e.getMessage());
            } catch (KubernetesClientException e) {
                if (e.getCode() == 401 || e.getCode() == 403) {
                    throw new ClusterStateException("joining as " + origin + ": the API server at "
                            + config.getMasterUrl() + " refused: " + e.getMessage(), e);
                }
                waitingFor = "the API server at " + config.getMasterUrl() + " failed: " + e.getMessage();
            } catch (TimeoutException e) {
                // the deadline came during a request: what was known before is the better reason
                waitingFor = waitingFor != null ? waitingFor : "no answer from the API server at " + config.getMasterUrl();
            }
            if (System.nanoTime() >= deadline) {
                throw new ClusterStateException("joining as " + origin + ": gave up after "
                        + joinTimeout.toSeconds() + " s: " + waitingFor);
            }
            if (!waitingFor.equals(logged)) {
                LOG.info("joining as {}: waiting ({})", origin, waitingFor);
                logged = waitingFor;
            }
            Thread.sleep(JOIN_POLL_MILLIS);
        }
    }

    /**
     * The Node, or null when there is none; waits no later than the deadline (fabric8 retries a
     * failing request with backoff for up to ~20 s, which would overrun it).
     */
    private Node getNode(String name, long deadline) throws InterruptedException, TimeoutException {
        KubernetesClient client = client();
        CompletableFuture<Node> answer = new CompletableFuture<>();
        Thread request = new Thread(() -> {
            try {
                answer.complete(client.nodes().withName(name).get());
            } catch (RuntimeException e) {
                answer.completeExceptionally(e);
            }
        }, "vesicle-k8s-join");
        request.setDaemon(true);
        request.start();
        try {
            return answer.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof KubernetesClientException clientException ? clientException
                    : new KubernetesClientException(e.getCause().toString(), e.getCause());
        }
    }

    private NodeAssignment assignment(LocalNode self, Node node, Cidr podCIDR) {
        String origin = "Node/" + self.name();
        if (clusterCIDR != null && !(clusterCIDR.prefixLength() <= podCIDR.prefixLength()
                && clusterCIDR.contains(podCIDR.network()))) {
            throw new ClusterStateException("joining as " + origin + ": its spec.podCIDR " + podCIDR
                    + " lies outside the configured clusterCIDR " + clusterCIDR);
        }
        try {
            Inet4Address internalIP = KubernetesObjects.internalIP(node);
            if (!internalIP.equals(self.underlayIP())) {
                LOG.warn("{}: InternalIP {} differs from this node's underlay address {}; other nodes will "
                        + "send its traffic to {}", origin, internalIP.getHostAddress(),
                        self.underlayIP().getHostAddress(), internalIP.getHostAddress());
            }
        } catch (MalformedObjectException e) {
            LOG.warn("{}: {}; other nodes cannot reach this one until it has one", origin, e.getMessage());
        }
        LOG.info("joined as {}: podCIDR {}, clusterCIDR {}", origin, podCIDR,
                clusterCIDR == null ? "not configured" : clusterCIDR);
        return new NodeAssignment(podCIDR, clusterCIDR);
    }

    @Override
    public synchronized CompletableFuture<Void> start(ClusterEvents handler) {
        if (this.handler != null) {
            throw new IllegalStateException("already started");
        }
        this.handler = handler;
        KubernetesClient client = client();
        degraded = "first listing not complete";
        informed = List.of(
                new Informed<>(this, "Node", reduced(client.nodes().runnableInformer(0), KubernetesObjects.NODE_FIELDS),
                        node -> Optional.of(KubernetesObjects.node(node)),
                        (node, origin) -> new ClusterEvent.NodeUpserted(node, origin),
                        (node, origin) -> new ClusterEvent.NodeDeleted(node.getMetadata().getName(), origin)),
                new Informed<>(this, "Pod", reduced(client.pods().inAnyNamespace().runnableInformer(0),
                        KubernetesObjects.POD_FIELDS),
                        KubernetesObjects::pod,
                        (pod, origin) -> new ClusterEvent.PodUpserted(pod, origin),
                        (pod, origin) -> new ClusterEvent.PodDeleted(pod.getMetadata().getNamespace(),
                                pod.getMetadata().getName(), origin)),
                new Informed<>(this, "Namespace", reduced(client.namespaces().runnableInformer(0),
                        KubernetesObjects.NAMESPACE_FIELDS),
                        namespace -> Optional.of(KubernetesObjects.namespace(namespace)),
                        (namespace, origin) -> new ClusterEvent.NamespaceUpserted(namespace, origin),
                        (namespace, origin) -> new ClusterEvent.NamespaceDeleted(namespace.getMetadata().getName(),
                                origin)));
        events.scheduleWithFixedDelay(this::checkWatches, HEALTH_CHECK_MILLIS, HEALTH_CHECK_MILLIS,
                TimeUnit.MILLISECONDS);
        for (Informed<?, ?> kind : informed) {
            kind.start().whenComplete((ignored, failure) -> {
                if (failure != null && !closed) {
                    firstSync.completeExceptionally(new ClusterStateException("listing " + kind.plural()
                            + " from " + config.getMasterUrl() + " failed: " + failure.getMessage(), failure));
                }
            });
        }
        return firstSync;
    }

    /** The informer keeping of each object only the fields the conversions read. */
    private <T extends HasMetadata> SharedIndexInformer<T> reduced(SharedIndexInformer<T> informer, String[] fields) {
        return informer.itemStore(new ReducedStateItemStore<>(ReducedStateItemStore.NAME_KEY_STATE,
                informer.getApiTypeClass(), client.getKubernetesSerialization(), fields));
    }

    /** Queues work onto the event thread; after close it is dropped. */
    void enqueue(Runnable work) {
        try {
            events.execute(work);
        } catch (RejectedExecutionException e) {
            // closed: nothing more is delivered
        }
    }

    /** On the event thread. */
    void deliver(ClusterEvent event) {
        LOG.debug("{}: {}", event.origin(), event);
        try {
            handler.on(event);
        } catch (RuntimeException e) {
            LOG.error("{}: the cluster event handler failed on {}", event.origin(), event, e);
        }
    }

    /** On the event thread: a kind finished a listing; Synced once none is still listing. */
    void listed(Informed<?, ?> kind, String resourceVersion) {
        if (informed.stream().anyMatch(other -> !other.hasListed() || other.isListing())) {
            return;
        }
        String origin = (synced ? kind.plural() + " relisted" : "Nodes, Pods and Namespaces listed")
                + " (" + kind.plural() + " at resourceVersion " + resourceVersion + ")";
        if (!synced) {
            LOG.info("synced with the Kubernetes API at {}: {}", config.getMasterUrl(), origin);
        } else {
            LOG.info("synced again with the Kubernetes API: {}", origin);
        }
        deliver(new ClusterEvent.Synced(origin));
        checkWatches();
        synced = true;
        firstSync.complete(null);
    }

    /** On the event thread: degraded while an informer has stopped watching (after a health check's grace). */
    private void checkWatches() {
        if (closed) {
            return;
        }
        try {
            updateDegraded();
        } catch (RuntimeException e) {
            // A periodic task that throws is never run again: health would freeze.
            LOG.warn("checking the Kubernetes watches failed", e);
        }
    }

    private void updateDegraded() {
        String reason;
        List<String> notListed = informed.stream().filter(kind -> !kind.hasListed())
                .map(Informed::plural).collect(Collectors.toList());
        if (!notListed.isEmpty()) {
            reason = "first listing of " + String.join(", ", notListed) + " not complete";
        } else {
            List<Informed<?, ?>> broken = informed.stream().filter(kind -> kind.checkWatching(BROKEN_AFTER))
                    .collect(Collectors.toList());
            reason = broken.isEmpty() ? null : "watch on " + broken.stream().map(Informed::describeBreak)
                    .collect(Collectors.joining("; ")) + " from " + config.getMasterUrl() + " (reconnecting)";
        }
        String before = degraded;
        if (synced && reason != null && !reason.equals(before)) {
            LOG.warn("cluster state degraded: {}", reason);
        } else if (synced && reason == null && before != null) {
            LOG.info("cluster state in step again with the Kubernetes API");
        }
        degraded = reason;
    }

    @Override
    public boolean hasSynced() {
        return synced;
    }

    @Override
    public Optional<String> degradedReason() {
        return Optional.ofNullable(closed ? "closed" : degraded);
    }

    /** The kubelet publishes pods to the API server; nothing to do. */
    @Override
    public void publishPod(PodInfo pod) {
    }

    /** The kubelet withdraws pods; nothing to do. */
    @Override
    public void withdrawPod(String namespace, String name) {
    }

    @Override
    public void close() {
        List<Informed<?, ?>> toStop;
        KubernetesClient toClose;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toStop = informed;
            toClose = client;
        }
        toStop.forEach(Informed::stop);
        events.shutdownNow();
        if (toClose != null) {
            toClose.close();
        }
        firstSync.completeExceptionally(new ClusterStateException("closed before the first listing"));
    }

    /** For tests: the informers' caches, to compare with what the handler was given. */
    List<SharedIndexInformer<? extends HasMetadata>> informers() {
        return informed.stream().<SharedIndexInformer<? extends HasMetadata>>map(Informed::informer)
                .collect(Collectors.toList());
    }
}
