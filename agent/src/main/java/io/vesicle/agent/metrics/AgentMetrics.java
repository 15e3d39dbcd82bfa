package io.vesicle.agent.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vesicle.agent.datapath.DatapathStats;
import io.vesicle.cluster.ClusterEvent;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntSupplier;

/**
 * Every meter the agent exposes, defined in this one place (names by Prometheus conventions:
 * {@code vesicle_} prefix, {@code _total}, {@code _seconds}, {@code _bytes}). Parts of the agent
 * record into the timers and counters handed out here; gauges and the datapath's counters are
 * read when Prometheus scrapes ({@link #scrape()}). Meters exist from the start, zero until
 * recorded, so queries and dashboards find every series. One registry per agent.
 */
public final class AgentMetrics implements AutoCloseable {
    /**
     * Histogram buckets of the operation timers: from a map sync of a few entries to a create
     * waiting out a busy node (the API gives up on a request after 25 s).
     */
    private static final Duration[] LATENCY_BUCKETS = {Duration.ofMillis(1), Duration.ofMillis(5),
            Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
            Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
            Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)};

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gc;
    private final Readiness readiness;
    private final Timer endpointCreate;
    private final Timer endpointDelete;
    private final Timer endpointRegeneration;
    private final Timer endpointRestore;
    private final Timer mapSync;
    private final Timer policyCompile;
    private final Map<Class<?>, Timer> clusterEvents = new LinkedHashMap<>();
    private final java.util.concurrent.atomic.LongAdder lostEvents = new java.util.concurrent.atomic.LongAdder();
    private volatile java.util.function.LongSupplier lostEventsSource = () -> 0;
    private volatile DatapathMeters datapath;

    public AgentMetrics(Readiness readiness) {
        this.readiness = readiness;
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // Two binder meters that fail `promtool check metrics`: a CPU time in ns (replaced by
        // process_cpu_seconds_total below) and a gauge ending in _count.
        registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("process.cpu.time")));
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
            }
        });
        new JvmMemoryMetrics().bindTo(registry);
        gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            FunctionCounter.builder("process.cpu", os, o -> o.getProcessCpuTime() / 1e9).baseUnit("seconds")
                    .description("CPU time the agent's process has used").register(registry);
        }

        endpointCreate = timer("vesicle.endpoint.create", "Endpoint creates (CNI ADD) from the request to the"
                + " endpoint ready or refused, queueing behind the endpoint's earlier work included");
        endpointDelete = timer("vesicle.endpoint.delete", "Endpoint deletes (CNI DEL), queueing included");
        endpointRegeneration = timer("vesicle.endpoint.regeneration", "Builds of an existing endpoint's kernel"
                + " state (restore and later changes)");
        endpointRestore = timer("vesicle.endpoint.restore", "The agent's restore of every endpoint at start");
        mapSync = timer("vesicle.map.sync", "Syncs of desired state into a datapath map");
        policyCompile = timer("vesicle.policy.compile", "Compilations of network policy into datapath entries");
        for (Class<?> kind : ClusterEvent.class.getPermittedSubclasses()) {
            clusterEvents.put(kind, Timer.builder("vesicle.cluster.state.event")
                    .description("Handling of one cluster-state event, by its type")
                    .tag("type", snakeCase(kind.getSimpleName()))
                    .serviceLevelObjectives(LATENCY_BUCKETS).register(registry));
        }
        FunctionCounter.builder("vesicle.events.lost", this, m -> m.lostEvents.sum() + m.lostEventsSource.getAsLong())
                .description("Datapath events (drop, trace and policy notifications) lost before a reader got"
                        + " them: the ring buffer was full or a reader fell behind")
                .register(registry);
        Gauge.builder("vesicle.cluster.state.healthy", readiness, r -> r.clusterStateHealthy() ? 1 : 0)
                .description("1 while the cluster-state source is connected and in step with its store, 0 while it"
                        + " is degraded (forwarding goes on)")
                .strongReference(true).register(registry);
        Gauge.builder("vesicle.cluster.state.synced", readiness, r -> r.clusterStateSynced() ? 1 : 0)
                .description("1 once the cluster state's first full listing has been applied")
                .strongReference(true).register(registry);
        Gauge.builder("vesicle.ready", readiness, r -> r.notReadyReason().isEmpty() ? 1 : 0)
                .description("1 when the agent is ready (datapath loaded, endpoints restored, cluster state"
                        + " synced), as /readyz answers")
                .strongReference(true).register(registry);
    }

    private Timer timer(String name, String description) {
        return Timer.builder(name).description(description).serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry);
    }

    /** NodeUpserted: node_upserted. */
    static String snakeCase(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    // ---- what other parts record into ----

    /** {@code vesicle_endpoint_create_seconds}: an endpoint create, request to answer. */
    public Timer endpointCreate() {
        return endpointCreate;
    }

    /** {@code vesicle_endpoint_delete_seconds}: an endpoint delete, request to answer. */
    public Timer endpointDelete() {
        return endpointDelete;
    }

    /** {@code vesicle_endpoint_regeneration_seconds}: one build of an existing endpoint. */
    public Timer endpointRegeneration() {
        return endpointRegeneration;
    }

    /** {@code vesicle_endpoint_restore_seconds}: the whole restore at start. */
    public Timer endpointRestore() {
        return endpointRestore;
    }

    /** {@code vesicle_map_sync_seconds}: one sync of desired state into a datapath map (ipcache, policy). */
    public Timer mapSync() {
        return mapSync;
    }

    /** {@code vesicle_policy_compile_seconds}: one compilation of policy into datapath entries. */
    public Timer policyCompile() {
        return policyCompile;
    }

    /** {@code vesicle_cluster_state_event_seconds{type}}: handling one cluster-state event of event's type. */
    public Timer clusterEvent(ClusterEvent event) {
        return clusterEvents.get(event.getClass());
    }

    /** Adds events lost outside the event reader's own count (a reader of our own falling behind). */
    public void countLostEvents(long n) {
        lostEvents.add(n);
    }

    /** {@code vesicle_events_lost_total} reads the event reader's running total (datapath and subscribers) at scrape time. */
    public void bindLostEvents(java.util.function.LongSupplier total) {
        lostEventsSource = total;
    }

    /** Times future from now until it completes, either way. */
    public static <T> CompletableFuture<T> time(Timer timer, CompletableFuture<T> future) {
        Timer.Sample sample = Timer.start();
        return future.whenComplete((result, failure) -> sample.stop(timer));
    }

    // ---- what the agent's wiring binds ----

    /** {@code vesicle_endpoints{state}}: endpoints in state, counted at scrape time. */
    public void endpointsInState(String state, IntSupplier count) {
        Gauge.builder("vesicle.endpoints", count, IntSupplier::getAsInt)
                .description("Endpoints of this node by state").tag("state", state)
                .strongReference(true).register(registry);
    }

    /** The datapath's counters, verdicts and map fill, read from the kernel at scrape time. */
    public synchronized void bindDatapath(DatapathStats stats) {
        if (datapath != null) {
            throw new IllegalStateException("a datapath is already bound");
        }
        datapath = new DatapathMeters(stats, registry);
    }

    public Readiness readiness() {
        return readiness;
    }

    /** The registry, for meters of a part that needs its own (names must start with vesicle.). */
    public MeterRegistry registry() {
        return registry;
    }

    /** The exposition in Prometheus text format 0.0.4; one scrape at a time reads the kernel. */
    public synchronized String scrape() {
        DatapathMeters d = datapath;
        if (d != null) {
            d.refresh();
        }
        return registry.scrape();
    }

    @Override
    public synchronized void close() {
        if (datapath != null) {
            datapath.close();
        }
        gc.close();
        registry.close();
    }
}
