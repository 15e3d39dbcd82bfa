package io.vesicle.tests.support;

import io.vesicle.agent.datapath.Datapath;
import io.vesicle.loader.BpfMap;
import io.vesicle.loader.BpfObject;
import io.vesicle.loader.ObjectSpec;
import io.vesicle.loader.Program;
import io.vesicle.maps.DatapathMaps;
import io.vesicle.maps.Direction;
import io.vesicle.maps.Reason;
import java.net.Inet4Address;

/**
 * The datapath object loaded through the loader with the node settings a test chooses and
 * private (unpinned) maps, for BPF_PROG_TEST_RUN of any of its programs. The agent's Datapath
 * sets only what a single node needs; this sets the multi-node constants directly.
 */
public final class DatapathObject implements AutoCloseable {
    public static final int TC_ACT_OK = 0;
    public static final int TC_ACT_SHOT = 2;
    public static final int TC_ACT_REDIRECT = 7;
    /** Flows of local pods the stack handled (bpf/lib/stack_flows.h); only the datapath uses it. */
    public static final String STACK_FLOWS = "vsl_stack_flows";

    /** CFG_ROUTING_MODE values (bpf/lib/config.h). */
    public enum RoutingMode {
        NONE, OVERLAY, NATIVE
    }

    /**
     * @param encapIfindex CFG_ENCAP_IFINDEX, 0 for unset
     * @param nodeIP       CFG_NODE_IP4, {@code null} for unset
     */
    public record Settings(RoutingMode mode, int encapIfindex, Inet4Address nodeIP) {
        public static Settings of(RoutingMode mode) {
            return new Settings(mode, 0, null);
        }
    }

    private final BpfObject object;
    private final DatapathMaps maps;

    private DatapathObject(BpfObject object) {
        this.object = object;
        this.maps = DatapathMaps.of(object);
    }

    public static DatapathObject load(Settings settings) {
        try (ObjectSpec spec = ObjectSpec.fromResource(Datapath.OBJECT_RESOURCE)) {
            spec.setConstant("CFG_ROUTING_MODE", settings.mode().ordinal());
            spec.setConstant("CFG_ENCAP_IFINDEX", settings.encapIfindex());
            if (settings.nodeIP() != null) {
                spec.setConstant("CFG_NODE_IP4", settings.nodeIP().getAddress());
            }
            return new DatapathObject(spec.load());
        }
    }

    public Program program(String name) {
        return object.program(name);
    }

    public DatapathMaps maps() {
        return maps;
    }

    /** The raw map of stack flows: 16-byte keys (struct stack_flow_key), 1-byte values. */
    public BpfMap stackFlows() {
        return object.map(STACK_FLOWS);
    }

    /** Packets counted under reason in direction. */
    public long packets(Reason reason, Direction direction) {
        return maps.metrics().get(reason, direction).packets();
    }

    @Override
    public void close() {
        object.close();
    }
}
