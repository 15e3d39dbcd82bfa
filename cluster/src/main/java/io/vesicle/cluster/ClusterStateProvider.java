package io.vesicle.cluster;

import java.util.Map;

/**
 * A kind of cluster state source, found with {@link java.util.ServiceLoader} so that the agent
 * core names none of them: a module ships one in
 * {@code META-INF/services/io.vesicle.cluster.ClusterStateProvider}.
 */
public interface ClusterStateProvider {
    /** The agent config's {@code clusterState} value that selects this source, e.g. "etcd". */
    String kind();

    /**
     * The source for settings (the agent config's keys for this source, e.g. "etcdEndpoints",
     * by their YAML names; values as written). Connects nothing yet.
     *
     * @throws IllegalArgumentException naming the key of a bad or missing setting
     */
    ClusterState create(Map<String, String> settings);
}
