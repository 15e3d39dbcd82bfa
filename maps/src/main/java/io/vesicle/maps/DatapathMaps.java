package io.vesicle.maps;

import io.vesicle.loader.BpfMap;
import io.vesicle.loader.BpfObject;
import java.nio.file.Path;

/** The datapath's maps, by the names the BPF objects give them, each behind its codecs. */
public final class DatapathMaps implements AutoCloseable {
    public static final String ENDPOINTS = "vsl_endpoints";
    public static final String ENDPOINTS_BY_IFINDEX = "vsl_lxc";
    public static final String METRICS = "vsl_metrics";
    public static final String IPCACHE = "vsl_ipcache";
    public static final String EVENTS = "vsl_events";
    public static final String EVENTS_CONFIG = "vsl_events_config";
    public static final String EVENTS_LOST = "vsl_events_lost";

    private final TypedMap<EndpointKey, EndpointInfo> endpoints;
    private final TypedMap<IfIndex, EndpointInfo> endpointsByIfindex;
    private final MetricsMap metrics;
    private final TypedMap<IpcacheKey, IpcacheEntry> ipcache;
    private final EventsMaps events;

    private DatapathMaps(BpfMap endpoints, BpfMap byIfindex, BpfMap metrics, BpfMap ipcache, EventsMaps events) {
        this.endpoints = new TypedMap<>(endpoints, EndpointKey.CODEC, EndpointInfo.CODEC);
        this.endpointsByIfindex = new TypedMap<>(byIfindex, IfIndex.CODEC, EndpointInfo.CODEC);
        this.metrics = new MetricsMap(metrics);
        this.ipcache = new TypedMap<>(ipcache, IpcacheKey.CODEC, IpcacheEntry.CODEC);
        this.events = events;
    }

    /** Views of a loaded object's maps; the object keeps owning their descriptors. */
    public static DatapathMaps of(BpfObject object) {
        return new DatapathMaps(object.map(ENDPOINTS), object.map(ENDPOINTS_BY_IFINDEX), object.map(METRICS),
                object.map(IPCACHE), new EventsMaps(object.map(EVENTS), object.map(EVENTS_CONFIG),
                        object.map(EVENTS_LOST)));
    }

    /** Opens the maps pinned under pinRoot (e.g. by a running agent), for tools and tests. */
    public static DatapathMaps openPinned(Path pinRoot) {
        return new DatapathMaps(BpfMap.openPinned(pinRoot.resolve(ENDPOINTS)),
                BpfMap.openPinned(pinRoot.resolve(ENDPOINTS_BY_IFINDEX)),
                BpfMap.openPinned(pinRoot.resolve(METRICS)), BpfMap.openPinned(pinRoot.resolve(IPCACHE)),
                new EventsMaps(BpfMap.openPinned(pinRoot.resolve(EVENTS)),
                        BpfMap.openPinned(pinRoot.resolve(EVENTS_CONFIG)),
                        BpfMap.openPinned(pinRoot.resolve(EVENTS_LOST))));
    }

    /** Local endpoints by address: where the datapath delivers. */
    public TypedMap<EndpointKey, EndpointInfo> endpoints() {
        return endpoints;
    }

    /** Local endpoints by host-side ifindex: who is sending, for anti-spoofing. */
    public TypedMap<IfIndex, EndpointInfo> endpointsByIfindex() {
        return endpointsByIfindex;
    }

    public MetricsMap metrics() {
        return metrics;
    }

    /** Remote prefixes by longest match: identity and the node hosting them. */
    public TypedMap<IpcacheKey, IpcacheEntry> ipcache() {
        return ipcache;
    }

    /** Drop, trace and policy-verdict events: the ring, its switch, its losses. */
    public EventsMaps events() {
        return events;
    }

    @Override
    public void close() {
        events.close();
        endpoints.close();
        endpointsByIfindex.close();
        metrics.close();
        ipcache.close();
    }
}
