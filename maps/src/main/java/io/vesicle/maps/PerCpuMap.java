package io.vesicle.maps;

import io.vesicle.loader.BpfMap;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BinaryOperator;

/**
 * A per-CPU BPF map: each key holds one value per possible CPU, each in an 8-byte aligned slot.
 * Read-only here: per-CPU values are written by the datapath.
 */
public final class PerCpuMap<K, V> implements AutoCloseable {
    private final BpfMap map;
    private final Codec<K> keys;
    private final Codec<V> values;
    private final int stride;
    private final int cpus;
    private final ByteBuffer key;
    private final ByteBuffer value;

    public PerCpuMap(BpfMap map, Codec<K> keys, Codec<V> values) {
        if (!map.isPerCpu()) {
            throw new IllegalArgumentException("map " + map.name() + " is not per-CPU");
        }
        if (keys.size() != map.keySize() || values.size() != map.valueSize()) {
            throw new IllegalArgumentException("map " + map.name() + ": key/value are " + map.keySize() + "/"
                    + map.valueSize() + " bytes but " + keys.layout().name() + "/" + values.layout().name()
                    + " are " + keys.size() + "/" + values.size());
        }
        this.map = map;
        this.keys = keys;
        this.values = values;
        this.stride = (map.valueSize() + 7) & ~7;
        this.cpus = map.lookupValueSize() / stride;
        this.key = TypedMap.direct(map.keySize());
        this.value = TypedMap.direct(map.lookupValueSize());
    }

    public String name() {
        return map.name();
    }

    /** Each CPU's value under k, or empty. */
    public synchronized Optional<List<V>> get(K k) {
        keys.write(k, key, 0);
        if (!map.find(key, value)) {
            return Optional.empty();
        }
        List<V> perCpu = new ArrayList<>(cpus);
        for (int cpu = 0; cpu < cpus; cpu++) {
            perCpu.add(values.read(value, cpu * stride));
        }
        return Optional.of(perCpu);
    }

    /** Every key's values folded across CPUs with sum. */
    public Map<K, V> totals(BinaryOperator<V> sum) {
        Map<K, V> result = new LinkedHashMap<>();
        for (K k : keys()) {
            get(k).ifPresent(perCpu -> result.put(k, perCpu.stream().reduce(sum).orElseThrow()));
        }
        return result;
    }

    public List<K> keys() {
        return MapKeys.snapshot(map, keys);
    }

    @Override
    public void close() {
        map.close();
    }
}
