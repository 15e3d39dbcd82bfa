package io.vesicle.agent.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vesicle.agent.datapath.DatapathStats;
import java.time.Duration;
import java.util.HashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The datapath's meters: its per-CPU counters (summed) split into forwarded and dropped by the
 * reason's range, the policy verdicts they imply, and the fill of each map. {@link #refresh()}
 * reads the counters once per scrape (a syscall per counter kept), so the meters of one scrape
 * agree with each other. Map fill is counted on a thread of its own, never on a scrape's: every
 * {@link #FILL_INTERVAL}, or {@link #FILL_COST_FACTOR} times as long as the last count took when
 * that is longer, so counting takes at most 1/{@link #FILL_COST_FACTOR} of a core however full
 * the maps are.
 */
final class DatapathMeters implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DatapathMeters.class);
    static final Duration FILL_INTERVAL = Duration.ofSeconds(10);
    static final int FILL_COST_FACTOR = 20;
    /** Drop reasons named so are policy denials (e.g. {@code policy_denied}). */
    static final String POLICY_REASON_PREFIX = "policy";

    private record Key(String reason, String direction) {
    }

    private final DatapathStats stats;
    private volatile Map<Key, DatapathStats.Counter> counters = Map.of();
    private volatile Map<String, DatapathStats.MapFill> fill = Map.of();
    private final ScheduledExecutorService filler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "vesicle-metrics-map-fill");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        return t;
    });

    DatapathMeters(DatapathStats stats, MeterRegistry registry) {
        this.stats = stats;
        refresh();
        for (DatapathStats.CounterReason reason : DatapathStats.reasons()) {
            for (String direction : DatapathStats.directions()) {
                Key key = new Key(reason.label(), direction);
                String kind = reason.drop() ? "drop" : "forward";
                String what = reason.drop() ? "dropped" : "let through (forwarded, handed to the stack, answered)";
                counter(registry, "vesicle." + kind + ".packets", null, "Packets the datapath " + what
                        + ", by reason and direction (from the endpoint's point of view)", key, c -> c.packets());
                counter(registry, "vesicle." + kind + ".bytes", "bytes", "Bytes of the packets the datapath "
                        + what + ", by reason and direction", key, c -> c.bytes());
            }
        }
        for (String direction : DatapathStats.directions()) {
            verdict(registry, "allow", direction, c -> !c.drop());
            verdict(registry, "deny", direction, c -> c.drop() && c.reason().startsWith(POLICY_REASON_PREFIX));
        }
        for (DatapathStats.MapFill map : stats.keyedMaps()) {
            Gauge.builder("vesicle.bpf.map.entries", this, m -> {
                        DatapathStats.MapFill counted = m.fill.get(map.map());
                        return counted == null ? Double.NaN : counted.entries();
                    })
                    .description("Entries in a datapath map, counted every " + FILL_INTERVAL.toSeconds()
                            + " s or less often (NaN until first counted)")
                    .tag("map", map.map()).strongReference(true).register(registry);
            Gauge.builder("vesicle.bpf.map.capacity", map, DatapathStats.MapFill::capacity)
                    .description("Entries a datapath map can hold (max_entries)")
                    .tag("map", map.map()).strongReference(true).register(registry);
        }
        filler.execute(this::countFill);
    }

    private void countFill() {
        long start = System.nanoTime();
        try {
            Map<String, DatapathStats.MapFill> byName = new HashMap<>();
            stats.mapFill().forEach(f -> byName.put(f.map(), f));
            fill = byName;
        } catch (RuntimeException e) {
            LOG.warn("metrics: counting the datapath maps' entries failed: {}", e.getMessage());
        }
        long took = System.nanoTime() - start;
        long next = Math.max(FILL_INTERVAL.toNanos(), took * FILL_COST_FACTOR);
        try {
            filler.schedule(this::countFill, next, TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    /** Stops counting, waiting for a count under way: the maps' descriptors close after this. */
    @Override
    public void close() {
        filler.shutdownNow();
        try {
            if (!filler.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("metrics: counting the maps' entries did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void counter(MeterRegistry registry, String name, String unit, String help, Key key,
                         ToLongFunction<DatapathStats.Counter> value) {
        FunctionCounter.builder(name, this, m -> {
                    DatapathStats.Counter c = m.counters.get(key);
                    return c == null ? 0 : value.applyAsLong(c);
                }).description(help).baseUnit(unit).tags("reason", key.reason(), "direction", key.direction())
                .register(registry);
    }

    private void verdict(MeterRegistry registry, String verdict, String direction,
                         java.util.function.Predicate<DatapathStats.Counter> counts) {
        FunctionCounter.builder("vesicle.policy.verdicts", this, m -> m.counters.values().stream()
                        .filter(c -> c.direction().equals(direction) && counts.test(c))
                        .mapToLong(DatapathStats.Counter::packets).sum())
                .description("Packets by policy verdict: allow counts every packet the datapath let through (all of"
                        + " them while no policy applies), deny the drops whose reason starts with '"
                        + POLICY_REASON_PREFIX + "'")
                .tags("verdict", verdict, "direction", direction).register(registry);
    }

    /** Reads the counters. */
    synchronized void refresh() {
        try {
            Map<Key, DatapathStats.Counter> read = new HashMap<>();
            for (DatapathStats.Counter c : stats.counters()) {
                read.merge(new Key(c.reason(), c.direction()), c, (a, b) -> new DatapathStats.Counter(a.reason(),
                        a.drop(), a.direction(), a.packets() + b.packets(), a.bytes() + b.bytes()));
            }
            counters = read;
        } catch (RuntimeException e) {
            // The last values stay: a scrape still answers (JVM meters, agent timers).
            LOG.warn("metrics: reading the datapath's counters failed: {}", e.getMessage());
        }
    }
}
