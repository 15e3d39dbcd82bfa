package io.vesicle.agent.metrics;

import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Whether the agent is ready to serve its node, as the DaemonSet's readiness probe
 * ({@code /readyz}) asks: the datapath is loaded, the endpoints are restored, and the cluster
 * state has synced. Until a cluster-state source is given it counts as synced and healthy (a
 * single node has nothing to wait for).
 */
public final class Readiness {
    private volatile boolean datapathLoaded;
    private volatile boolean endpointsRestored;
    private volatile boolean stopping;
    private volatile BooleanSupplier clusterSynced = () -> true;
    private volatile Supplier<Optional<String>> clusterDegraded = Optional::empty;

    public void datapathLoaded() {
        datapathLoaded = true;
    }

    public void endpointsRestored() {
        endpointsRestored = true;
    }

    public void stopping() {
        stopping = true;
    }

    /**
     * The cluster state to wait for, e.g. {@code clusterState(state::hasSynced, state::degradedReason)}
     * with an {@code io.vesicle.cluster.ClusterState}.
     *
     * @param synced         whether the first full listing has been applied
     * @param degradedReason why the source is out of step with its store, or empty (health only:
     *                       a degraded source does not make the agent unready)
     */
    public void clusterState(BooleanSupplier synced, Supplier<Optional<String>> degradedReason) {
        this.clusterSynced = synced;
        this.clusterDegraded = degradedReason;
    }

    /** Why the agent is not ready, or empty when it is. */
    public Optional<String> notReadyReason() {
        if (stopping) {
            return Optional.of("the agent is stopping");
        }
        if (!datapathLoaded) {
            return Optional.of("the datapath is not loaded yet");
        }
        if (!endpointsRestored) {
            return Optional.of("the endpoints are not restored yet");
        }
        if (!clusterSynced.getAsBoolean()) {
            return Optional.of("the cluster state has not synced yet");
        }
        return Optional.empty();
    }

    public boolean clusterStateSynced() {
        return clusterSynced.getAsBoolean();
    }

    /** False while the cluster-state source is degraded. */
    public boolean clusterStateHealthy() {
        return clusterDegraded.get().isEmpty();
    }

    /** Why the cluster-state source is degraded, or empty. */
    public Optional<String> clusterStateDegradedReason() {
        return clusterDegraded.get();
    }
}
