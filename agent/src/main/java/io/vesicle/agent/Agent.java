package io.vesicle.agent;

import io.vesicle.agent.api.ApiAccess;
import io.vesicle.agent.api.ApiHandler;
import io.vesicle.agent.api.ApiLimits;
import io.vesicle.agent.api.ApiServer;
import io.vesicle.agent.cluster.ClusterSources;
import io.vesicle.agent.cluster.ClusterSync;
import io.vesicle.agent.cluster.DatapathRemoteTarget;
import io.vesicle.agent.cluster.LocalPods;
import io.vesicle.agent.core.DurableFiles;
import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.agent.datapath.DatapathInspector;
import io.vesicle.agent.datapath.EventMonitor;
import io.vesicle.agent.datapath.EventSettings;
import io.vesicle.agent.datapath.PinRoot;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.agent.ipam.Ipam;
import io.vesicle.cluster.ClusterState;
import io.vesicle.agent.metrics.AgentMetrics;
import io.vesicle.agent.metrics.MetricsServer;
import io.vesicle.agent.metrics.Readiness;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent: wiring and life cycle. It loads and pins the datapath, restores the endpoints it
 * already had, and only then serves the local API. {@link #close()} stops serving and closes its
 * handles but leaves programs attached and maps pinned: pods keep their network while the agent
 * is down or being upgraded.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);
    /** Builds of different endpoints run in parallel on this many threads. */
    static final int BUILDERS = 8;

    private final AgentConfig config;
    private final Path nodeNetns;
    private final EndpointManager.Checkpoint checkpoint;
    private FileChannel lockFile;
    private FileLock stateLock;
    private Datapath datapath;
    private Ipam ipam;
    private ExecutorService builders;
    private EndpointManager endpoints;
    private ApiServer server;
    private final Readiness readiness = new Readiness();
    private AgentMetrics metrics;
    private MetricsServer metricsServer;
    private EventMonitor events;
    private EndpointManager.RestoreReport restoreReport;
    private ClusterState cluster;
    private NodePlan node;
    private ClusterSync sync;
    private LocalPods localPods;
    private volatile boolean closed;

    /**
     * @param nodeNetns the node's network namespace file ({@code null}: this process's, as in
     *                  production)
     */
    public Agent(AgentConfig config, Path nodeNetns, EndpointManager.Checkpoint checkpoint) {
        this.config = config;
        this.nodeNetns = nodeNetns;
        this.checkpoint = checkpoint;
    }

    public Agent(AgentConfig config) {
        this(config, null, EndpointManager.Checkpoint.NONE);
    }

    /** Starts the agent; when this returns, the API answers on its socket. */
    public synchronized Agent start() {
        try {
            lockStateDir();
            // Served first, so the liveness probe answers during a long restore; /readyz tells when it is over.
            metrics = new AgentMetrics(readiness);
            metricsServer = new MetricsServer(config.metricsAddress(), metrics).start();
            PinRoot.prepare(config.bpffsRoot());
            node = NodePlan.make(config, nodeNetns, cluster = ClusterSources.create(config.cluster().source(),
                    config.cluster().settings()));
            datapath = Datapath.open(nodeNetns, new DatapathConfig(config.bpffsRoot(), node.gateway(), node.network()));
            metrics.bindDatapath(datapath.stats());
            readiness.datapathLoaded();
            ipam = new Ipam(config.stateDir().resolve("ipam"), node.podCIDR(), node.gateway(),
                    new NodeAddresses(datapath));
            AtomicInteger threads = new AtomicInteger();
            builders = Executors.newFixedThreadPool(BUILDERS, r -> {
                Thread t = new Thread(r, "vesicle-build-" + threads.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            endpoints = new EndpointManager(datapath, ipam, config.stateDir().resolve("endpoints"), node.gateway(),
                    node.mtu(), checkpoint, builders, metrics);
            localPods = new LocalPods(cluster, config.nodeName(), node.joined());
            endpoints.listener(localPods);
            restoreReport = metrics.endpointRestore().record(endpoints::restore);
            readiness.endpointsRestored();
            events = EventMonitor.start(datapath, EventSettings.DEFAULT);
            EventMonitor monitor = events;
            metrics.bindLostEvents(() -> {
                EventMonitor.Stats stats = monitor.stats();
                return stats.lostBySubscribers() + stats.lostInDatapath().values().stream().mapToLong(Long::longValue).sum();
            });
            startClusterState();
            ApiHandler handler = new ApiHandler(new ApiHandler.Node(config.nodeName(), node.podCIDR(),
                    node.gateway(), node.mtu(), config.bpffsRoot()), new State(), endpoints, ipam,
                    datapath.podNamespaces(), events, new DatapathInspector(datapath));
            server = new ApiServer(config.apiSocket(), handler, ApiAccess.rootOrGroup(config.apiGroup()),
                    ApiLimits.DEFAULT).start();
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        LOG.info("node {}, pods {} via {}, MTU {}, routing {}{}; cluster state from {}; datapath pinned under {};"
                        + " state in {}; serving on {}",
                config.nodeName(), node.podCIDR(), node.gateway().getHostAddress(), node.mtu(),
                config.network().routing().name().toLowerCase(java.util.Locale.ROOT),
                node.network() == null ? "" : " over " + node.network().uplink().name() + " as "
                        + node.network().nodeIP().getHostAddress(),
                config.cluster().source(), config.bpffsRoot(), config.stateDir(), config.apiSocket(),
                metricsServer.address());
        return this;
    }

    /**
     * Starts watching the cluster; remote nodes and pods reach the datapath as they come. The API
     * does not wait for the first listing: local pods can be wired while the store is away, and
     * forwarding to remote ones goes on from the pinned maps.
     */
    private void startClusterState() {
        if (!node.joined()) {
            rejoinInBackground();
        }
        readiness.clusterState(cluster::hasSynced, cluster::degradedReason);
        if (node.network() == null) {
            cluster.start(event -> { }); // one node: nothing remote to forward to
            return;
        }
        sync = new ClusterSync(config.nodeName(), node.network().nodeIP(), node.podCIDR(), node.clusterCIDR(),
                new DatapathRemoteTarget(datapath.remote()));
        long started = System.nanoTime();
        ClusterSync judge = sync;
        cluster.start(event -> metrics.clusterEvent(event).record(() -> judge.on(event))).whenComplete((ok, failure) -> {
            if (failure != null) {
                LOG.error("cluster state from {}: first listing failed: {}", config.cluster().source(),
                        failure.getMessage());
            } else {
                LOG.info("cluster state from {} synced in {} ms: {} remote nodes, {} remote pods",
                        config.cluster().source(), (System.nanoTime() - started) / 1_000_000, sync.nodes().size(),
                        sync.pods());
            }
        });
    }

    /**
     * Joins until the store answers (the agent started on a remembered assignment). A store that
     * now assigns another pod CIDR cannot be followed live: pods hold addresses from the old one.
     */
    private void rejoinInBackground() {
        Thread t = new Thread(() -> {
            long delay = 1000;
            while (!closed) {
                try {
                    Thread.sleep(delay);
                    io.vesicle.cluster.NodeAssignment a = cluster.join(node.self());
                    if (!a.podCIDR().equals(node.podCIDR())) {
                        LOG.error("the cluster state now assigns this node {}, but its pods use {}; restart the agent"
                                + " after draining the node", a.podCIDR(), node.podCIDR());
                    } else {
                        LOG.info("joined the cluster state ({}) again", config.cluster().source());
                        localPods.joined(endpoints.list().stream()
                                .filter(e -> e.state() == io.vesicle.agent.endpoint.Endpoint.State.READY).toList());
                    }
                    return;
                } catch (io.vesicle.cluster.ClusterStateException e) {
                    delay = Math.min(delay * 2, 5_000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "vesicle-rejoin");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The node's addresses, read again when a second old: a dump of every link's addresses costs
     * more than the rest of an allocation on a node with many pods, and they rarely change.
     */
    private static final class NodeAddresses implements java.util.function.Supplier<java.util.Set<java.net.Inet4Address>> {
        private static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);
        private final Datapath datapath;
        private java.util.Set<java.net.Inet4Address> addresses;
        private long readAt;

        NodeAddresses(Datapath datapath) {
            this.datapath = datapath;
        }

        @Override
        public synchronized java.util.Set<java.net.Inet4Address> get() {
            long now = System.nanoTime();
            if (addresses == null || now - readAt > MAX_AGE_NANOS) {
                addresses = datapath.nodeAddresses();
                readAt = now;
            }
            return addresses;
        }
    }

    /** What the API tells of the agent itself. */
    private final class State implements ApiHandler.AgentState {
        @Override
        public String unavailableReason() {
            if (closed) {
                return "the agent is stopping";
            }
            return datapath.unavailableReason().orElse(null);
        }

        @Override
        public String program() {
            return Datapath.FROM_CONTAINER;
        }

        @Override
        public int programId() {
            return datapath.programId();
        }

        @Override
        public String degradedReason() {
            if (cluster == null) {
                return null;
            }
            if (!cluster.hasSynced()) {
                return "the cluster state (" + config.cluster().source() + ") has not synced yet";
            }
            return cluster.degradedReason().map(r -> "cluster state (" + config.cluster().source() + "): " + r)
                    .orElse(null);
        }

        @Override
        public ApiHandler.ClusterStatus cluster() {
            return new ApiHandler.ClusterStatus(config.cluster().source(),
                    config.network().routing().name().toLowerCase(java.util.Locale.ROOT),
                    cluster != null && cluster.hasSynced(), degradedReason(),
                    sync == null ? 0 : sync.nodes().size(), sync == null ? 0 : sync.pods(),
                    sync == null ? 0 : sync.refused());
        }
    }

    /** One agent per state directory: a second one would hand out the same addresses. */
    private void lockStateDir() {
        Path lock = config.stateDir().resolve("lock");
        try {
            DurableFiles.privateDirectory(config.stateDir());
            lockFile = FileChannel.open(lock, java.util.Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            stateLock = lockFile.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            stateLock = null; // held by another agent in this JVM: the same refusal as another process's
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock the state directory " + config.stateDir() + ": "
                    + e.getMessage(), e);
        }
        if (stateLock == null) {
            throw new IllegalStateException("another agent is running with the state directory " + config.stateDir()
                    + " (" + lock + " is locked)");
        }
    }

    public AgentConfig agentConfig() {
        return config;
    }

    public Datapath datapath() {
        return datapath;
    }

    public EndpointManager endpointManager() {
        return endpoints;
    }

    /** The agent's meters, for parts that record into them. */
    public AgentMetrics metrics() {
        return metrics;
    }

    /** What /readyz answers; the cluster-state wiring feeds it. */
    public Readiness readiness() {
        return readiness;
    }

    /** Where /metrics, /healthz and /readyz are served (the bound port). */
    public java.net.InetSocketAddress metricsAddress() {
        return metricsServer.address();
    }

    public EndpointManager.RestoreReport restoreReport() {
        return restoreReport;
    }

    /** Stops serving (in-flight requests finish) and closes handles; the datapath stays in place. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        readiness.stopping();
        try {
            if (server != null) {
                server.close();
            }
            if (metricsServer != null) {
                metricsServer.close();
            }
            if (cluster != null) {
                cluster.close();
            }
        } finally {
            if (builders != null) {
                builders.shutdown();
                try {
                    builders.awaitTermination(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (events != null) {
                events.close();
            }
            if (metrics != null) {
                metrics.close(); // before the datapath: its map-counting thread reads the maps
            }
            if (datapath != null) {
                datapath.close();
            }
            try {
                if (stateLock != null) {
                    stateLock.release();
                }
                if (lockFile != null) {
                    lockFile.close();
                }
            } catch (IOException e) {
                LOG.warn("releasing the state directory lock: {}", e.getMessage());
            }
        }
    }
}
