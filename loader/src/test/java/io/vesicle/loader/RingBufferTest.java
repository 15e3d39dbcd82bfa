package io.vesicle.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class RingBufferTest {
    static final String RINGBUF_WRITER = "/bpf/ringbuf_writer.o";
    private static final int RING_BYTES = 16 * 1024;

    private BpfObject object;
    private Program writer;
    private BpfMap records;

    @BeforeEach
    void load() {
        try (ObjectSpec spec = ObjectSpec.fromResource(RINGBUF_WRITER)) {
            object = spec.load();
        }
        writer = object.program("write_record");
        records = object.map("records");
    }

    @AfterEach
    void close() {
        object.close();
    }

    /** A packet of length bytes whose bytes count up from first. */
    private static byte[] packet(int length, int first) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (first + i);
        }
        return bytes;
    }

    private void write(byte[] packet) {
        assertEquals(0, writer.testRun(packet, 0, 1).retval(), "the ring took the record");
    }

    private static List<byte[]> collect(List<byte[]> into, ByteBuffer batch, int offset, int length) {
        byte[] record = new byte[length];
        batch.get(offset, record);
        into.add(record);
        return into;
    }

    @Test
    void recordsArriveWholeAndInOrderWhateverTheirLength() {
        List<byte[]> written = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            byte[] p = packet(14 + i, i); // 14..53 bytes: every padding
            written.add(p);
            write(p);
        }
        List<byte[]> read = new ArrayList<>();
        try (RingBuffer ring = RingBuffer.open(records, 64)) {
            assertEquals(40, ring.drain((b, o, l) -> collect(read, b, o, l)));
            assertEquals(0, ring.drain((b, o, l) -> collect(read, b, o, l)), "consumed: nothing twice");
        }
        assertEquals(written.size(), read.size());
        for (int i = 0; i < written.size(); i++) {
            assertArrayEquals(written.get(i), read.get(i), "record " + i);
        }
    }

    @Test
    void aFullRingRefusesTheProducerUntilReadAndTheReaderTakesBatchesUntilEmpty() {
        int written = 0;
        while (writer.testRun(packet(64, written), 0, 1).retval() == 0) {
            written++;
        }
        // 64 bytes + the kernel's 8-byte header each: the ring's size bounds what it holds.
        assertEquals(RING_BYTES / 72, written);
        List<byte[]> read = new ArrayList<>();
        try (RingBuffer ring = RingBuffer.open(records, 64)) {
            int batches = 0;
            while (ring.drain((b, o, l) -> collect(read, b, o, l)) > 0) {
                batches++;
            }
            assertEquals(written, read.size());
            assertTrue(batches >= 1, "batches: " + batches);
            write(packet(20, 7)); // room again
            assertEquals(1, ring.drain((b, o, l) -> collect(read, b, o, l)));
        }
    }

    @Test
    void pollSleepsUntilARecordArrives() throws Exception {
        try (RingBuffer ring = RingBuffer.open(records, 64)) {
            assertEquals(0, ring.poll(Duration.ofMillis(50), (b, o, l) -> { }), "empty: the timeout passes");
            CountDownLatch polling = new CountDownLatch(1);
            CompletableFuture<Integer> reader = CompletableFuture.supplyAsync(() -> {
                polling.countDown();
                int n = 0;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (n == 0 && System.nanoTime() < deadline) {
                    n = ring.poll(Duration.ofSeconds(5), (b, o, l) -> { });
                }
                return n;
            });
            polling.await();
            write(packet(30, 1));
            assertEquals(1, reader.get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void recordsLongerThanTheMaximumAreSkippedAndCounted() {
        write(packet(60, 0));
        write(packet(20, 0));
        List<byte[]> read = new ArrayList<>();
        try (RingBuffer ring = RingBuffer.open(records, 32)) {
            assertEquals(1, ring.drain((b, o, l) -> collect(read, b, o, l)));
            assertEquals(1, ring.oversized());
        }
        assertEquals(20, read.get(0).length);
    }

    @Test
    void onlyRingBuffersAreRead() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RingBuffer.open(object.map("not_a_ring"), 64));
        assertTrue(e.getMessage().contains("not_a_ring"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RingBuffer.open(records, RING_BYTES + 1));
    }

    @Test
    void aClosedReaderRefusesToPoll() {
        RingBuffer ring = RingBuffer.open(records, 64);
        ring.close();
        ring.close();
        assertThrows(IllegalStateException.class, () -> ring.drain((b, o, l) -> { }));
    }
}
