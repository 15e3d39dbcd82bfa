package io.vesicle.agent.api;

import io.vesicle.agent.core.AgentException;
import io.vesicle.agent.core.AttachmentKey;
import io.vesicle.agent.datapath.DatapathInspector;
import io.vesicle.agent.datapath.EventMonitor;
import io.vesicle.agent.datapath.PodNamespaces;
import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.agent.endpoint.EndpointView;
import io.vesicle.cluster.Cidr;
import io.vesicle.agent.ipam.Ipam;
import io.vesicle.api.Messages;
import java.net.Inet4Address;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Today's operations of the local API, as the server calls them: requests are checked field by
 * field, turned into domain calls, and the domain's answers and refusals turned back into
 * messages and statuses. The only place where an {@link AgentException} becomes an HTTP status.
 */
public final class ApiHandler implements Api {
    /**
     * How long a request waits for the endpoint work it asked for. Below the plugin's 30 s, so the
     * runtime hears "try again" (503) rather than a timeout; the work itself goes on.
     */
    static final Duration WORK_LIMIT = Duration.ofSeconds(25);

    /** What the API tells of the node. */
    public record Node(String name, Cidr podCIDR, Inet4Address gateway, int mtu, Path pinRoot) {
    }

    /** The agent's own state, for /v1/healthz and /v1/status. */
    public interface AgentState {
        /** Null when the agent can serve, else why not. */
        String unavailableReason();

        String program();

        int programId();

        /**
         * Null when the agent is in step with the cluster, else why not (store unreachable, not
         * synced yet). A degraded agent still serves: pods are wired, forwarding goes on.
         */
        String degradedReason();

        ClusterStatus cluster();
    }

    /** What /v1/status tells of the cluster state. */
    public record ClusterStatus(String source, String routingMode, boolean synced, String degraded, int remoteNodes,
                                int remotePods, long refused) {
    }

    private final Node node;
    private final AgentState agent;
    private final EndpointManager endpoints;
    private final Ipam ipam;
    private final PodNamespaces namespaces;
    /** Null: the monitor and datapath views answer 404. */
    private final DatapathViews views;

    public ApiHandler(Node node, AgentState agent, EndpointManager endpoints, Ipam ipam, PodNamespaces namespaces) {
        this(node, agent, endpoints, ipam, namespaces, null, null);
    }

    public ApiHandler(Node node, AgentState agent, EndpointManager endpoints, Ipam ipam, PodNamespaces namespaces,
                      EventMonitor events, DatapathInspector inspector) {
        this.node = node;
        this.agent = agent;
        this.endpoints = endpoints;
        this.ipam = ipam;
        this.namespaces = namespaces;
        this.views = events == null ? null : new DatapathViews(events, inspector, endpoints);
    }

    private DatapathViews views() {
        if (views == null) {
            throw ApiFailure.notFound("this agent has no event monitor or datapath views");
        }
        return views;
    }

    @Override
    public EventStream monitor(Map<String, List<String>> query) {
        return views().monitor(query);
    }

    @Override
    public Messages.EventsStatus events() {
        return views().events();
    }

    @Override
    public Messages.EventsStatus configureEvents(Messages.EventSettings settings) {
        return views().configureEvents(settings);
    }

    @Override
    public List<Messages.MapInfo> datapathMaps() {
        return views().maps();
    }

    @Override
    public Object datapathMap(String name) {
        return views().map(name);
    }

    @Override
    public List<Messages.Counter> datapathMetrics() {
        return views().counters();
    }

    @Override
    public List<Messages.Identity> identities() {
        return views().identities();
    }

    @Override
    public List<Messages.IpcacheEntry> ipcache() {
        return views().ipcache();
    }

    /** Runs a domain call, answering its refusals with their status. */
    private static <T> T call(Supplier<T> work) {
        try {
            return work.get();
        } catch (AgentException e) {
            throw new ApiFailure(status(e.reason()), e.getMessage(), e.field(), e);
        }
    }

    /**
     * Waits for the domain's work within limit, unwrapping its failure; too slow is UNAVAILABLE
     * (the work goes on: a runtime that retries meets its outcome).
     */
    private static <T> T await(CompletableFuture<T> future, Duration limit, String what) {
        try {
            return future.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw AgentException.unavailable(what + " did not finish within " + limit.toSeconds()
                    + " s; it goes on, ask again later");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(what + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw AgentException.unavailable(what + " was interrupted");
        }
    }

    static int status(AgentException.Reason reason) {
        return switch (reason) {
            case INVALID -> 400;
            case NOT_FOUND -> 404;
            case CONFLICT -> 409;
            case EXHAUSTED -> 507;
            case UNAVAILABLE -> 503;
        };
    }

    @Override
    public Messages.Health health() {
        String reason = agent.unavailableReason();
        if (reason != null) {
            return new Messages.Health("unavailable", reason);
        }
        String degraded = agent.degradedReason();
        return degraded == null ? new Messages.Health("ok", null) : new Messages.Health("degraded", degraded);
    }

    /** GET /v1/status. */
    public record Status(String node, String podCIDR, int endpoints, IpamStatus ipam, DatapathStatus datapath,
                         ClusterStatus cluster) {
    }

    /** allocated: by the agent's IPAM; delegated: recorded for delegated IPAM plugins; free: neither. */
    public record IpamStatus(int allocated, int delegated, long free) {
    }

    public record DatapathStatus(String pinRoot, String program, int programId, String gateway, int mtu) {
    }

    @Override
    public Status status() {
        return new Status(node.name(), node.podCIDR().toString(),
                endpoints.count(io.vesicle.agent.endpoint.Endpoint.State.READY),
                new IpamStatus(ipam.allocated(Ipam.Source.AGENT), ipam.allocated(Ipam.Source.DELEGATED), ipam.free()),
                new DatapathStatus(node.pinRoot().toString(), agent.program(), agent.programId(),
                        node.gateway().getHostAddress(), node.mtu()), agent.cluster());
    }

    @Override
    public Messages.NodeConfig config() {
        return new Messages.NodeConfig(node.name(), node.podCIDR().toString(), node.gateway().getHostAddress(),
                node.mtu());
    }

    @Override
    public Messages.IpamAllocation allocate(Messages.IpamRequest request) {
        AttachmentKey key = Validation.attachment(request.containerID(), request.ifname());
        Ipam.Allocation a = call(() -> endpoints.allocate(key, null));
        return new Messages.IpamAllocation(a.cidr(), node.gateway().getHostAddress());
    }

    @Override
    public Messages.IpamRelease release(Messages.IpamRequest request) {
        AttachmentKey key = Validation.attachment(request.containerID(), request.ifname());
        return new Messages.IpamRelease(call(() -> endpoints.release(key)).stream()
                .map(a -> a.address().getHostAddress()).toList());
    }

    @Override
    public Messages.Endpoint createEndpoint(Messages.CreateEndpoint request) {
        AttachmentKey key = Validation.attachment(request.containerID(), request.ifname());
        Path netns = Path.of(Validation.netns(request.netns()));
        Validation.label("podNamespace", request.podNamespace());
        Validation.label("podName", request.podName());
        String network = Validation.network(request.network());
        Cidr.AddressWithPrefix given = null;
        if (request.address() != null) {
            given = Validation.address(request.address());
        }
        if (request.gateway() != null) {
            if (given == null) {
                throw ApiFailure.invalid("gateway", "gateway is given without an address");
            }
            Inet4Address gateway = Validation.ipv4("gateway", request.gateway());
            if (!gateway.equals(node.gateway())) {
                throw ApiFailure.invalid("gateway", "gateway " + request.gateway() + " is not this node's gateway "
                        + node.gateway().getHostAddress() + " (the only address the datapath answers ARP for)");
            }
        }
        Cidr.AddressWithPrefix address = given;
        return call(() -> {
            if (address != null) {
                ipam.check(address.address(), address.prefixLength());
            }
            namespaces.check(netns);
            EndpointManager.CreateRequest create = new EndpointManager.CreateRequest(key, network, netns,
                    request.podNamespace(), request.podName(), address);
            return message(await(endpoints.create(create), WORK_LIMIT, "creating endpoint " + key));
        });
    }

    @Override
    public List<Messages.Endpoint> endpoints() {
        return endpoints.list().stream().filter(e -> e.address() != null
                && e.state() != io.vesicle.agent.endpoint.Endpoint.State.CREATING).map(ApiHandler::message).toList();
    }

    @Override
    public Messages.Endpoint endpoint(String containerID, String ifname) {
        AttachmentKey key = Validation.attachment(containerID, ifname);
        EndpointView view = endpoints.get(key).orElseThrow(() -> ApiFailure.notFound("no endpoint " + key));
        if (view.state() == io.vesicle.agent.endpoint.Endpoint.State.CREATING || view.address() == null) {
            throw ApiFailure.notFound("endpoint " + key + " is not ready (being created, or its create failed)");
        }
        return message(view);
    }

    @Override
    public Messages.Deleted deleteEndpoint(String containerID, String ifname) {
        AttachmentKey key = Validation.attachment(containerID, ifname);
        return new Messages.Deleted(call(() -> await(endpoints.delete(key), WORK_LIMIT,
                "deleting endpoint " + key)));
    }

    @Override
    public Messages.CheckResult checkEndpoint(String containerID, String ifname) {
        AttachmentKey key = Validation.attachment(containerID, ifname);
        call(() -> await(endpoints.check(key), WORK_LIMIT, "checking endpoint " + key));
        return new Messages.CheckResult(true);
    }

    @Override
    public Messages.GcResult gc(Messages.GcRequest request) {
        if (request.valid() == null) {
            throw ApiFailure.badRequest("valid is required (an empty list removes every endpoint)");
        }
        String network = Validation.network(request.network());
        Set<AttachmentKey> valid = new HashSet<>();
        for (Messages.Attachment a : request.valid()) {
            valid.add(Validation.attachment(a.containerID(), a.ifname()));
        }
        EndpointManager.GcReport report = call(() -> endpoints.gc(network, valid, WORK_LIMIT));
        return new Messages.GcResult(report.removed().stream().map(ApiHandler::attachment).toList(),
                report.pending().stream().map(ApiHandler::attachment).toList());
    }

    private static Messages.Attachment attachment(AttachmentKey key) {
        return new Messages.Attachment(key.containerID(), key.ifname());
    }

    static Messages.Endpoint message(EndpointView e) {
        Ipam.Allocation a = e.address();
        return new Messages.Endpoint(e.id(), e.key().containerID(), e.key().ifname(),
                e.netns() == null ? null : e.netns().toString(), e.podNamespace(), e.podName(), e.hostIf(),
                e.hostMac(), e.mac(), a == null ? null : a.cidr(), e.gateway().getHostAddress(), e.mtu(),
                a != null && a.source() == Ipam.Source.AGENT, e.network(),
                e.state().name().toLowerCase().replace('_', '-'));
    }
}
