package io.vesicle.agent;

import io.vesicle.agent.api.Api;
import io.vesicle.agent.api.ApiAccess;
import io.vesicle.agent.api.ApiLimits;
import io.vesicle.agent.api.ApiFailure;
import io.vesicle.agent.api.ApiServer;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.agent.ipam.Ipam;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vesicle.agent.datapath.Datapath;
import io.vesicle.agent.datapath.DatapathConfig;
import io.vesicle.api.Messages;
import io.vesicle.loader.Bpffs;
import io.vesicle.loader.NetNs;
import io.vesicle.maps.DatapathMaps;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The node agent: loads and pins the datapath, restores the endpoints it already had, and serves
 * the local API. {@link #close()} stops serving and closes its handles but leaves programs attached
 * and maps pinned: pods keep their network while the agent is down or being upgraded.
 */
public final class Agent implements Api, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);
    private final AgentConfig config;
    private final NetNs nodeNs;
    private final EndpointManager.Checkpoint checkpoint;
    private FileChannel lockFile;
    private FileLock stateLock;
    private Datapath datapath;
    private Ipam ipam;
    private EndpointManager endpoints;
    private ApiServer server;
    private EndpointManager.RestoreReport restoreReport;
    private volatile boolean closed;

    /**
     * @param nodeNs the node's network namespace ({@code null}: this process's, as in production)
     */
    public Agent(AgentConfig config, NetNs nodeNs, EndpointManager.Checkpoint checkpoint) {
        this.config = config;
        this.nodeNs = nodeNs;
        this.checkpoint = checkpoint;
    }

    public Agent(AgentConfig config) {
        this(config, null, EndpointManager.Checkpoint.NONE);
    }

    /** Starts the agent; when this returns, the API answers on its socket. */
    public synchronized Agent start() {
        try {
            lockStateDir();
            ensureBpffs(config.bpffsRoot());
            datapath = Datapath.load(nodeNs, new DatapathConfig(config.bpffsRoot(), config.gateway()));
            ipam = new Ipam(config.stateDir().resolve("ipam"), config.podCIDR(), config.gateway());
            endpoints = new EndpointManager(config, nodeNs, datapath, ipam, config.stateDir().resolve("endpoints"),
                    checkpoint);
            restoreReport = endpoints.restore();
            server = new ApiServer(config.apiSocket(), this, ApiAccess.rootOrGroup(config.apiGroup()),
                    ApiLimits.DEFAULT).start();
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
        LOG.info("agent: node " + config.nodeName() + ", pods " + config.podCIDR() + " via "
                + config.gateway().getHostAddress() + ", MTU " + config.mtu() + "; datapath pinned under "
                + config.bpffsRoot() + "; state in " + config.stateDir() + "; serving on " + config.apiSocket());
        return this;
    }

    /** One agent per state directory: a second one would hand out the same addresses. */
    private void lockStateDir() {
        Path lock = config.stateDir().resolve("lock");
        try {
            Files.createDirectories(config.stateDir());
            lockFile = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            stateLock = lockFile.tryLock();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock the state directory " + config.stateDir() + ": "
                    + e.getMessage(), e);
        }
        if (stateLock == null) {
            throw new IllegalStateException("another agent is running with the state directory " + config.stateDir()
                    + " (" + lock + " is locked)");
        }
    }

    /**
     * Makes sure root is on a bpffs: when neither it nor its nearest existing parent is, a bpffs is
     * mounted on /sys/fs/bpf (for a root below it) or on root itself.
     */
    static void ensureBpffs(Path root) {
        Path existing = root;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing != null && Bpffs.isMounted(existing)) {
            return;
        }
        Path mountPoint = root.startsWith(Bpffs.DEFAULT_MOUNT) ? Bpffs.DEFAULT_MOUNT : root;
        try {
            Files.createDirectories(mountPoint);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + mountPoint + " to mount bpffs on", e);
        }
        Bpffs.mount(mountPoint);
        LOG.info("agent: mounted bpffs on " + mountPoint);
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
                LOG.warn("agent: releasing the state directory lock: " + e.getMessage());
            }
        }
    }

    // ---- Api ----

    @Override
    public Messages.Health health() {
        if (closed) {
            return new Messages.Health("unavailable", "the agent is stopping");
        }
        for (String map : List.of(DatapathMaps.ENDPOINTS, DatapathMaps.ENDPOINTS_BY_IFINDEX, DatapathMaps.METRICS)) {
            Path pin = config.bpffsRoot().resolve(map);
            if (!Files.exists(pin)) {
                return new Messages.Health("unavailable", "the datapath map pin " + pin + " is missing");
            }
        }
        return new Messages.Health("ok", null);
    }

    /** GET /v1/status. */
    public record Status(String node, String podCIDR, int endpoints, IpamStatus ipam, DatapathStatus datapath) {
    }

    public record IpamStatus(int allocated, long free) {
    }

    public record DatapathStatus(String pinRoot, String program, int programId, String gateway, int mtu) {
    }

    @Override
    public Status status() {
        return new Status(config.nodeName(), config.podCIDR().toString(), endpoints.count(),
                new IpamStatus(ipam.allocated(), ipam.free()),
                new DatapathStatus(config.bpffsRoot().toString(), Datapath.FROM_CONTAINER,
                        datapath.fromContainer().id(), config.gateway().getHostAddress(), config.mtu()));
    }

    @Override
    public Messages.NodeConfig config() {
        return new Messages.NodeConfig(config.nodeName(), config.podCIDR().toString(),
                config.gateway().getHostAddress(), config.mtu());
    }

    @Override
    public Messages.IpamAllocation allocate(Messages.IpamRequest request) {
        return endpoints.allocate(request);
    }

    @Override
    public Messages.IpamRelease release(Messages.IpamRequest request) {
        return endpoints.release(request);
    }

    @Override
    public Messages.Endpoint createEndpoint(Messages.CreateEndpoint request) {
        return endpoints.create(request);
    }

    @Override
    public List<Messages.Endpoint> endpoints() {
        return endpoints.list();
    }

    @Override
    public Messages.Endpoint endpoint(String containerID, String ifname) {
        return endpoints.get(containerID, ifname);
    }

    @Override
    public Messages.Deleted deleteEndpoint(String containerID, String ifname) {
        return new Messages.Deleted(endpoints.delete(containerID, ifname));
    }

    @Override
    public Messages.CheckResult checkEndpoint(String containerID, String ifname) {
        return endpoints.check(containerID, ifname);
    }

    @Override
    public Messages.GcResult gc(Messages.GcRequest request) {
        if (request.valid() == null) {
            throw ApiFailure.badRequest("valid is required (an empty list removes every endpoint)");
        }
        return new Messages.GcResult(endpoints.gc(request.valid()));
    }
}
