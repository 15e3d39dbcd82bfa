package io.vesicle.agent.datapath;

import io.vesicle.loader.BpfMap;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.Direction;
import io.vesicle.maps.MetricsKey;
import io.vesicle.maps.MetricsValue;
import io.vesicle.maps.Reason;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What metrics read of the kernel, in plain values so no other package needs the maps: the
 * datapath's counters summed over CPUs, and how full each map is.
 */
public final class DatapathStats {
    /** A counter of {@code vsl_metrics}: packets and bytes the datapath counted under a reason and direction. */
    public record Counter(String reason, boolean drop, String direction, long packets, long bytes) {
    }

    /** A reason the datapath counts under ({@code enum metric_reason}) and whether it is a drop. */
    public record CounterReason(String label, boolean drop) {
    }

    /** A map's entries (counted by iteration) and its capacity (max_entries). */
    public record MapFill(String map, long entries, long capacity) {
    }

    /** Map types whose fill varies (hash, per-CPU hash, LRU hash, LRU per-CPU hash, LPM trie), by BPF_MAP_TYPE_*. */
    private static final Set<Integer> KEYED_TYPES = Set.of(1, 5, 9, 10, 11);
    /** The datapath's own maps carry this prefix; the object's .rodata and the like do not. */
    private static final String MAP_PREFIX = "vsl_";
    private static final int LPM_TRIE = 11;
    /** Entries a batch lookup reads: larger than any hash bucket, small enough to keep its buffers small. */
    static final int BATCH = 1024;

    private final DatapathMaps maps;
    private final List<BpfMap> keyedMaps;

    DatapathStats(DatapathMaps maps, Collection<BpfMap> objectMaps) {
        this.maps = maps;
        this.keyedMaps = objectMaps.stream().filter(m -> m.name().startsWith(MAP_PREFIX)
                && KEYED_TYPES.contains(m.type())).sorted(Comparator.comparing(BpfMap::name)).toList();
    }

    /** Every reason of this build's datapath, in code order ({@code unknown}: a code it does not know). */
    public static List<CounterReason> reasons() {
        return Arrays.stream(Reason.values()).map(r -> new CounterReason(r.label(), r.isDrop())).toList();
    }

    /** Directions of counted packets from the endpoint's point of view: ingress, egress. */
    public static List<String> directions() {
        return Arrays.stream(Direction.values()).map(DatapathStats::label).toList();
    }

    private static String label(Direction direction) {
        return direction.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The counters the datapath has kept so far (a reason and direction it never counted is absent). */
    public List<Counter> counters() {
        List<Counter> counters = new ArrayList<>();
        for (Map.Entry<MetricsKey, MetricsValue> e : maps.metrics().totals().entrySet()) {
            Reason reason = e.getKey().reason();
            counters.add(new Counter(reason.label(), reason.isDrop(), label(e.getKey().direction()),
                    e.getValue().packets(), e.getValue().bytes()));
        }
        return counters;
    }

    /**
     * The datapath's keyed maps (vsl_endpoints, vsl_lxc, vsl_metrics, vsl_ipcache and any a later
     * datapath adds) with their capacity; entries not counted (-1).
     */
    public List<MapFill> keyedMaps() {
        return keyedMaps.stream().map(m -> new MapFill(m.name(), -1, m.maxEntries())).toList();
    }

    /**
     * The fill of every keyed map. The kernel keeps no count for hash and LPM maps: hash maps are
     * read with BPF_MAP_LOOKUP_BATCH ({@link #BATCH} entries a syscall), LPM tries (no batch
     * operations) walked with one BPF_MAP_GET_NEXT_KEY syscall per entry, so callers count rarely
     * and off any hot path. A walk stops at the capacity: a key deleted under it restarts a
     * hash map's walk from the start.
     */
    public List<MapFill> mapFill() {
        return keyedMaps.stream().map(m -> new MapFill(m.name(), m.type() == LPM_TRIE ? walk(m) : readInBatches(m),
                m.maxEntries())).toList();
    }

    private static long walk(BpfMap map) {
        ByteBuffer current = direct(map.keySize());
        ByteBuffer next = direct(map.keySize());
        long entries = 0;
        boolean first = true;
        while (entries < map.maxEntries() && map.nextKey(first ? null : current, next)) {
            entries++;
            ByteBuffer swap = current;
            current = next;
            next = swap;
            first = false;
        }
        return entries;
    }

    private static long readInBatches(BpfMap map) {
        ByteBuffer token = direct(map.batchTokenSize());
        ByteBuffer keys = direct(map.keySize() * BATCH);
        ByteBuffer values = direct(map.lookupValueSize() * BATCH);
        long entries = 0;
        boolean first = true;
        int read;
        while (entries < map.maxEntries() && (read = map.lookupBatch(first ? null : token, token, keys, values,
                BATCH)) > 0) {
            entries += read;
            first = false;
        }
        return Math.min(entries, map.maxEntries());
    }

    private static ByteBuffer direct(int size) {
        return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
    }
}
