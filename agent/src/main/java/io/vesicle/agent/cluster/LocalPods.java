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
    /** Until the node has joined, the store takes no pods: {@link #joined} publishes them all then. */
    private volatile boolean joined;

    public LocalPods(ClusterState cluster, String nodeName, boolean joined) {
        this.cluster = cluster;
        this.nodeName = nodeName;
        this.joined = joined;
    }

    /** The node joined late (the store was away at start): publishes the pods built meanwhile. */
    public void joined(java.util.List<EndpointView> ready) {
        joined = true;
        ready.forEach(this::ready);
    }

    @Override
    public void ready(EndpointView endpoint) {
        if (joined && endpoint.address() != null) {
            cluster.publishPod(new PodInfo(namespace(endpoint), name(endpoint), endpoint.address().address(), nodeName,
                    Map.of()));
        }
    }

    @Override
    public void removed(EndpointView endpoint) {
        if (!joined) {
            return; // the lease it was published under is gone, or it was never published
        }
        cluster.withdrawPod(namespace(endpoint), name(endpoint));
    }

    /** Namespace of containers whose runtime gave no Kubernetes pod name (podman, say). */
    static final String UNNAMED = "cni";

    /** Pods the runtime named (CNI_ARGS K8S_POD_NAMESPACE) by their namespace; others under {@link #UNNAMED}. */
    private static String namespace(EndpointView e) {
        return e.podNamespace() == null || e.podNamespace().isEmpty() ? UNNAMED : e.podNamespace();
    }

    private static String name(EndpointView e) {
        return e.podName() == null || e.podName().isEmpty()
                ? e.key().containerID() + "." + e.key().ifname() : e.podName();
    }
}
