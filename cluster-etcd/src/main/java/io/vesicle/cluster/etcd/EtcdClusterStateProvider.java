package io.vesicle.cluster.etcd;

import io.vesicle.cluster.ClusterState;
import io.vesicle.cluster.ClusterStateProvider;

import java.util.Map;

/** clusterState: etcd. Settings: {@link EtcdSettings}. */
public final class EtcdClusterStateProvider implements ClusterStateProvider {
    @Override
    public String kind() {
        return "etcd";
    }

    @Override
    public ClusterState create(Map<String, String> settings) {
        return new EtcdClusterState(EtcdSettings.parse(settings));
    }
}
