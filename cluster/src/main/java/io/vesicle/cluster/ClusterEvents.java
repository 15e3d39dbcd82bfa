package io.vesicle.cluster;

/** Receives a {@link ClusterState}'s events; see there for the guarantees. */
@FunctionalInterface
public interface ClusterEvents {
    void on(ClusterEvent event);
}
