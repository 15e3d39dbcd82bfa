package io.vesicle.loader;

import static io.vesicle.loader.TestSupport.BPF_LXC;
import static io.vesicle.loader.TestSupport.deleteTree;
import static io.vesicle.loader.TestSupport.direct;
import static io.vesicle.loader.TestSupport.endpointInfo;
import static io.vesicle.loader.TestSupport.endpointKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BpfMapTest {
    private static final byte[] MAC = {2, 0, 0, 0, 0, 1};
    private static final byte[] NODE_MAC = {2, 0, 0, 0, 0, 2};

    private BpfObject object;
    private BpfMap endpoints;
    private BpfMap lxc;
    private BpfMap metrics;
    private Path pinDir;

    @BeforeEach
    void load() {
        try (ObjectSpec spec = ObjectSpec.fromResource(BPF_LXC)) {
            object = spec.load();
        }
        endpoints = object.map("vsl_endpoints");
        lxc = object.map("vsl_lxc");
        metrics = object.map("vsl_metrics");
    }

    @AfterEach
    void close() {
        object.close();
        deleteTree(pinDir);
    }

    @Test
    void putLookupFindDelete() {
        ByteBuffer key = endpointKey(new byte[] {10, 0, 0, 5});
        ByteBuffer value = endpointInfo(new byte[] {10, 0, 0, 5}, 42, 7, MAC, NODE_MAC);
        ByteBuffer read = direct(32);

        assertFalse(endpoints.find(key, read));
        endpoints.put(key, value);
        endpoints.lookup(key, read);
        assertEquals(value, read);
        assertTrue(endpoints.find(key, direct(32)));

        endpoints.delete(key);
        assertFalse(endpoints.find(key, read));
        assertThrows(KeyNotFoundException.class, () -> endpoints.lookup(key, read));
        KeyNotFoundException e = assertThrows(KeyNotFoundException.class, () -> endpoints.delete(key));
        assertTrue(e.getMessage().contains("vsl_endpoints"), e.getMessage());
        assertFalse(endpoints.remove(key));
        endpoints.put(key, value);
        assertTrue(endpoints.remove(key));
    }

    @Test
    void positionAndLimitAreIgnored() {
        ByteBuffer key = direct(4).putInt(0, 3);
        key.position(4);
        ByteBuffer value = endpointInfo(new byte[] {10, 0, 0, 3}, 3, 3, MAC, NODE_MAC);
        value.position(32);
        lxc.put(key, value);
        ByteBuffer read = direct(32);
        read.limit(0);
        lxc.lookup(key, read);
        assertEquals(value.clear(), read.clear());
    }

    @Test
    void updateFlagsNameTheKeysPresence() {
        ByteBuffer key = direct(4).putInt(0, 9);
        ByteBuffer value = direct(32);
        lxc.update(key, value, BpfMap.NOEXIST);
        KeyExistsException exists = assertThrows(KeyExistsException.class,
                () -> lxc.update(key, value, BpfMap.NOEXIST));
        assertEquals(Errors.EEXIST, exists.errno());
        lxc.update(key, value, BpfMap.EXIST);
        lxc.delete(key);
        assertThrows(KeyNotFoundException.class, () -> lxc.update(key, value, BpfMap.EXIST));
    }

    @Test
    void fullMapIsMapFull() {
        assertTrue(metrics.isPerCpu());
        assertEquals(16 * BpfMap.possibleCpus(), metrics.lookupValueSize());
        ByteBuffer key = direct(4);
        ByteBuffer value = direct(metrics.lookupValueSize());
        for (int i = 0; i < metrics.maxEntries(); i++) {
            metrics.put(key.putInt(0, i), value);
        }
        MapFullException e = assertThrows(MapFullException.class,
                () -> metrics.put(key.putInt(0, metrics.maxEntries()), value));
        assertTrue(e.getMessage().contains("vsl_metrics"), e.getMessage());
        // Replacing an existing entry still works.
        metrics.put(key.putInt(0, 0), value);
    }

    @Test
    void perCpuValuesHoldOneSlotPerCpu() {
        ByteBuffer key = direct(4).putInt(0, 1);
        ByteBuffer value = direct(metrics.lookupValueSize());
        for (int cpu = 0; cpu < BpfMap.possibleCpus(); cpu++) {
            value.putLong(cpu * 16, cpu + 1);
            value.putLong(cpu * 16 + 8, 100L * (cpu + 1));
        }
        metrics.put(key, value);
        ByteBuffer read = direct(metrics.lookupValueSize());
        metrics.lookup(key, read);
        assertEquals(value, read);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> metrics.lookup(key, direct(16 * BpfMap.possibleCpus() - 1)));
        assertTrue(e.getMessage().contains("vsl_metrics"), e.getMessage());
    }

    @Test
    void wrongBuffersAreIllegalArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> endpoints.lookup(direct(4), direct(32)));
        assertEquals("map vsl_endpoints: key is 4 bytes, expected 20", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> endpoints.put(direct(20), direct(31)));
        assertEquals("map vsl_endpoints: value is 31 bytes, expected at least 32", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> endpoints.put(ByteBuffer.allocate(20), direct(32)));
        assertTrue(e.getMessage().contains("direct"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> endpoints.lookup(direct(20), direct(32).asReadOnlyBuffer()));
        assertTrue(e.getMessage().contains("read-only"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> endpoints.nextKey(null, direct(4)));
    }

    @Test
    void nextKeyWalksEveryKey() {
        Set<Integer> written = Set.of(11, 22, 33);
        for (int ifindex : written) {
            lxc.put(direct(4).putInt(0, ifindex), direct(32));
        }
        Set<Integer> seen = new HashSet<>();
        ByteBuffer key = null;
        ByteBuffer next = direct(4);
        while (lxc.nextKey(key, next)) {
            seen.add(next.getInt(0));
            key = key == null ? direct(4) : key;
            key.put(0, next, 0, 4);
        }
        assertEquals(written, seen);
        assertFalse(endpoints.nextKey(null, direct(20)));
    }

    @Test
    void batchUpdateLookupDelete() {
        int count = 300;
        ByteBuffer keys = direct(count * 4);
        ByteBuffer values = direct(count * 32);
        for (int i = 0; i < count; i++) {
            keys.putInt(i * 4, 1000 + i);
            values.putInt(i * 32 + 4, 1000 + i);
            values.putInt(i * 32 + 8, i);
        }
        assertEquals(count, lxc.updateBatch(keys, values, count, BpfMap.ANY));
        assertEquals(0, lxc.updateBatch(keys, values, 0, BpfMap.ANY));

        // Read it all back, 64 at a time.
        Map<Integer, Integer> read = new HashMap<>();
        int max = 64;
        ByteBuffer in = direct(lxc.batchTokenSize());
        ByteBuffer out = direct(lxc.batchTokenSize());
        ByteBuffer readKeys = direct(max * 4);
        ByteBuffer readValues = direct(max * 32);
        boolean first = true;
        int batches = 0;
        for (int n; (n = lxc.lookupBatch(first ? null : in, out, readKeys, readValues, max)) > 0; batches++) {
            for (int i = 0; i < n; i++) {
                int key = readKeys.getInt(i * 4);
                assertEquals(key, readValues.getInt(i * 32 + 4));
                read.put(key, readValues.getInt(i * 32 + 8));
            }
            in.put(0, out, 0, lxc.batchTokenSize());
            first = false;
            assertTrue(batches < count, "lookupBatch does not end");
        }
        assertEquals(count, read.size());
        for (int i = 0; i < count; i++) {
            assertEquals(i, read.get(1000 + i));
        }
        // Past the end: nothing more, no error.
        assertEquals(0, lxc.lookupBatch(in, out, readKeys, readValues, max));

        assertEquals(count, lxc.deleteBatch(keys, count));
        assertFalse(lxc.nextKey(null, direct(4)));
        assertEquals(0, lxc.lookupBatch(null, out, readKeys, readValues, max));
    }

    @Test
    void batchFailuresSayHowManyWereDone() {
        ByteBuffer keys = direct(3 * 4);
        keys.putInt(0, 1).putInt(4, 2).putInt(8, 3);
        ByteBuffer values = direct(3 * 32);
        lxc.updateBatch(keys, values, 2, BpfMap.ANY);
        KeyNotFoundException e = assertThrows(KeyNotFoundException.class, () -> lxc.deleteBatch(keys, 3));
        assertTrue(e.getMessage().contains("vsl_lxc") && e.getMessage().contains("2 of 3 done"), e.getMessage());

        assertThrows(IllegalArgumentException.class, () -> lxc.updateBatch(keys, values, 3, BpfMap.NOEXIST));
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> lxc.updateBatch(keys, values, 4, BpfMap.ANY));
        assertTrue(small.getMessage().contains("vsl_lxc"), small.getMessage());
    }

    @Test
    void pinsAndOpensPinned() {
        pinDir = TestSupport.pinDir();
        pinDir.toFile().mkdir();
        Path path = pinDir.resolve("lxc");
        lxc.pin(path);
        lxc.put(direct(4).putInt(0, 5), direct(32).putInt(0, 55));
        try (BpfMap pinned = BpfMap.openPinned(path)) {
            assertEquals(lxc.id(), pinned.id());
            assertEquals("vsl_lxc", pinned.name());
            assertEquals(65536, pinned.maxEntries());
            ByteBuffer value = direct(32);
            pinned.lookup(direct(4).putInt(0, 5), value);
            assertEquals(55, value.getInt(0));
        }
        NativeException e = assertThrows(NativeException.class, () -> lxc.pin(path));
        assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
        // A pinned program is no map.
        Path program = pinDir.resolve("prog");
        object.program("from_container").pin(program);
        e = assertThrows(NativeException.class, () -> BpfMap.openPinned(program));
        assertTrue(e.getMessage().contains(program.toString()), e.getMessage());
        try (Program pinned = Program.openPinned(program)) {
            assertEquals(object.program("from_container").id(), pinned.id());
            assertEquals("from_container", pinned.name());
        }
        assertThrows(NativeException.class, () -> Program.openPinned(path));
    }

    @Test
    void closedMapRefusesWork() {
        lxc.close();
        lxc.close();
        assertThrows(IllegalStateException.class, () -> lxc.put(direct(4), direct(32)));
        assertThrows(IllegalStateException.class, lxc::fd);
    }
}
