package io.vesicle.maps;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vesicle.loader.BtfStruct;
import io.vesicle.loader.MapSpec;
import io.vesicle.loader.ObjectSpec;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The C headers are the one source of truth: every codec's size and field offsets must match the
 * struct as the compiled object's BTF describes it, and the maps must hold records of that size.
 */
class CodecLayoutTest {
    static final String OBJECT = "/META-INF/bpf/bpf_lxc.o";

    record Case(Codec<?> codec, String map, boolean isKey) {
        @Override
        public String toString() {
            return codec.layout().name();
        }
    }

    static Stream<Case> codecs() {
        return Stream.of(
                new Case(EndpointKey.CODEC, DatapathMaps.ENDPOINTS, true),
                new Case(EndpointInfo.CODEC, DatapathMaps.ENDPOINTS, false),
                new Case(EndpointInfo.CODEC, DatapathMaps.ENDPOINTS_BY_IFINDEX, false),
                new Case(MetricsKey.CODEC, DatapathMaps.METRICS, true),
                new Case(MetricsValue.CODEC, DatapathMaps.METRICS, false),
                new Case(IpcacheKey.CODEC, DatapathMaps.IPCACHE, true),
                new Case(IpcacheEntry.CODEC, DatapathMaps.IPCACHE, false),
                new Case(EventsConfig.CODEC, DatapathMaps.EVENTS_CONFIG, false),
                // A ring buffer's records have no map-declared size: the struct alone is checked.
                new Case(DatapathEvent.CODEC, null, false));
    }

    @ParameterizedTest(name = "{0} in {1}")
    @MethodSource("codecs")
    void codecMatchesBtf(Case c) {
        StructLayout expected = c.codec().layout();
        try (ObjectSpec spec = ObjectSpec.fromResource(OBJECT)) {
            BtfStruct actual = spec.btfStruct(expected.name());
            assertEquals(actual.size(), expected.size(), "size of struct " + expected.name());
            List<StructLayout.Field> fromBtf = actual.members().stream()
                    .map(m -> new StructLayout.Field(m.name(), m.offset(), m.size())).toList();
            assertEquals(fromBtf, expected.fields(), "fields of struct " + expected.name() + " (name, offset, size)");

            if (c.map() == null) {
                return;
            }
            MapSpec map = spec.map(c.map());
            assertEquals(c.isKey() ? map.keySize() : map.valueSize(), c.codec().size(),
                    (c.isKey() ? "key" : "value") + " size of map " + c.map());
        }
    }
}
