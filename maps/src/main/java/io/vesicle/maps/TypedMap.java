package io.vesicle.maps;

import io.vesicle.loader.BpfMap;
import io.vesicle.loader.KeyNotFoundException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A BPF map seen through a key and a value codec. Single operations reuse one pair of direct
 * buffers (hence the lock: the map handle may be shared between threads); batches encode into
 * buffers of {@link #BATCH} records.
 */
public class TypedMap<K, V> implements AutoCloseable {
    /** Records per batch syscall. */
    public static final int BATCH = 1024;

    protected final BpfMap map;
    protected final Codec<K> keys;
    protected final Codec<V> values;
    private final ByteBuffer key;
    private final ByteBuffer value;
    private ByteBuffer keyBatch;
    private ByteBuffer valueBatch;

    public TypedMap(BpfMap map, Codec<K> keys, Codec<V> values) {
        this.map = map;
        this.keys = keys;
        this.values = values;
        checkSize("key", keys, map.keySize());
        checkSize("value", values, map.valueSize());
        this.key = direct(map.keySize());
        this.value = direct(map.lookupValueSize());
    }

    private void checkSize(String what, Codec<?> codec, int mapSize) {
        if (codec.size() != mapSize) {
            throw new IllegalArgumentException("map " + map.name() + ": " + what + " is " + mapSize
                    + " bytes but " + codec.layout().name() + " is " + codec.size());
        }
    }

    static ByteBuffer direct(int size) {
        return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
    }

    public String name() {
        return map.name();
    }

    /** The raw handle, for pinning and for callers that bring their own buffers. */
    public BpfMap raw() {
        return map;
    }

    /** The value under k, or empty. */
    public synchronized Optional<V> get(K k) {
        keys.write(k, key, 0);
        return map.find(key, value) ? Optional.of(values.read(value, 0)) : Optional.empty();
    }

    /** The value under k; throws {@link KeyNotFoundException} when there is none. */
    public synchronized V lookup(K k) {
        keys.write(k, key, 0);
        map.lookup(key, value);
        return values.read(value, 0);
    }

    public synchronized void put(K k, V v) {
        update(k, v, BpfMap.ANY);
    }

    /** Update with BPF_ANY, BPF_NOEXIST or BPF_EXIST; map full is a {@code MapFullException}. */
    public synchronized void update(K k, V v, long flags) {
        keys.write(k, key, 0);
        values.write(v, value, 0);
        map.update(key, value, flags);
    }

    /** Removes k; false when it was absent. */
    public synchronized boolean remove(K k) {
        keys.write(k, key, 0);
        return map.remove(key);
    }

    /** Writes every entry with batched updates; returns the number written. */
    public synchronized int putAll(Map<? extends K, ? extends V> entries) {
        int keySize = keys.size();
        int valueSize = values.size();
        ByteBuffer keyBatch = keyBatch();
        ByteBuffer valueBatch = valueBatch();
        int written = 0;
        int pending = 0;
        for (Map.Entry<? extends K, ? extends V> e : entries.entrySet()) {
            keys.write(e.getKey(), keyBatch, pending * keySize);
            values.write(e.getValue(), valueBatch, pending * valueSize);
            if (++pending == BATCH) {
                written += map.updateBatch(keyBatch, valueBatch, pending, BpfMap.ANY);
                pending = 0;
            }
        }
        if (pending > 0) {
            written += map.updateBatch(keyBatch, valueBatch, pending, BpfMap.ANY);
        }
        return written;
    }

    /** Removes every key with batched deletes, absent keys included; returns how many were present. */
    public synchronized int removeAll(Collection<? extends K> toRemove) {
        int keySize = keys.size();
        ByteBuffer keyBatch = keyBatch();
        int removed = 0;
        int pending = 0;
        for (K k : toRemove) {
            keys.write(k, keyBatch, pending * keySize);
            if (++pending == BATCH) {
                removed += map.removeBatch(keyBatch, pending);
                pending = 0;
            }
        }
        if (pending > 0) {
            removed += map.removeBatch(keyBatch, pending);
        }
        return removed;
    }

    /** Batch buffers, made on first use and kept: allocating direct memory per call costs more than the call. */
    private ByteBuffer keyBatch() {
        if (keyBatch == null) {
            keyBatch = direct(keys.size() * BATCH);
        }
        return keyBatch;
    }

    private ByteBuffer valueBatch() {
        if (valueBatch == null) {
            valueBatch = direct(map.lookupValueSize() * BATCH);
        }
        return valueBatch;
    }

    /** A snapshot of the keys (iteration by BPF_MAP_GET_NEXT_KEY). */
    public List<K> keys() {
        return MapKeys.snapshot(map, keys);
    }

    /** A snapshot of the entries; keys deleted while iterating are skipped. */
    public Map<K, V> entries() {
        Map<K, V> result = new LinkedHashMap<>();
        for (K k : keys()) {
            get(k).ifPresent(v -> result.put(k, v));
        }
        return result;
    }

    /** Removes every entry. */
    public int clear() {
        return removeAll(keys());
    }

    @Override
    public void close() {
        map.close();
    }

    @Override
    public String toString() {
        return "TypedMap[" + map.name() + "]";
    }
}
