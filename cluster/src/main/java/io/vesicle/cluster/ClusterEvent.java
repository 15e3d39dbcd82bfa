package io.vesicle.cluster;

import java.util.Objects;

/**
 * A change in the cluster. Every event names its {@code origin}: where it came from in the store
 * (an etcd key, a Kubernetes object reference), for the log lines that refuse it.
 */
public sealed interface ClusterEvent {
    String origin();

    /** A node joined or changed. */
    record NodeUpserted(NodeInfo node, String origin) implements ClusterEvent {
        public NodeUpserted {
            Objects.requireNonNull(node, "node");
        }
    }

    /** A node left (deleted, or its lease expired). */
    record NodeDeleted(String name, String origin) implements ClusterEvent {
    }

    /** A pod with an address appeared or changed. */
    record PodUpserted(PodInfo pod, String origin) implements ClusterEvent {
        public PodUpserted {
            Objects.requireNonNull(pod, "pod");
        }
    }

    /** A pod went away (or lost its address). */
    record PodDeleted(String namespace, String name, String origin) implements ClusterEvent {
    }

    /** A namespace appeared or its labels changed (for policy). */
    record NamespaceUpserted(NamespaceInfo namespace, String origin) implements ClusterEvent {
    }

    record NamespaceDeleted(String name, String origin) implements ClusterEvent {
    }

    /** Everything that existed at a (re)listing has been delivered. */
    record Synced(String origin) implements ClusterEvent {
    }
}
