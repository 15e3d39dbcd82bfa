package io.vesicle.agent;

import io.vesicle.agent.api.ApiAccess;
import io.vesicle.agent.api.ApiHandler;
import io.vesicle.agent.api.ApiLimits;
import io.vesicle.agent.api.ApiServer;
import io.vesicle.agent.core.DurableFiles;
import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.agent.datapath.DatapathInspector;
import io.vesicle.agent.datapath.EventMonitor;
import io.vesicle.agent.datapath.EventSettings;
import io.vesicle.agent.datapath.PinRoot;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.agent.ipam.Ipam;
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
    private EventMonitor events;
    private EndpointManager.RestoreReport restoreReport;
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
            PinRoot.prepare(config.bpffsRoot());
            datapath = Datapath.open(nodeNetns, new DatapathConfig(config.bpffsRoot(), config.gateway()));
            ipam = new Ipam(config.stateDir().resolve("ipam"), config.podCIDR(), config.gateway(),
                    new NodeAddresses(datapath));
            AtomicInteger threads = new AtomicInteger();
            builders = Executors.newFixedThreadPool(BUILDERS, r -> {
                Thread t = new Thread(r, "vesicle-build-" + threads.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            endpoints = new EndpointManager(datapath, ipam, config.stateDir().resolve("endpoints"), config.gateway(),
                    config.mtu(), checkpoint, builders);
            restoreReport = endpoints.restore();
            events = EventMonitor.start(datapath, EventSettings.DEFAULT);
            ApiHandler handler = new ApiHandler(new ApiHandler.Node(config.nodeName(), config.podCIDR(),
                    config.gateway(), config.mtu(), config.bpffsRoot()), new State(), endpoints, ipam,
                    datapath.podNamespaces(), events, new DatapathInspector(datapath));
            server = new ApiServer(config.apiSocket(), handler, ApiAccess.rootOrGroup(config.apiGroup()),
                    ApiLimits.DEFAULT).start();
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        LOG.info("node {}, pods {} via {}, MTU {}; datapath pinned under {}; state in {}; serving on {}",
                config.nodeName(), config.podCIDR(), config.gateway().getHostAddress(), config.mtu(),
                config.bpffsRoot(), config.stateDir(), config.apiSocket());
        return this;
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
        try {
            if (server != null) {
                server.close();
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
