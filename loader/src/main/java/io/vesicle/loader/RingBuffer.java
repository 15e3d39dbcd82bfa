package io.vesicle.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;

/**
 * The reading side of a {@code BPF_MAP_TYPE_RINGBUF} map, through libbpf's ring_buffer: a poll
 * sleeps in epoll on the map until the producer wakes it (or the timeout passes), then copies what
 * is there, up to one batch, and hands each record to a consumer. Producers that submit without a
 * wakeup ({@code BPF_RB_NO_WAKEUP}, to batch them) are read at the next poll's end. Records are consumed as they are
 * copied: a consumer that throws loses the rest of its batch, never blocks the producers.
 *
 * <p>One thread reads: a ring buffer has one consumer position. {@link #close()} must not race a
 * poll; readers poll with a short timeout and close from their own thread.
 */
public final class RingBuffer implements AutoCloseable {
    static {
        NativeLibrary.ensureAvailability();
    }

    /** {@code BPF_MAP_TYPE_RINGBUF}. */
    public static final int TYPE = 27;
    private static final int RECORD_HEADER = 8;
    private static final int MIN_BATCH_BYTES = 64 * 1024;

    /** Receives each record: its bytes in batch, native order, from offset for length bytes. */
    @FunctionalInterface
    public interface RecordConsumer {
        void accept(ByteBuffer batch, int offset, int length);
    }

    private final String name;
    private final int maxRecordBytes;
    private final ByteBuffer batch;
    private long handle;

    private RingBuffer(String name, long handle, int maxRecordBytes, int batchBytes) {
        this.name = name;
        this.handle = handle;
        this.maxRecordBytes = maxRecordBytes;
        this.batch = ByteBuffer.allocateDirect(batchBytes).order(ByteOrder.nativeOrder());
    }

    /**
     * Starts reading map, which must be a ring buffer. Records longer than maxRecordBytes are
     * skipped and counted ({@link #oversized()}); the map stays the caller's (its descriptor must
     * outlive this reader).
     */
    public static RingBuffer open(BpfMap map, int maxRecordBytes) {
        if (map.type() != TYPE) {
            throw new IllegalArgumentException("map " + map.name() + " is no ring buffer (type " + map.type() + ")");
        }
        if (maxRecordBytes <= 0 || maxRecordBytes > map.maxEntries()) {
            throw new IllegalArgumentException("maxRecordBytes " + maxRecordBytes + " must be between 1 and the size of "
                    + map.name() + " (" + map.maxEntries() + ")");
        }
        long handle = Errors.check(open0(map.fd(), maxRecordBytes), "read ring buffer " + map.name());
        int oneRecord = RECORD_HEADER + padded(maxRecordBytes);
        return new RingBuffer(map.name(), handle, maxRecordBytes, Math.max(MIN_BATCH_BYTES, 2 * oneRecord));
    }

    /**
     * Waits up to timeout for records and hands each to consumer (at most one batch: call again
     * for more). Returns the number handed over, 0 when the timeout passed with none.
     */
    public int poll(Duration timeout, RecordConsumer consumer) {
        long millis = timeout.toMillis();
        if (millis <= 0) {
            throw new IllegalArgumentException("poll timeout " + timeout + " must be at least 1 ms; drain() waits for none");
        }
        return read((int) Math.min(millis, Integer.MAX_VALUE), consumer);
    }

    /** Hands over the records already there (at most one batch), without waiting. */
    public int drain(RecordConsumer consumer) {
        return read(0, consumer);
    }

    private int read(int timeoutMillis, RecordConsumer consumer) {
        int used = Errors.check(poll0(handle(), batch, batch.capacity(), timeoutMillis), "poll ring buffer " + name);
        int records = 0;
        for (int offset = 0; offset < used; ) {
            int length = batch.getInt(offset);
            consumer.accept(batch, offset + RECORD_HEADER, length);
            records++;
            offset += RECORD_HEADER + padded(length);
        }
        return records;
    }

    /** Records skipped for being longer than the maximum given to {@link #open}. */
    public long oversized() {
        return oversized0(handle());
    }

    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    /** Unmaps the ring and frees the reader; idempotent. */
    @Override
    public void close() {
        if (handle != 0) {
            close0(handle);
            handle = 0;
        }
    }

    private long handle() {
        if (handle == 0) {
            throw new IllegalStateException("ring buffer reader of " + name + " is closed");
        }
        return handle;
    }

    private static int padded(int size) {
        return (size + 7) & ~7;
    }

    private static native long open0(int mapFd, int maxRecordBytes);

    private static native int poll0(long handle, ByteBuffer out, int capacity, int timeoutMillis);

    private static native long oversized0(long handle);

    private static native void close0(long handle);
}
