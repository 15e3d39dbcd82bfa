package io.vesicle.agent.cluster;

import io.vesicle.agent.endpoint.EndpointManager;
import io.vesicle.agent.endpoint.EndpointView;
import io.vesicle.cluster.ClusterState;
import io.vesicle.cluster.PodInfo;
import java.util.Map;

/**
 * Publishes this node's pods to the cluster state as their endpoints are built and withdraws
 * them when they go (etcd keeps them under the node's lease; the other sources ignore it).
 */
public final class LocalPods implements EndpointManager.Listener {
    private final ClusterState cluster;
    private final String nodeName;

    public LocalPods(ClusterState cluster, String nodeName) {
        this.cluster = cluster;
        this.nodeName = nodeName;
    }

    @Override
    public void ready(EndpointView endpoint) {
        if (endpoint.address() != null) {
            cluster.publishPod(new PodInfo(namespace(endpoint), name(endpoint), endpoint.address().address(), nodeName,
                    Map.of()));
        }
    }

    @Override
    public void removed(EndpointView endpoint) {
        cluster.withdrawPod(namespace(endpoint), name(endpoint));
    }

    /** Pods the runtime named (CNI_ARGS K8S_POD_NAMESPACE) by their namespace; others under "-". */
    private static String namespace(EndpointView e) {
        return e.podNamespace() == null || e.podNamespace().isEmpty() ? "-" : e.podNamespace();
    }

    private static String name(EndpointView e) {
        return e.podName() == null || e.podName().isEmpty()
                ? e.key().containerID() + "." + e.key().ifname() : e.podName();
    }
}
