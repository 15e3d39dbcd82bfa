package io.vesicle.maps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vesicle.loader.BpfMap;
import io.vesicle.loader.BpfObject;
import io.vesicle.loader.KeyExistsException;
import io.vesicle.loader.KeyNotFoundException;
import io.vesicle.loader.ObjectSpec;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Typed views over the real maps of bpf_lxc.o, loaded without pinning. */
class TypedMapTest {
    BpfObject object;
    DatapathMaps maps;

    @BeforeEach
    void load() {
        try (ObjectSpec spec = ObjectSpec.fromResource(CodecLayoutTest.OBJECT)) {
            object = spec.load();
        }
        maps = DatapathMaps.of(object);
    }

    @AfterEach
    void close() {
        object.close();
    }

    static Inet4Address ip(int i) {
        try {
            return (Inet4Address) InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static EndpointInfo info(int i) {
        return new EndpointInfo(ip(i), 100 + i, i, 256 + i, 0, MacAddress.parse("02:00:00:00:00:01"),
                MacAddress.parse("02:00:00:00:00:02"));
    }

    @Test
    void singleOperationsRoundTrip() {
        TypedMap<EndpointKey, EndpointInfo> endpoints = maps.endpoints();
        EndpointKey key = new EndpointKey(ip(5));

        assertEquals(Optional.empty(), endpoints.get(key));
        assertThrows(KeyNotFoundException.class, () -> endpoints.lookup(key));
        endpoints.put(key, info(5));
        assertEquals(info(5), endpoints.lookup(key));
        assertThrows(KeyExistsException.class, () -> endpoints.update(key, info(6), BpfMap.NOEXIST));
        endpoints.update(key, info(6), BpfMap.EXIST);
        assertEquals(info(6), endpoints.lookup(key));
        assertTrue(endpoints.remove(key));
        assertEquals(false, endpoints.remove(key));
    }

    @Test
    void batchesWriteIterateAndRemoveAcrossChunks() {
        Map<EndpointKey, EndpointInfo> many = new HashMap<>();
        int count = TypedMap.BATCH * 2 + 17; // more than one batch, and a partial one
        for (int i = 0; i < count; i++) {
            many.put(new EndpointKey(ip(i)), info(i));
        }

        assertEquals(count, maps.endpoints().putAll(many));
        assertEquals(many, maps.endpoints().entries());

        List<EndpointKey> some = List.of(new EndpointKey(ip(1)), new EndpointKey(ip(99_999)), new EndpointKey(ip(2)));
        assertEquals(2, maps.endpoints().removeAll(some), "absent keys do not stop a batch delete");
        assertEquals(count - 2, maps.endpoints().keys().size());
        assertEquals(count - 2, maps.endpoints().clear());
        assertTrue(maps.endpoints().keys().isEmpty());
    }

    @Test
    void codecOfTheWrongSizeIsRefusedNamingTheMap() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TypedMap<>(object.map(DatapathMaps.ENDPOINTS), IfIndex.CODEC, EndpointInfo.CODEC));
        assertTrue(e.getMessage().contains(DatapathMaps.ENDPOINTS), e.getMessage());
    }

    @Test
    void metricsAreEmptyBeforeTraffic() {
        assertTrue(maps.metrics().totals().isEmpty());
        assertEquals(MetricsValue.ZERO, maps.metrics().get(Reason.FORWARDED, Direction.EGRESS));
    }
}
