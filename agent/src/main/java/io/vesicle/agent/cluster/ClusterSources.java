package io.vesicle.agent.cluster;

import io.vesicle.cluster.ClusterState;
import io.vesicle.cluster.ClusterStateProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * Finds the cluster state source the config names among the providers on the class path: the
 * agent core links none of them (fabric8 and jetcd stay in their modules, put on the class path
 * by bin/vesicle).
 */
public final class ClusterSources {
    private ClusterSources() {
    }

    /**
     * @throws IllegalArgumentException naming the kind and the ones available, or the source's
     *                                  own complaint about a setting
     */
    public static ClusterState create(String kind, Map<String, String> settings) {
        List<String> known = new ArrayList<>();
        for (ClusterStateProvider provider : ServiceLoader.load(ClusterStateProvider.class)) {
            if (provider.kind().equals(kind)) {
                return provider.create(settings);
            }
            known.add(provider.kind());
        }
        throw new IllegalArgumentException("no cluster state source '" + kind + "' on the class path (available: "
                + String.join(", ", known) + ")");
    }
}
