package io.vesicle.maps;

import io.vesicle.loader.BpfMap;
import java.util.Map;

/** The datapath's counters, summed over CPUs. */
public final class MetricsMap implements AutoCloseable {
    private final PerCpuMap<MetricsKey, MetricsValue> map;

    public MetricsMap(BpfMap map) {
        this.map = new PerCpuMap<>(map, MetricsKey.CODEC, MetricsValue.CODEC);
    }

    /** Every counter kept so far. */
    public Map<MetricsKey, MetricsValue> totals() {
        return map.totals(MetricsValue::plus);
    }

    /** One counter; zero when the datapath never counted it. */
    public MetricsValue get(Reason reason, Direction direction) {
        return map.get(new MetricsKey(reason, direction))
                .map(perCpu -> perCpu.stream().reduce(MetricsValue.ZERO, MetricsValue::plus))
                .orElse(MetricsValue.ZERO);
    }

    @Override
    public void close() {
        map.close();
    }
}
