package io.vesicle.agent.cluster;

import io.vesicle.cluster.Cidr;
import io.vesicle.cluster.ClusterEvent;
import io.vesicle.cluster.ClusterEvents;
import io.vesicle.cluster.NodeInfo;
import io.vesicle.cluster.PodInfo;
import java.net.Inet4Address;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Judges the cluster's events and hands what it accepts to the datapath. This node's own entries
 * come from its own state, never from the store: an entry claiming this node's name, address or
 * pod CIDR is refused (one log line naming where it came from), and nothing changes because of it;
 * so is a node whose pod CIDR overlaps another accepted node's, or lies outside the cluster CIDR.
 * A refused entry that replaces an accepted one removes the accepted one: the store no longer
 * holds anything valid under that name.
 *
 * <p>Events arrive on the source's one thread; reads from other threads go through the
 * synchronized accessors.
 */
public final class ClusterSync implements ClusterEvents {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterSync.class);
    /** Until identities come with policy, remote pods carry the same reserved identity as local ones. */
    static final int POD_IDENTITY = io.vesicle.agent.endpoint.EndpointManager.POD_IDENTITY;

    private final String selfName;
    private final Inet4Address selfIP;
    private final Cidr selfPodCIDR;
    private final Cidr clusterCIDR;
    private final RemoteTarget target;
    private final Map<String, RemoteTarget.RemoteNode> nodes = new LinkedHashMap<>();
    /** Accepted pods by namespace/name, and which of them owns each address. */
    private final Map<String, PodInfo> pods = new LinkedHashMap<>();
    private final Map<Inet4Address, String> addressOwner = new HashMap<>();
    private final AtomicLong refused = new AtomicLong();
    private volatile boolean synced;

    /**
     * @param clusterCIDR where every node's pod CIDR must lie; null: anywhere
     */
    public ClusterSync(String selfName, Inet4Address selfIP, Cidr selfPodCIDR, Cidr clusterCIDR, RemoteTarget target) {
        this.selfName = Objects.requireNonNull(selfName, "selfName");
        this.selfIP = Objects.requireNonNull(selfIP, "selfIP");
        this.selfPodCIDR = Objects.requireNonNull(selfPodCIDR, "selfPodCIDR");
        this.clusterCIDR = clusterCIDR;
        this.target = Objects.requireNonNull(target, "target");
    }

    @Override
    public synchronized void on(ClusterEvent event) {
        try {
            if (event instanceof ClusterEvent.NodeUpserted e) {
                node(e.node(), e.origin());
            } else if (event instanceof ClusterEvent.NodeDeleted e) {
                removeNode(e.name());
            } else if (event instanceof ClusterEvent.PodUpserted e) {
                pod(e.pod(), e.origin());
            } else if (event instanceof ClusterEvent.PodDeleted e) {
                removePod(key(e.namespace(), e.name()));
            } else if (event instanceof ClusterEvent.Synced) {
                reconcile();
            } // namespaces: for policy
        } catch (RuntimeException e) {
            // The datapath refused (a full map): the next listing reconciles again.
            LOG.error("applying {} from {} failed: {}", event.getClass().getSimpleName(), event.origin(), e.toString());
        }
    }

    private void node(NodeInfo node, String origin) {
        if (node.name().equals(selfName) && node.underlayIP().equals(selfIP) && selfPodCIDR.equals(node.podCIDR())) {
            return; // our own registration, as we made it: nothing to forward to
        }
        String why = refusal(node);
        if (why != null) {
            refuse(origin, why);
            if (!node.name().equals(selfName) && nodes.containsKey(node.name())) {
                removeNode(node.name());
            }
            return;
        }
        RemoteTarget.RemoteNode accepted = new RemoteTarget.RemoteNode(node.name(), node.underlayIP(), node.podCIDR());
        RemoteTarget.RemoteNode before = nodes.put(node.name(), accepted);
        if (accepted.equals(before)) {
            return;
        }
        target.upsertNode(node.name(), node.underlayIP(), node.podCIDR());
        // Pods waiting for their node, or moving with a changed underlay address; those outside
        // the node's (new) pod CIDR are refused as on arrival.
        for (PodInfo pod : List.copyOf(pods.values())) {
            if (!pod.nodeName().equals(node.name())) {
                continue;
            }
            if (node.podCIDR().contains(pod.ip())) {
                target.upsertPod(pod.ip(), node.underlayIP(), POD_IDENTITY);
            } else {
                refuse(origin + " (pod " + key(pod) + ")", "the pod's address " + pod.ip().getHostAddress()
                        + " is outside the node's pod CIDR " + node.podCIDR());
                // In the datapath only if it fitted the node's former pod CIDR.
                forgetPod(key(pod), before != null && before.podCIDR().contains(pod.ip()));
            }
        }
    }

    private String refusal(NodeInfo node) {
        if (node.name().equals(selfName)) {
            return "it claims this node's name " + selfName + " with " + node.underlayIP().getHostAddress() + " and "
                    + node.podCIDR() + ", but this node is " + selfIP.getHostAddress() + " with " + selfPodCIDR;
        }
        if (node.podCIDR() == null) {
            return "it has no pod CIDR yet";
        }
        if (node.underlayIP().equals(selfIP)) {
            return "its address " + selfIP.getHostAddress() + " is this node's";
        }
        if (node.podCIDR().overlaps(selfPodCIDR)) {
            return "its pod CIDR " + node.podCIDR() + " overlaps this node's " + selfPodCIDR;
        }
        if (clusterCIDR != null && (node.podCIDR().prefixLength() < clusterCIDR.prefixLength()
                || !clusterCIDR.contains(node.podCIDR().network()))) {
            return "its pod CIDR " + node.podCIDR() + " is outside the cluster CIDR " + clusterCIDR;
        }
        for (RemoteTarget.RemoteNode other : nodes.values()) {
            if (!other.name().equals(node.name())) {
                if (other.podCIDR().overlaps(node.podCIDR())) {
                    return "its pod CIDR " + node.podCIDR() + " overlaps node " + other.name() + "'s " + other.podCIDR();
                }
                if (other.underlayIP().equals(node.underlayIP())) {
                    return "its address " + node.underlayIP().getHostAddress() + " is node " + other.name() + "'s";
                }
            }
        }
        return null;
    }

    private void removeNode(String name) {
        RemoteTarget.RemoteNode node = nodes.remove(name);
        if (node == null) {
            return;
        }
        for (PodInfo pod : pods.values()) {
            if (pod.nodeName().equals(name) && key(pod).equals(addressOwner.get(pod.ip()))) {
                target.removePod(pod.ip());
            }
        }
        target.removeNode(name);
    }

    private void pod(PodInfo pod, String origin) {
        String key = key(pod);
        if (pod.nodeName().equals(selfName)) {
            return; // ours: known from our own endpoints
        }
        if (selfPodCIDR.contains(pod.ip())) {
            refuse(origin, "its address " + pod.ip().getHostAddress() + " lies in this node's pod CIDR " + selfPodCIDR);
            removePod(key);
            return;
        }
        if (pod.ip().equals(selfIP)) {
            refuse(origin, "its address " + pod.ip().getHostAddress() + " is this node's");
            removePod(key);
            return;
        }
        if (clusterCIDR != null && !clusterCIDR.contains(pod.ip())) {
            refuse(origin, "its address " + pod.ip().getHostAddress() + " is outside the cluster CIDR " + clusterCIDR);
            removePod(key);
            return;
        }
        RemoteTarget.RemoteNode node = nodes.get(pod.nodeName());
        if (node != null && !node.podCIDR().contains(pod.ip())) {
            // Else a node could draw another node's traffic (or a node address) into its tunnel.
            refuse(origin, "its address " + pod.ip().getHostAddress() + " is outside its node " + node.name()
                    + "'s pod CIDR " + node.podCIDR());
            removePod(key);
            return;
        }
        PodInfo before = pods.get(key);
        if (before != null && !before.ip().equals(pod.ip())) {
            removePod(key);
        }
        pods.put(key, pod);
        addressOwner.put(pod.ip(), key);
        if (node != null) {
            target.upsertPod(pod.ip(), node.underlayIP(), POD_IDENTITY);
        }
    }

    private void removePod(String key) {
        PodInfo pod = pods.get(key);
        forgetPod(key, pod != null && nodes.containsKey(pod.nodeName()));
    }

    /** @param applied whether the datapath holds it (its node was known when it came) */
    private void forgetPod(String key, boolean applied) {
        PodInfo pod = pods.remove(key);
        if (pod == null || !key.equals(addressOwner.get(pod.ip()))) {
            return; // its address was taken over by another pod since
        }
        addressOwner.remove(pod.ip());
        if (applied) {
            target.removePod(pod.ip());
        }
    }

    private void reconcile() {
        Map<Inet4Address, Inet4Address> placed = new HashMap<>();
        for (Map.Entry<Inet4Address, String> owner : addressOwner.entrySet()) {
            RemoteTarget.RemoteNode node = nodes.get(pods.get(owner.getValue()).nodeName());
            if (node != null) {
                placed.put(owner.getKey(), node.underlayIP());
            }
        }
        target.reconcile(Map.copyOf(nodes), placed, POD_IDENTITY);
        synced = true;
    }

    private void refuse(String origin, String why) {
        refused.incrementAndGet();
        LOG.warn("refused {}: {}", origin, why);
    }

    private static String key(PodInfo pod) {
        return key(pod.namespace(), pod.name());
    }

    private static String key(String namespace, String name) {
        return namespace + "/" + name;
    }

    /** Whether a full listing has been applied. */
    public boolean synced() {
        return synced;
    }

    /** How many entries were refused since the start. */
    public long refused() {
        return refused.get();
    }

    public synchronized Map<String, RemoteTarget.RemoteNode> nodes() {
        return Map.copyOf(nodes);
    }

    public synchronized int pods() {
        return pods.size();
    }
}
