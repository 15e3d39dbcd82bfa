package io.vesicle.agent.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vesicle.agent.datapath.DatapathStats;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The datapath's meters: its per-CPU counters (summed) split into forwarded and dropped by the
 * reason's range, the policy verdicts they imply, and the fill of each map. {@link #refresh()}
 * reads the counters once per scrape, so the meters of one scrape agree with each other; map
 * fill is counted by iteration and kept for {@link #FILL_MAX_AGE}.
 */
final class DatapathMeters {
    private static final Logger LOG = LoggerFactory.getLogger(DatapathMeters.class);
    /** How long a map's entry count is reused: counting walks the map, one syscall per entry. */
    static final Duration FILL_MAX_AGE = Duration.ofSeconds(10);
    /** Drop reasons named so are policy denials (e.g. {@code policy_denied}). */
    static final String POLICY_REASON_PREFIX = "policy";

    private static final DatapathStats.MapFill NO_FILL = new DatapathStats.MapFill("", 0, 0);

    private record Key(String reason, String direction) {
    }

    private final DatapathStats stats;
    private volatile Map<Key, DatapathStats.Counter> counters = Map.of();
    private volatile Map<String, DatapathStats.MapFill> fill = Map.of();
    private boolean fillRead;
    private long fillReadAt;

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
        for (String map : fill.keySet()) {
            Gauge.builder("vesicle.bpf.map.entries", this, m -> m.fill.getOrDefault(map, NO_FILL).entries())
                    .description("Entries in a datapath map, counted by iteration (at most every "
                            + FILL_MAX_AGE.toSeconds() + " s)")
                    .tag("map", map).strongReference(true).register(registry);
            Gauge.builder("vesicle.bpf.map.capacity", this, m -> m.fill.getOrDefault(map, NO_FILL).capacity())
                    .description("Entries a datapath map can hold (max_entries)")
                    .tag("map", map).strongReference(true).register(registry);
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

    /** Reads the counters, and the map fill when it is older than {@link #FILL_MAX_AGE}. */
    synchronized void refresh() {
        try {
            Map<Key, DatapathStats.Counter> read = new HashMap<>();
            for (DatapathStats.Counter c : stats.counters()) {
                read.merge(new Key(c.reason(), c.direction()), c, (a, b) -> new DatapathStats.Counter(a.reason(),
                        a.drop(), a.direction(), a.packets() + b.packets(), a.bytes() + b.bytes()));
            }
            counters = read;
            long now = System.nanoTime();
            if (!fillRead || now - fillReadAt > FILL_MAX_AGE.toNanos()) {
                Map<String, DatapathStats.MapFill> byName = new HashMap<>();
                List<DatapathStats.MapFill> maps = stats.mapFill();
                maps.forEach(f -> byName.put(f.map(), f));
                fill = byName;
                fillRead = true;
                fillReadAt = now;
            }
        } catch (RuntimeException e) {
            // The last values stay: a scrape still answers (JVM meters, agent timers).
            LOG.warn("metrics: reading the datapath's counters failed: {}", e.getMessage());
        }
    }
}
