package io.vesicle.agent.datapath;

import io.vesicle.loader.BpfMap;
import io.vesicle.loader.RingBuffer;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EventType;
import io.vesicle.maps.EventsConfig;
import io.vesicle.maps.IpcacheEntry;
import io.vesicle.maps.IpcacheKey;
import io.vesicle.maps.MetricsKey;
import io.vesicle.maps.MetricsMap;
import io.vesicle.maps.MetricsValue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The datapath's maps as operators inspect them (the CLI's {@code map}, {@code metrics} and
 * {@code ipcache} commands): read from the loaded object's own descriptors, decoded with the
 * codecs the datapath is written with.
 */
public final class DatapathInspector {
    private final Datapath datapath;

    public DatapathInspector(Datapath datapath) {
        this.datapath = datapath;
    }

    /** A map as the kernel describes it; entries -1 for a ring buffer (it holds records, not entries). */
    public record MapRow(String name, String type, int id, int keySize, int valueSize, int maxEntries, long entries,
                         Path pin) {
    }

    public record CounterRow(String reason, String direction, boolean drop, long packets, long bytes) {
    }

    /** tunnelEndpoint null: not behind a node. */
    public record IpcacheRow(String prefix, int identity, String tunnelEndpoint, List<String> flags) {
    }

    /** The datapath's own maps (vsl_*), by name. */
    public List<MapRow> maps() {
        List<MapRow> rows = new ArrayList<>();
        for (BpfMap m : datapath.object().maps()) {
            if (!m.name().startsWith("vsl_")) {
                continue; // libbpf's internal .rodata
            }
            rows.add(new MapRow(m.name(), typeName(m.type()), m.id(), m.keySize(), m.valueSize(), m.maxEntries(),
                    countEntries(m), datapath.pinRoot() == null ? null : datapath.pinRoot().resolve(m.name())));
        }
        rows.sort(Comparator.comparing(MapRow::name));
        return rows;
    }

    /**
     * The entries of the map named name, decoded: each a {key, value} of JSON-able members.
     *
     * @throws NoSuchElementException  naming the maps there are, when there is no such map
     * @throws IllegalArgumentException for the ring buffer (read it with the monitor instead)
     */
    public List<Map<String, Object>> dump(String name) {
        DatapathMaps maps = datapath.maps();
        List<Map<String, Object>> rows = new ArrayList<>();
        switch (name) {
            case DatapathMaps.ENDPOINTS:
                maps.endpoints().entries().forEach((k, v) -> rows.add(entry(k.address().getHostAddress(), endpoint(v))));
                break;
            case DatapathMaps.ENDPOINTS_BY_IFINDEX:
                maps.endpointsByIfindex().entries().forEach((k, v) -> rows.add(entry(k.value(), endpoint(v))));
                break;
            case DatapathMaps.METRICS:
                for (CounterRow c : counters()) {
                    Map<String, Object> key = new LinkedHashMap<>();
                    key.put("reason", c.reason());
                    key.put("direction", c.direction());
                    Map<String, Object> value = new LinkedHashMap<>();
                    value.put("packets", c.packets());
                    value.put("bytes", c.bytes());
                    rows.add(entry(key, value));
                }
                break;
            case DatapathMaps.IPCACHE:
                for (IpcacheRow r : ipcache()) {
                    Map<String, Object> value = new LinkedHashMap<>();
                    value.put("identity", r.identity());
                    value.put("tunnelEndpoint", r.tunnelEndpoint());
                    value.put("flags", r.flags());
                    rows.add(entry(r.prefix(), value));
                }
                break;
            case DatapathMaps.EVENTS_CONFIG:
                EventsConfig c = maps.events().config();
                Map<String, Object> config = new LinkedHashMap<>();
                config.put("drops", c.drops());
                config.put("traces", c.traces());
                config.put("policyVerdicts", c.policyVerdicts());
                config.put("traceSample", c.traceSample());
                rows.add(entry(0, config));
                break;
            case DatapathMaps.EVENTS_LOST:
                maps.events().lost().forEach((type, count) -> rows.add(entry(type.label(), count)));
                break;
            case DatapathMaps.EVENTS:
                throw new IllegalArgumentException(name + " is a ring buffer: its records are events, shown by "
                        + "'vesicle monitor'");
            default:
                throw new NoSuchElementException("no datapath map " + name + " (there are: "
                        + String.join(", ", maps().stream().map(MapRow::name).toList()) + ")");
        }
        return rows;
    }

    /** The counters by reason and direction, summed over CPUs; reasons in code order. */
    public List<CounterRow> counters() {
        return counters(datapath.maps().metrics());
    }

    static List<CounterRow> counters(MetricsMap metrics) {
        List<CounterRow> rows = new ArrayList<>();
        Map<MetricsKey, MetricsValue> totals = metrics.totals();
        totals.entrySet().stream()
                .sorted(Comparator.<Map.Entry<MetricsKey, MetricsValue>>comparingInt(e -> e.getKey().reason().code())
                        .thenComparing(e -> e.getKey().direction()))
                .forEach(e -> rows.add(new CounterRow(e.getKey().reason().label(),
                        e.getKey().direction().name().toLowerCase(Locale.ROOT), e.getKey().reason().isDrop(),
                        e.getValue().packets(), e.getValue().bytes())));
        return rows;
    }

    /** The ipcache's entries, by prefix. */
    public List<IpcacheRow> ipcache() {
        List<IpcacheRow> rows = new ArrayList<>();
        for (Map.Entry<IpcacheKey, IpcacheEntry> e : datapath.maps().ipcache().entries().entrySet()) {
            IpcacheEntry v = e.getValue();
            List<String> flags = (v.flags() & IpcacheEntry.F_POD_CIDR) != 0 ? List.of("pod-cidr") : List.of();
            rows.add(new IpcacheRow(e.getKey().toString(), v.identity(), v.node().map(a -> a.getHostAddress())
                    .orElse(null), flags));
        }
        rows.sort(Comparator.comparing(IpcacheRow::prefix));
        return rows;
    }

    /** Lost events by type label, as the datapath counted them. */
    public Map<String, Long> lostEvents() {
        Map<String, Long> lost = new LinkedHashMap<>();
        for (Map.Entry<EventType, Long> e : datapath.maps().events().lost().entrySet()) {
            lost.put(e.getKey().label(), e.getValue());
        }
        return lost;
    }

    private static Map<String, Object> entry(Object key, Object value) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("key", key);
        e.put("value", value);
        return e;
    }

    private static Map<String, Object> endpoint(EndpointInfo i) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("address", i.address().getHostAddress());
        v.put("ifindex", i.ifindex());
        v.put("endpointId", i.endpointId());
        v.put("identity", i.identity());
        v.put("flags", i.flags());
        v.put("mac", i.mac().toString());
        v.put("nodeMac", i.nodeMac().toString());
        return v;
    }

    /** Keys walked with BPF_MAP_GET_NEXT_KEY: an array has all its entries, a ring buffer none. */
    private static long countEntries(BpfMap map) {
        if (map.type() == RingBuffer.TYPE) {
            return -1;
        }
        ByteBuffer current = ByteBuffer.allocateDirect(map.keySize()).order(ByteOrder.nativeOrder());
        ByteBuffer next = ByteBuffer.allocateDirect(map.keySize()).order(ByteOrder.nativeOrder());
        long n = 0;
        boolean first = true;
        while (map.nextKey(first ? null : current, next)) {
            n++;
            ByteBuffer swap = current;
            current = next;
            next = swap;
            first = false;
        }
        return n;
    }

    /** bpftool's names of BPF_MAP_TYPE_*. */
    static String typeName(int type) {
        return switch (type) {
            case 1 -> "hash";
            case 2 -> "array";
            case 5 -> "percpu_hash";
            case 6 -> "percpu_array";
            case 9 -> "lru_hash";
            case 11 -> "lpm_trie";
            case 27 -> "ringbuf";
            default -> "type " + type;
        };
    }
}
