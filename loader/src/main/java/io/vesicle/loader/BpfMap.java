package io.vesicle.loader;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A loaded map, owning its descriptor. Keys and values travel in direct ByteBuffers, read and
 * written from index 0 whatever their position: a key buffer's capacity is exactly
 * {@link #keySize()}, a value buffer holds at least {@link #lookupValueSize()} bytes (per-CPU maps
 * take one 8-byte aligned value per possible CPU). Element operations allocate nothing and build
 * no exception unless they fail; {@link #find} and {@link #remove} report an absent key as
 * {@code false}.
 *
 * <p>Operations may run concurrently from several threads (the kernel serializes them), but
 * must not race {@link #close()}.
 */
public final class BpfMap implements AutoCloseable {
    /** Update flags: create or replace; create only; replace only. */
    public static final long ANY = 0;
    public static final long NOEXIST = 1;
    public static final long EXIST = 2;
    /** Update flag: take the value's bpf_spin_lock (maps whose value has one). */
    public static final long F_LOCK = 4;

    static {
        NativeLibrary.ensureAvailability();
    }

    private static final int ENOSPC = 28;
    private static final int TYPE_PERCPU_HASH = 5;
    private static final int TYPE_PERCPU_ARRAY = 6;
    private static final int TYPE_LRU_PERCPU_HASH = 10;
    private static final int TYPE_PERCPU_CGROUP_STORAGE = 21;
    /** Attributes filled by info0, in this order. */
    private static final int INFO_TYPE = 0;
    private static final int INFO_ID = 1;
    private static final int INFO_KEY_SIZE = 2;
    private static final int INFO_VALUE_SIZE = 3;
    private static final int INFO_MAX_ENTRIES = 4;
    private static final int INFO_FLAGS = 5;
    private static final int INFO_LEN = 6;

    private final String name;
    private final int id;
    private final int type;
    private final int keySize;
    private final int valueSize;
    private final int maxEntries;
    private final int flags;
    private final int lookupValueSize;
    private final OwnedFd fd;

    private BpfMap(OwnedFd fd, String name, int[] info) {
        this.fd = fd;
        this.name = name;
        this.type = info[INFO_TYPE];
        this.id = info[INFO_ID];
        this.keySize = info[INFO_KEY_SIZE];
        this.valueSize = info[INFO_VALUE_SIZE];
        this.maxEntries = info[INFO_MAX_ENTRIES];
        this.flags = info[INFO_FLAGS];
        this.lookupValueSize = isPerCpu(type) ? ((valueSize + 7) & ~7) * possibleCpus() : valueSize;
    }

    /** Takes ownership of fd, a map descriptor (closed if this fails). */
    static BpfMap adopt(int fd, String name) {
        int[] info = new int[INFO_LEN];
        return new BpfMap(BpfFd.adopt(fd, BpfFd.Kind.MAP, name, () -> info0(fd, info)), name, info);
    }

    /** Opens the map pinned at path; its name is the kernel's (at most 15 characters). */
    public static BpfMap openPinned(Path path) {
        return BpfFd.openPinned(path, BpfFd.Kind.MAP, BpfMap::adopt);
    }

    /**
     * The names of the key and value types in the BTF the map was created with, as
     * {@link ObjectSpec} compares them ("struct endpoint_key", "unsigned int"); both null for a
     * map created without BTF.
     */
    String[] btfTypeNames() {
        String[] names = new String[2];
        Errors.check(btfTypeNames0(fd(), names), "read the BTF of map " + name);
        return names;
    }

    /** The number of possible CPUs, which per-CPU maps hold a value for. */
    public static int possibleCpus() {
        return Cpus.POSSIBLE;
    }

    public String name() {
        return name;
    }

    public int fd() {
        return fd.get();
    }

    public int id() {
        return id;
    }

    /** {@code BPF_MAP_TYPE_*}. */
    public int type() {
        return type;
    }

    public int keySize() {
        return keySize;
    }

    public int valueSize() {
        return valueSize;
    }

    public int maxEntries() {
        return maxEntries;
    }

    /** {@code BPF_F_*} map flags. */
    public int flags() {
        return flags;
    }

    public boolean isPerCpu() {
        return isPerCpu(type);
    }

    /** Bytes a lookup writes: valueSize, or for per-CPU maps roundup(valueSize, 8) * possibleCpus(). */
    public int lookupValueSize() {
        return lookupValueSize;
    }

    /** Reads key's value into value; KeyNotFoundException when absent. */
    public void lookup(ByteBuffer key, ByteBuffer value) {
        if (!find(key, value)) {
            throw Errors.mapException(Errors.ENOENT, "lookup in map " + name);
        }
    }

    /** Reads key's value into value; false when absent. */
    public boolean find(ByteBuffer key, ByteBuffer value) {
        checkKey(key);
        checkValue(value);
        return present(lookup0(fd(), key, value), "lookup in");
    }

    /**
     * Writes key's value; flags are {@link #ANY}, {@link #NOEXIST} or {@link #EXIST} (possibly with
     * {@link #F_LOCK}). MapFullException when the map is full, KeyExistsException (NOEXIST) and
     * KeyNotFoundException (EXIST) for the key's presence.
     */
    public void update(ByteBuffer key, ByteBuffer value, long flags) {
        checkKey(key);
        checkValueIn(value);
        int ret = update0(fd(), key, value, flags);
        if (ret < 0) {
            throw Errors.mapException(-ret, "update in map " + name);
        }
    }

    /** {@link #update} with {@link #ANY}. */
    public void put(ByteBuffer key, ByteBuffer value) {
        update(key, value, ANY);
    }

    /** Deletes key; KeyNotFoundException when absent. */
    public void delete(ByteBuffer key) {
        if (!remove(key)) {
            throw Errors.mapException(Errors.ENOENT, "delete from map " + name);
        }
    }

    /** Deletes key; false when absent. */
    public boolean remove(ByteBuffer key) {
        checkKey(key);
        return present(delete0(fd(), key), "delete from");
    }

    /**
     * Writes the key after key (the first key for {@code null}, or for a key no longer present in a
     * hash map) into next; false past the last key.
     */
    public boolean nextKey(ByteBuffer key, ByteBuffer next) {
        if (key != null) {
            checkKey(key);
        }
        checkKey(next);
        checkWritable(next, "key");
        return present(nextKey0(fd(), key, next), "next key in");
    }

    /**
     * Writes count entries: keys packed keySize bytes each, values lookupValueSize bytes each. The
     * kernel takes only {@link #ANY} (or {@link #F_LOCK}) in a batch. On failure the exception
     * says how many entries were written before the kernel stopped.
     *
     * @return count
     */
    public int updateBatch(ByteBuffer keys, ByteBuffer values, int count, long flags) {
        if ((flags & ~F_LOCK) != 0) {
            throw new IllegalArgumentException("map " + name + ": batch updates take ANY or F_LOCK only, not " + flags);
        }
        checkBatch(keys, "keys", count, keySize, false);
        checkBatch(values, "values", count, lookupValueSize, false);
        if (count == 0) {
            return 0;
        }
        return batchResult(updateBatch0(fd(), keys, values, count, flags), "update", count);
    }

    /** Deletes count keys, packed keySize bytes each; KeyNotFoundException saying how many went before. */
    public int deleteBatch(ByteBuffer keys, int count) {
        checkBatch(keys, "keys", count, keySize, false);
        if (count == 0) {
            return 0;
        }
        return batchResult(deleteBatch0(fd(), keys, count), "delete", count);
    }

    /**
     * Deletes count keys like {@link #deleteBatch}, but goes on past absent ones (a kernel batch
     * stops at the first); returns how many were present.
     */
    public int removeBatch(ByteBuffer keys, int count) {
        checkBatch(keys, "keys", count, keySize, false);
        int removed = 0;
        int from = 0;
        while (from < count) {
            ByteBuffer rest = from == 0 ? keys : keys.slice(from * keySize, (count - from) * keySize);
            long ret = deleteBatch0(fd(), rest, count - from);
            if (ret >= 0) {
                return removed + (int) ret;
            }
            int errno = (int) (-ret & 0xffffffffL);
            int done = (int) (-ret >>> 32);
            if (errno != Errors.ENOENT) {
                batchResult(ret, "delete", count);
            }
            removed += done;
            from += done + 1; // the absent key the kernel stopped at
        }
        return removed;
    }

    /**
     * Reads up to max entries into keys and values (packed like {@link #updateBatch}), starting at
     * inToken ({@code null}: the map's start) and writing where to go on into outToken (tokens hold
     * {@link #batchTokenSize()} bytes; the same buffer may be both). Returns how many were read, 0
     * at the end. A hash map is read a bucket at a time: a bucket larger than max fails with ENOSPC.
     */
    public int lookupBatch(ByteBuffer inToken, ByteBuffer outToken, ByteBuffer keys, ByteBuffer values, int max) {
        int tokenSize = batchTokenSize();
        if (inToken != null) {
            checkBatch(inToken, "in token", 1, tokenSize, false);
        }
        checkBatch(outToken, "out token", 1, tokenSize, true);
        checkBatch(keys, "keys", max, keySize, true);
        checkBatch(values, "values", max, lookupValueSize, true);
        if (max == 0) {
            return 0;
        }
        long ret = lookupBatch0(fd(), inToken, outToken, keys, values, max);
        if (ret < 0) {
            long code = -ret;
            throw Errors.mapException((int) code, "batch lookup in map " + name
                    + ((int) code == ENOSPC ? " (a hash bucket holds more than " + max + " entries)" : ""));
        }
        return (int) ret;
    }

    /** Bytes of a {@link #lookupBatch} token: max(keySize, 8). */
    public int batchTokenSize() {
        return Math.max(keySize, 8);
    }

    /** Pins the map at path (on a bpffs). */
    public void pin(Path path) {
        BpfFd.pin(fd, path);
    }

    /** Closes the descriptor; idempotent. A pinned map stays pinned. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return "BpfMap[" + name + ", id " + id + ", type " + type + ", key " + keySize + ", value " + valueSize
                + ", max " + maxEntries + "]";
    }

    private void checkKey(ByteBuffer key) {
        if (!key.isDirect() || key.capacity() != keySize) {
            throw badBuffer(key, "key", keySize, true);
        }
    }

    private void checkValue(ByteBuffer value) {
        checkValueIn(value);
        checkWritable(value, "value");
    }

    private void checkValueIn(ByteBuffer value) {
        if (!value.isDirect() || value.capacity() < lookupValueSize) {
            throw badBuffer(value, "value", lookupValueSize, false);
        }
    }

    private void checkWritable(ByteBuffer buffer, String what) {
        if (buffer.isReadOnly()) {
            throw new IllegalArgumentException("map " + name + ": the " + what + " buffer is read-only");
        }
    }

    private void checkBatch(ByteBuffer buffer, String what, int count, int size, boolean written) {
        if (count < 0) {
            throw new IllegalArgumentException("map " + name + ": negative count " + count);
        }
        long needed = (long) count * size;
        if (!buffer.isDirect() || buffer.capacity() < needed) {
            throw new IllegalArgumentException("map " + name + ": " + what + " " + describe(buffer) + ", expected "
                    + (buffer.isDirect() ? "at least " + needed + " (" + count + " x " + size + ")" : "a direct buffer"));
        }
        if (written) {
            checkWritable(buffer, what);
        }
    }

    private IllegalArgumentException badBuffer(ByteBuffer buffer, String what, int size, boolean exact) {
        return new IllegalArgumentException("map " + name + ": " + what + " " + describe(buffer) + ", expected "
                + (buffer.isDirect() ? (exact ? "" : "at least ") + size : "a direct buffer"));
    }

    private static String describe(ByteBuffer buffer) {
        return buffer.isDirect() ? "is " + buffer.capacity() + " bytes" : "is a heap buffer";
    }

    /** False when the key is absent (ENOENT); other failures throw, operation ("lookup in") naming them. */
    private boolean present(int ret, String operation) {
        if (ret == -Errors.ENOENT) {
            return false;
        }
        if (ret < 0) {
            throw Errors.mapException(-ret, operation + " map " + name);
        }
        return true;
    }

    private int batchResult(long ret, String operation, int count) {
        if (ret < 0) {
            long code = -ret;
            int errno = (int) (code & 0xffffffffL);
            long done = code >>> 32;
            throw Errors.mapException(errno, "batch " + operation + " in map " + name + " (" + done + " of " + count
                    + " done)");
        }
        return (int) ret;
    }

    private static boolean isPerCpu(int type) {
        return type == TYPE_PERCPU_HASH || type == TYPE_PERCPU_ARRAY || type == TYPE_LRU_PERCPU_HASH
                || type == TYPE_PERCPU_CGROUP_STORAGE;
    }

    private static final class Cpus {
        static final int POSSIBLE = Errors.check(possibleCpus0(), "count the possible CPUs");
    }

    private static native int lookup0(int fd, ByteBuffer key, ByteBuffer value);

    private static native int update0(int fd, ByteBuffer key, ByteBuffer value, long flags);

    private static native int delete0(int fd, ByteBuffer key);

    private static native int nextKey0(int fd, ByteBuffer key, ByteBuffer next);

    private static native long updateBatch0(int fd, ByteBuffer keys, ByteBuffer values, int count, long flags);

    private static native long deleteBatch0(int fd, ByteBuffer keys, int count);

    private static native long lookupBatch0(int fd, ByteBuffer inToken, ByteBuffer outToken, ByteBuffer keys,
            ByteBuffer values, int max);

    private static native int info0(int fd, int[] info);

    private static native int possibleCpus0();

    private static native int btfTypeNames0(int fd, String[] names);
}
