package io.vesicle.bench;

import io.vesicle.loader.BpfMap;
import io.vesicle.loader.BpfObject;
import io.vesicle.loader.ObjectSpec;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.EndpointInfo;
import io.vesicle.maps.EndpointKey;
import io.vesicle.maps.MacAddress;
import io.vesicle.maps.TypedMap;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Updates of the endpoints map (HASH, 20-byte key, 32-byte value) from Java: one entry per call
 * through the typed view, and batches of {@link #BATCH}. bench/map-updates.sh runs the same loops
 * in C over libbpf (bench/c/map_update_bench.c) in the same run and prints the ratios.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class MapUpdateBenchmark {
    /** Distinct keys cycled through, as in the C loop. */
    static final int KEYS = 10_000;
    static final int BATCH = 1024;

    BpfObject object;
    TypedMap<EndpointKey, EndpointInfo> endpoints;
    EndpointKey[] keys;
    EndpointInfo value;
    Map<EndpointKey, EndpointInfo> batch;
    int next;

    @Setup(Level.Trial)
    public void load() throws Exception {
        try (ObjectSpec spec = ObjectSpec.fromResource("/META-INF/bpf/bpf_lxc.o")) {
            object = spec.load(); // no pin root: a private map
        }
        endpoints = DatapathMaps.of(object).endpoints();
        keys = new EndpointKey[KEYS];
        for (int i = 0; i < KEYS; i++) {
            keys[i] = new EndpointKey(address(i));
        }
        value = new EndpointInfo(address(1), 7, 1, 256, 0, MacAddress.parse("02:00:00:00:00:01"),
                MacAddress.parse("02:00:00:00:00:02"));
        batch = new LinkedHashMap<>();
        for (int i = 0; i < BATCH; i++) {
            batch.put(keys[i], value);
        }
    }

    static Inet4Address address(int i) throws Exception {
        return (Inet4Address) InetAddress.getByAddress(new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
    }

    @TearDown(Level.Trial)
    public void close() {
        object.close();
    }

    @Benchmark
    public void singleUpdate() {
        endpoints.update(keys[next], value, BpfMap.ANY);
        if (++next == KEYS) {
            next = 0;
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int batchUpdate() {
        return endpoints.putAll(batch);
    }
}
